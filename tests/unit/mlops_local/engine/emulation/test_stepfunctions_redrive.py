"""RedriveExecution: moto has none; the emulation resumes a failed execution at its failed step."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mlops_local.engine.emulation.stepfunctions_redrive import EMULATION, unsuccessful_step
from tests.unit.mlops_local.engine.conftest import client, history, run_state_machine

# Reads an object the first attempt cannot find; the test uploads it, then redrives.
READS_AN_OBJECT = {
    "StartAt": "Before",
    "States": {
        "Before": {"Type": "Pass", "Result": {"key": "late.json"}, "ResultPath": "$.object", "Next": "Read"},
        "Read": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
            "Parameters": {"Bucket": "data", "Key.$": "$.object.key"},
            "ResultSelector": {"length.$": "$.ContentLength"},
            "ResultPath": "$.read",
            "Next": "After",
        },
        "After": {"Type": "Pass", "End": True},
    },
}


def _wait_until_ended(execution_arn: str) -> dict[str, Any]:
    sfn = client("stepfunctions")
    deadline = time.monotonic() + 30
    while (described := sfn.describe_execution(executionArn=execution_arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the redriven execution did not end"
        time.sleep(0.05)
    return dict(described)


def _entered(execution_arn: str) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in history(execution_arn)
        if "stateEnteredEventDetails" in event
    ]


@pytest.fixture
def failed_at_read() -> dict[str, Any]:
    client("s3").create_bucket(Bucket="data")
    return run_state_machine(READS_AN_OBJECT, {"run": 1})


def test_stock_moto_cannot_redrive(stock: None, failed_at_read: dict[str, Any]) -> None:
    assert failed_at_read["status"] == "FAILED"
    with pytest.raises(NotImplementedError, match="redrive_execution"):
        client("stepfunctions").redrive_execution(executionArn=failed_at_read["executionArn"])


def test_the_emulation_alone_reruns_only_the_failed_state_and_what_follows(
    apply: Callable[..., None], failed_at_read: dict[str, Any]
) -> None:
    apply(EMULATION)
    arn = failed_at_read["executionArn"]
    assert _entered(arn) == ["Before", "Read"]
    client("s3").put_object(Bucket="data", Key="late.json", Body=b"{}")

    client("stepfunctions").redrive_execution(executionArn=arn)
    described = _wait_until_ended(arn)

    assert described["status"] == "SUCCEEDED"
    assert described["executionArn"] == arn
    assert _entered(arn) == ["Before", "Read", "Read", "After"]
    assert json.loads(described["output"]) == {
        "run": 1,
        "object": {"key": "late.json"},
        "read": {"length": 2},
    }
    assert described["redriveCount"] == 1
    assert "redriveDate" in described
    events = history(arn)
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert any(e["type"] == "ExecutionRedriven" for e in events)


def test_a_failed_redrive_can_be_redriven_again(
    apply: Callable[..., None], failed_at_read: dict[str, Any]
) -> None:
    apply(EMULATION)
    arn = failed_at_read["executionArn"]
    client("stepfunctions").redrive_execution(executionArn=arn)
    assert _wait_until_ended(arn)["status"] == "FAILED"
    client("s3").put_object(Bucket="data", Key="late.json", Body=b"{}")
    client("stepfunctions").redrive_execution(executionArn=arn)
    described = _wait_until_ended(arn)
    assert (described["status"], described["redriveCount"]) == ("SUCCEEDED", 2)
    assert _entered(arn) == ["Before", "Read", "Read", "Read", "After"]


def test_a_succeeded_execution_is_not_redrivable(apply: Callable[..., None]) -> None:
    apply(EMULATION)
    succeeded = run_state_machine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    described = client("stepfunctions").describe_execution(executionArn=succeeded["executionArn"])
    assert described["redriveStatus"] == "NOT_REDRIVABLE"
    with pytest.raises(ClientError) as raised:
        client("stepfunctions").redrive_execution(executionArn=succeeded["executionArn"])
    assert raised.value.response["Error"]["Code"] == "ExecutionNotRedrivable"
    assert raised.value.response["Error"]["Message"] == "Execution is SUCCEEDED and cannot be redriven."


def test_the_unsuccessful_step_of_a_run_that_failed_in_a_fail_state_is_that_state() -> None:
    events = [
        {"stateEnteredEventDetails": {"name": "Work", "input": "{}"}},
        {"stateExitedEventDetails": {"name": "Work"}},
        {"stateEnteredEventDetails": {"name": "Broken", "input": '{"a": 1}'}},
    ]
    assert unsuccessful_step(events) == ("Broken", {"a": 1})
