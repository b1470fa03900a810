"""S3 -> EventBridge: moto's Object Created event differs from AWS's; the workaround sends AWS's."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mlops_local.engine.moto_compat.s3_eventbridge_event_shape import WORKAROUND
from tests.unit.mlops_local.engine.conftest import client


def _eventbridge_to_queue() -> list[dict[str, Any]]:
    s3, events, sqs = client("s3"), client("events"), client("sqs")
    s3.create_bucket(Bucket="data")
    s3.put_bucket_notification_configuration(
        Bucket="data", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    events.put_rule(
        Name="r", EventPattern=json.dumps({"source": ["aws.s3"], "detail-type": ["Object Created"]})
    )
    events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}])
    for key in ("incoming/a/ok/a b.jpg", "incoming/a/ok/c++.jpg"):
        s3.put_object(Bucket="data", Key=key, Body=b"x")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    return [json.loads(m["Body"]) for m in messages]


def test_stock_s3_event_differs_from_aws(stock: None) -> None:
    objects = [e["detail"]["object"] for e in _eventbridge_to_queue()]
    assert "eTag" in objects[0]
    assert objects[0]["key"] == "incoming/a/ok/a b.jpg"
    assert objects[0]["sequencer"] == objects[1]["sequencer"]


def test_the_workaround_alone_sends_the_aws_shape(apply: Callable[..., None]) -> None:
    apply(WORKAROUND)
    events = _eventbridge_to_queue()
    objects = [e["detail"]["object"] for e in events]
    assert [o["key"] for o in objects] == ["incoming/a/ok/a+b.jpg", "incoming/a/ok/c%2B%2B.jpg"]
    assert all("etag" in o and "version-id" not in o for o in objects)
    assert objects[0]["sequencer"] < objects[1]["sequencer"]
    assert events[0]["detail"]["reason"] == "PutObject"
    assert events[0]["time"].endswith("Z")
