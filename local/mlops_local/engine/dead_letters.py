"""Which queues of a template are dead-letter queues: those another resource sends its failures to.

Derived from the template, never listed by hand, so that the template's tests and the local
runtime's ``status`` see every dead-letter queue a change adds. A queue is a dead-letter queue when
it is named in one of the settings that take one (``DEAD_LETTER_SETTINGS``), wherever in a
resource's properties the setting sits (a rule's targets, a schedule's target, a SAM function's
``EventInvokeConfig``). Works on the template as written (SAM) and on its translated form.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mlops_local.engine.intrinsics import referenced_resources

QUEUE_TYPE = "AWS::SQS::Queue"

# The properties whose value names where failures go, and who writes them:
# - RedrivePolicy: an SQS queue (deadLetterTargetArn) and an SNS subscription (deadLetterTargetArn);
# - DeadLetterConfig: an EventBridge rule target and a Scheduler target (Arn), a Lambda function
#   (TargetArn);
# - DeadLetterQueue: a SAM function (TargetArn);
# - OnFailure: a Lambda asynchronous invocation config's or event source mapping's
#   DestinationConfig (Destination), which may also be a topic, a function or a bus.
DEAD_LETTER_SETTINGS = frozenset({"RedrivePolicy", "DeadLetterConfig", "DeadLetterQueue", "OnFailure"})


def dead_letter_queues(resources: Mapping[str, Any]) -> set[str]:
    """Logical ids of the SQS queues in ``resources`` that some resource of it dead-letters to."""
    queues = {logical_id for logical_id, resource in resources.items() if resource.get("Type") == QUEUE_TYPE}
    found: set[str] = set()
    for resource in resources.values():
        for setting in _dead_letter_settings(resource.get("Properties", {})):
            found.update(referenced_resources(setting, queues))
    return found


def _dead_letter_settings(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in DEAD_LETTER_SETTINGS:
                yield item
            else:
                yield from _dead_letter_settings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _dead_letter_settings(item)
