"""Execution Status Change events: moto sends none; the emulation sends them when an execution ends."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from mlops_local.engine.emulation import LocalServices
from mlops_local.engine.emulation.stepfunctions_status_events import EMULATION
from tests.unit.mlops_local.engine.conftest import ROLE, client, run_state_machine

SUCCEEDS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": 1}, "End": True}}}
FAILS = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Broken", "Cause": "on purpose"}}}


class RecordingTargets:
    def __init__(self) -> None:
        self.dispatched: list[dict[str, Any]] = []

    def dispatch(self, event: dict[str, Any], *, wait: bool = False) -> None:
        self.dispatched.append(event)

    def put_events_entries(self, entries: list[dict[str, Any]]) -> None:
        raise AssertionError("no PutEvents expected")


@pytest.fixture
def targets(services: LocalServices) -> RecordingTargets:
    services.event_targets = recording = RecordingTargets()
    return recording


def _status_changes(targets: RecordingTargets, count: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while len(targets.dispatched) < count:
        assert time.monotonic() < deadline, "no status change event"
        time.sleep(0.05)
    return targets.dispatched


def test_stock_moto_sends_no_event_when_an_execution_ends(stock: None) -> None:
    url = client("sqs").create_queue(QueueName="q")["QueueUrl"]
    client("events").put_rule(Name="r", EventPattern=json.dumps({"source": ["aws.states"]}))
    client("events").put_targets(
        Rule="r", Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}]
    )
    assert run_state_machine(SUCCEEDS)["status"] == "SUCCEEDED"
    assert client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []


def test_the_emulation_alone_sends_the_end_of_a_successful_execution(
    apply: Callable[..., None], targets: RecordingTargets
) -> None:
    apply(EMULATION)
    described = run_state_machine(SUCCEEDS, {"a": 1}, name="run-1")
    (event,) = _status_changes(targets)
    assert (event["source"], event["detail-type"]) == ("aws.states", "Step Functions Execution Status Change")
    assert event["resources"] == [described["executionArn"]]
    detail = event["detail"]
    assert (detail["status"], detail["name"]) == ("SUCCEEDED", "run-1")
    assert detail["stateMachineArn"] == described["stateMachineArn"]
    assert (json.loads(detail["input"]), json.loads(detail["output"])) == ({"a": 1}, {"ok": 1})
    assert isinstance(detail["startDate"], int)
    assert detail["stopDate"] >= detail["startDate"]


def test_the_emulation_alone_sends_the_error_of_a_failed_execution(
    apply: Callable[..., None], targets: RecordingTargets
) -> None:
    apply(EMULATION)
    assert run_state_machine(FAILS)["status"] == "FAILED"
    (event,) = _status_changes(targets)
    detail = event["detail"]
    assert (detail["status"], detail["error"], detail["cause"], detail["output"]) == (
        "FAILED",
        "Broken",
        "on purpose",
        None,
    )


def test_a_stopped_execution_is_aborted(apply: Callable[..., None], targets: RecordingTargets) -> None:
    apply(EMULATION)
    waits = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}}
    sfn = client("stepfunctions")
    arn = sfn.create_state_machine(name="w", definition=json.dumps(waits), roleArn=ROLE)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    deadline = time.monotonic() + 10
    while not sfn.get_execution_history(executionArn=execution)["events"][1:]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    sfn.stop_execution(executionArn=execution)
    (event,) = _status_changes(targets)
    assert event["detail"]["status"] == "ABORTED"
