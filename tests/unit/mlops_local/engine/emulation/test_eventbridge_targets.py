"""Rules with Lambda or state machine targets: moto cannot deliver to them; the emulation routes them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from mlops_local.engine.emulation import LocalServices
from mlops_local.engine.emulation.eventbridge_targets import EMULATION
from tests.unit.mlops_local.engine.conftest import client

ENTRY = {
    "Source": "aws.sagemaker",
    "DetailType": "SageMaker Processing Job State Change",
    "Detail": '{"a": 1}',
}


class RecordingTargets:
    def __init__(self) -> None:
        self.dispatched: list[dict[str, Any]] = []
        self.entries: list[dict[str, Any]] = []

    def dispatch(self, event: dict[str, Any], *, wait: bool = False) -> None:
        self.dispatched.append(event)

    def put_events_entries(self, entries: list[dict[str, Any]]) -> None:
        self.entries.extend(entries)


@pytest.fixture
def targets(services: LocalServices) -> RecordingTargets:
    services.event_targets = recording = RecordingTargets()
    return recording


def _bucket_with_eventbridge() -> None:
    client("s3").create_bucket(Bucket="data")
    client("s3").put_bucket_notification_configuration(
        Bucket="data", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )


def test_stock_moto_cannot_deliver_to_a_lambda_target(stock: None) -> None:
    events = client("events")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
    events.put_targets(
        Rule="r", Targets=[{"Id": "f", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:f"}]
    )
    with pytest.raises(NotImplementedError):
        events.put_events(Entries=[ENTRY])


def test_the_emulation_alone_routes_put_events(apply: Callable[..., None], targets: RecordingTargets) -> None:
    apply(EMULATION)
    client("events").put_events(Entries=[ENTRY])
    assert [(e["Source"], e["Detail"]) for e in targets.entries] == [("aws.sagemaker", '{"a": 1}')]


def test_the_emulation_alone_routes_s3_object_created_events(
    apply: Callable[..., None], targets: RecordingTargets
) -> None:
    apply(EMULATION)
    _bucket_with_eventbridge()
    client("s3").put_object(Bucket="data", Key="incoming/a b.jpg", Body=b"x")
    created = [e for e in targets.dispatched if e["detail-type"] == "Object Created"]
    assert [e["detail"]["object"]["key"] for e in created] == ["incoming/a+b.jpg"]


def test_nothing_is_routed_before_the_stack_has_rules(
    apply: Callable[..., None], services: LocalServices
) -> None:
    apply(EMULATION)
    assert services.event_targets is None
    _bucket_with_eventbridge()
    client("s3").put_object(Bucket="data", Key="k", Body=b"x")
    client("events").put_events(Entries=[ENTRY])
