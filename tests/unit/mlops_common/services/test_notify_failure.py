"""notify_failure's use case with in-memory fakes: what failed, where the logs are, how to resume."""

from __future__ import annotations

import json
from typing import Any

from mlops_common.aws_events import parse_execution_status_change
from mlops_common.services.notify_failure import notify_failure
from tests.unit.mlops_common.domain.test_failure_report import GLUE_FAILURE
from tests.unit.mlops_common.fakes import STATE_MACHINE_ARN, FakeNotifier

BATCH_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:stack-batch-inference"
EXECUTION_ARN = STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:") + ":upload-20261203T1000-0a1b2c3d"


class FakeHistories:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events
        self.read: list[str] = []

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        self.read.append(execution_arn)
        return self.events


def status_change(status: str = "FAILED", state_machine_arn: str = STATE_MACHINE_ARN) -> Any:
    return parse_execution_status_change(
        {
            "version": "0",
            "id": "e1",
            "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states",
            "account": "123456789012",
            "time": "2026-12-03T10:07:00Z",
            "region": "us-east-1",
            "resources": [EXECUTION_ARN],
            "detail": {
                "executionArn": EXECUTION_ARN,
                "stateMachineArn": state_machine_arn,
                "name": "upload-20261203T1000-0a1b2c3d",
                "status": status,
                "input": json.dumps({"trigger": "upload"}),
            },
        }
    )


def notify(event: Any, histories: FakeHistories, notifier: FakeNotifier) -> Any:
    return notify_failure(
        event,
        pipelines={STATE_MACHINE_ARN: "training", BATCH_ARN: "batch"},
        histories=histories,
        notifications=notifier,
        environment="dev",
    )


def test_a_failed_task_is_notified_with_its_logs_and_a_redrive_that_resumes_there() -> None:
    notifier = FakeNotifier()

    outcome = notify(status_change(), FakeHistories(GLUE_FAILURE), notifier)

    assert (outcome.action, outcome.failed_state) == ("notified", "PrepareDataset")
    ((subject, body),) = notifier.messages
    assert subject == "[dev] Training pipeline failed at PrepareDataset: upload-20261203T1000-0a1b2c3d"
    message = json.loads(body)
    assert message["failed_state"] == "PrepareDataset"
    assert message["failed_work"]["job"] == "jr_0123abc"
    assert "AnalysisException" in message["cause"]
    assert message["failed_work"]["logs"][0]["group"] == "/aws-glue/jobs/logs-v2"
    assert message["redrive"] == {
        "command": f"aws stepfunctions redrive-execution --execution-arn {EXECUTION_ARN}",
        "resumes_at": "PrepareDataset",
        "note": "Fix the cause, then redrive: PrepareDataset and what follows run again; the steps that "
        "succeeded are kept.",
    }
    assert message["input"] == {"trigger": "upload"}
    assert message["console_url"].endswith(f"#/v2/executions/details/{EXECUTION_ARN}")


def test_a_run_that_ended_in_a_fail_state_is_not_offered_a_useless_redrive() -> None:
    history = [
        {
            "type": "FailStateEntered",
            "stateEnteredEventDetails": {"name": "InvalidConfiguration", "input": "{}"},
        },
        {
            "type": "ExecutionFailed",
            "executionFailedEventDetails": {"error": "InvalidConfiguration", "cause": "x"},
        },
    ]
    notifier = FakeNotifier()

    notify(status_change(), FakeHistories(history), notifier)

    redrive = json.loads(notifier.messages[0][1])["redrive"]
    assert redrive["command"] is None
    assert "start a new run" in redrive["note"]


def test_a_stopped_batch_run_is_notified_as_stopped() -> None:
    notifier = FakeNotifier()

    notify(status_change("ABORTED", BATCH_ARN), FakeHistories([]), notifier)

    assert notifier.messages[0][0].startswith("[dev] Batch pipeline was stopped: ")


def test_another_stacks_machine_and_a_success_are_ignored() -> None:
    notifier, histories = FakeNotifier(), FakeHistories(GLUE_FAILURE)

    other = notify(status_change(state_machine_arn=STATE_MACHINE_ARN + "-other"), histories, notifier)
    succeeded = notify(status_change("SUCCEEDED"), histories, notifier)

    assert (other.action, succeeded.action) == ("ignored", "ignored")
    assert notifier.messages == []
    assert histories.read == []
