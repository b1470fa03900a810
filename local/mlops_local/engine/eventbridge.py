"""EventBridge events as AWS services emit them, and what delivers them to the stack's targets.

The builders are here, away from ``events`` (which knows the provisioned rules), so that the
workarounds and emulations that emit events depend on the event shapes alone; the router that
delivers them is handed to them as an ``EventTargets``.
"""

from __future__ import annotations

import itertools
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote_plus

_sequencer = itertools.count(int(time.time() * 1000) << 16)
_S3_REASONS = {
    "Put": "PutObject",
    "Post": "PostObject",
    "Copy": "CopyObject",
    "CompleteMultipartUpload": "CompleteMultipartUpload",
}


class EventTargets(Protocol):
    """Delivers events to the rules whose targets moto does not run (Lambda, state machines)."""

    def dispatch(self, event: dict[str, Any], *, wait: bool = False) -> None: ...

    def put_events_entries(self, entries: list[dict[str, Any]]) -> None: ...


def encode_event_key(key: str) -> str:
    """An object key as S3 writes it into events: form-encoded, ``/`` kept (``a b.jpg`` -> ``a+b.jpg``)."""
    return quote_plus(key, safe="/")


def object_created_event(
    *,
    bucket: str,
    key: str,
    size: int,
    etag: str,
    version_id: str | None,
    event_name: str = "s3:ObjectCreated:Put",
    account: str = "123456789012",
    region: str = "us-east-1",
) -> dict[str, Any]:
    """S3's EventBridge ``Object Created`` event, field for field as AWS documents it.

    ``etag`` (not ``eTag``), the key form-encoded, ``version-id`` only for versioned buckets, a
    ``sequencer`` that grows with every event (a constant one would make every upload look like a
    duplicate), an ISO-8601 ``time``, a fresh ``id`` and ``reason`` naming the API call.
    """
    obj: dict[str, Any] = {"key": encode_event_key(key), "size": size, "etag": etag.strip('"')}
    if version_id and version_id != "null":
        obj["version-id"] = version_id
    obj["sequencer"] = f"{next(_sequencer):016X}"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": obj,
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": account,
            "source-ip-address": "127.0.0.1",
            "reason": _S3_REASONS.get(event_name.rsplit(":", 1)[-1], "PutObject"),
        },
    }


def eventbridge_event(
    source: str, detail_type: str, detail: dict[str, Any], resources: list[str]
) -> dict[str, Any]:
    """An EventBridge event envelope, as services emit them."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": resources,
        "detail": detail,
    }
