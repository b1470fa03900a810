"""EventBridge rules with Lambda function or state machine targets.

moto delivers to SQS, SNS and log targets itself; provisioning gives it only those, and the
stack's ``EventTargets`` (``events.EventRouter``) delivers the others: events sent with
``PutEvents`` and S3's ``Object Created`` events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.events.models import EventsBackend
from moto.s3 import notifications as s3_notifications

from mlops_local.engine.emulation.registry import Emulation, LocalServices
from mlops_local.engine.eventbridge import object_created_event
from mlops_local.engine.patching import Patches, replace


def _put_events(services: LocalServices, original: Callable[..., Any]) -> Callable[..., Any]:
    def put_events(backend_self: EventsBackend, events: list[dict[str, Any]]) -> Any:
        result = original(backend_self, events)
        if services.event_targets is not None:
            services.event_targets.put_events_entries(events)
        return result

    return put_events


def _s3_sender(services: LocalServices, previous: Callable[..., None]) -> Callable[..., None]:
    def send(account_id: str, bucket: Any, event_name: Any, key: Any) -> None:
        previous(account_id, bucket, event_name, key)
        event_name = str(getattr(event_name, "value", event_name))  # moto passes an Enum
        targets = services.event_targets
        if targets is None or "ObjectCreated" not in event_name:
            return  # the pipeline reacts to creations only
        targets.dispatch(
            object_created_event(
                bucket=bucket.name,
                key=key.name,
                size=key.size,
                etag=key.etag,
                version_id=key.version_id if bucket.is_versioned else None,
                event_name=event_name,
                account=account_id,
                region=bucket.region_name,
            )
        )

    return send


def _patches(services: LocalServices) -> Patches:
    yield replace(EventsBackend, "put_events", _put_events(services, EventsBackend.put_events))
    yield replace(
        s3_notifications,
        "_send_event_bridge_message",
        _s3_sender(services, s3_notifications._send_event_bridge_message),
    )


EMULATION = Emulation(
    name="eventbridge_targets",
    moto_does="invokes Lambda targets only through Docker and starts no state machine for a rule",
    aws_does="runs each matching rule's Lambda and state machine targets asynchronously",
    patches=_patches,
)
