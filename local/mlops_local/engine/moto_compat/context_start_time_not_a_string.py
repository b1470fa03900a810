"""The context object's ``$$.Execution.StartTime`` is a Python datetime in moto's engine.

AWS gives it as an ISO 8601 string ("2019-03-26T20:14:13.192Z", Step Functions developer guide,
"Accessing execution data from the Context object":
https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html), so
intrinsic functions can read it: the batch machine takes its default date from it with
``States.StringSplit``, which fails in moto with a TypeError.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from mlops_local.engine.moto_compat.registry import Workaround
from mlops_local.engine.patching import Patches, replace


def iso_8601(moment: datetime) -> str:
    """Step Functions' form: UTC, milliseconds, ``Z``."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def start_time_as_text(original: Callable[..., Any]) -> Callable[..., Any]:
    def evaluation_environment(worker: ExecutionWorker) -> Any:
        environment = original(worker)
        execution = environment.states.context_object.context_object_data["Execution"]
        if isinstance(execution.get("StartTime"), datetime):
            execution["StartTime"] = iso_8601(execution["StartTime"])
        return environment

    return evaluation_environment


def _patches() -> Patches:
    yield replace(
        ExecutionWorker,
        "_get_evaluation_environment",
        start_time_as_text(ExecutionWorker._get_evaluation_environment),
    )


WORKAROUND = Workaround(
    name="context_start_time_not_a_string",
    moto_does="puts a datetime in $$.Execution.StartTime (intrinsic functions over it fail: TypeError)",
    aws_does='gives an ISO 8601 string, e.g. "2019-03-26T20:14:13.192Z"',
    applies_to="==5.2.5",
    patches=_patches,
)
