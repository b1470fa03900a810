"""S3's EventBridge ``Object Created`` events in moto's own shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from moto.s3 import notifications as s3_notifications

from mlops_local.engine.eventbridge import object_created_event
from mlops_local.engine.moto_compat.registry import Workaround
from mlops_local.engine.patching import Patches, replace


def _patches() -> Patches:
    stock_sender = s3_notifications._send_event_bridge_message

    def send(account_id: str, bucket: Any, event_name: Any, key: Any) -> None:
        from moto.events.models import events_backends  # noqa: PLC0415 - as moto's own sender does

        event_name = str(getattr(event_name, "value", event_name))  # moto passes an Enum
        if "ObjectCreated" not in event_name:
            stock_sender(account_id, bucket, event_name, key)  # the pipeline reacts to creations only
            return
        event = object_created_event(
            bucket=bucket.name,
            key=key.name,
            size=key.size,
            etag=key.etag,
            version_id=key.version_id if bucket.is_versioned else None,
            event_name=event_name,
            account=account_id,
            region=bucket.region_name,
        )
        # moto's targets take the time as a number and write it out in ISO-8601 themselves.
        moto_event = {**event, "time": datetime.now(UTC).timestamp()}
        for event_bus in events_backends[account_id][bucket.region_name].event_buses.values():
            for rule in event_bus.rules.values():
                # moto matches a rule's pattern before it looks at the rule's targets, copying the
                # event through JSON for each: a rule with none here (the stack's Lambda and state
                # machine targets are the event router's) has nothing to send.
                if rule.targets:
                    rule.send_to_targets(moto_event, transform_input=False)  # type: ignore[arg-type]

    yield replace(s3_notifications, "_send_event_bridge_message", send)


WORKAROUND = Workaround(
    name="s3_eventbridge_event_shape",
    moto_does=(
        'says "eTag", carries the key raw, repeats one constant "sequencer" (every upload looks like a '
        'duplicate), sends "version-id": null for unversioned buckets and a number as "time"'
    ),
    aws_does=(
        '"etag", the key form-encoded as in every S3 event, a sequencer that grows per event, no '
        '"version-id" for unversioned buckets, an ISO-8601 "time", "reason": "PutObject"'
    ),
    applies_to="==5.2.5",
    patches=_patches,
)
