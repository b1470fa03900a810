"""run_ended's use case with in-memory fakes: the end of a run releases the lease and starts the follow-up."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from mlops_common.aws_events import parse_run_ended_event
from mlops_common.models import PipelineExecutionInput, RunEndedOutcome
from mlops_common.ports import StartResult
from mlops_common.services.run_ended import handle_run_event
from tests.unit.mlops_common.fakes import NOW, STATE_MACHINE_ARN, FakePipeline, FakeRuns


def status_change(
    name: str, status: str = "SUCCEEDED", state_machine_arn: str = STATE_MACHINE_ARN, redrive_count: int = 0
) -> Any:
    return parse_run_ended_event(
        {
            "version": "0",
            "id": f"status-{name}",
            "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states",
            "account": "123456789012",
            "time": "2026-11-12T10:07:00Z",
            "region": "us-east-1",
            "resources": [f"{STATE_MACHINE_ARN}:{name}"],
            "detail": {
                "executionArn": f"{STATE_MACHINE_ARN}:{name}".replace(":stateMachine:", ":execution:"),
                "stateMachineArn": state_machine_arn,
                "name": name,
                "status": status,
                "startDate": 1762941600000,
                "stopDate": 1762941700000,
                "redriveCount": redrive_count,
            },
        }
    )


TICK = parse_run_ended_event(
    {
        "version": "0",
        "id": "tick",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-12T10:07:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/reconcile"],
        "detail": {},
    }
)


def handle(
    event: Any, runs: FakeRuns, pipeline: FakePipeline, *, minutes_later: float = 0
) -> RunEndedOutcome:
    now = NOW + timedelta(minutes=minutes_later)
    return handle_run_event(event, runs=runs, pipeline=pipeline, lease_minutes=60, now=now)


def test_the_end_of_a_run_with_nothing_pending_releases_the_lease() -> None:
    runs, pipeline = FakeRuns(holder="upload-a"), FakePipeline()

    outcome = handle(status_change("upload-a"), runs, pipeline)

    assert outcome.action == "released"
    assert runs.holder is None
    assert pipeline.started == []


def test_uploads_pending_at_the_end_of_a_failed_run_start_the_follow_up() -> None:
    runs, pipeline = FakeRuns(holder="upload-a"), FakePipeline()
    runs.add_pending_uploads(7, NOW)

    outcome = handle(status_change("upload-a", "FAILED"), runs, pipeline)

    assert outcome.action == "started"
    ((name, execution_input),) = pipeline.started
    assert name == outcome.execution_name
    assert name.startswith("upload-")
    assert (execution_input.trigger, execution_input.objects) == ("upload", 7)
    assert execution_input.reason == "follow-up of upload-a: 7 upload(s) pending"
    assert runs.holder is not None
    assert runs.holder.holder == name


def test_a_queued_retraining_starts_after_the_run() -> None:
    runs, pipeline = FakeRuns(holder="upload-a"), FakePipeline()
    runs.request_retraining("drift", "alarm X entered ALARM", NOW)

    outcome = handle(status_change("upload-a", "ABORTED"), runs, pipeline)

    assert outcome.action == "started"
    assert pipeline.started[0][1].trigger == "drift"
    assert pipeline.started[0][1].reason == "follow-up of upload-a: alarm X entered ALARM"


def test_the_end_of_a_run_that_did_not_hold_the_lease_changes_nothing() -> None:
    runs, pipeline = FakeRuns(holder="upload-a"), FakePipeline()
    runs.add_pending_uploads(3, NOW)

    outcome = handle(status_change("schedule-skipped"), runs, pipeline)

    assert outcome.action == "ignored"
    assert "upload-a does" in outcome.reason
    assert runs.holder is not None
    assert runs.holder.holder == "upload-a"
    assert pipeline.started == []


def test_another_state_machine_is_ignored() -> None:
    runs = FakeRuns(holder="upload-a")

    outcome = handle(status_change("upload-a", state_machine_arn="arn:other"), runs, FakePipeline())

    assert outcome.action == "ignored"
    assert runs.holder is not None


def test_a_failed_follow_up_start_gives_the_lease_back() -> None:
    runs = FakeRuns(holder="upload-a")
    runs.add_pending_uploads(1, NOW)

    # The error reaches EventBridge's retry (and then the dead-letter queue).
    with pytest.raises(RuntimeError):
        handle(status_change("upload-a"), runs, FakePipeline(fail=True))

    assert runs.holder is None


def test_the_reconcile_tick_leaves_a_running_holder_alone() -> None:
    runs, pipeline = FakeRuns(holder="upload-a"), FakePipeline(statuses={"upload-a": "RUNNING"})
    runs.add_pending_uploads(1, NOW)

    outcome = handle(TICK, runs, pipeline)

    assert outcome.action == "running"
    assert pipeline.started == []


def test_the_reconcile_tick_finishes_for_a_run_whose_end_event_was_lost() -> None:
    runs, pipeline = FakeRuns(holder="upload-a"), FakePipeline(statuses={"upload-a": "SUCCEEDED"})
    runs.add_pending_uploads(2, NOW)

    outcome = handle(TICK, runs, pipeline)

    assert outcome.action == "started"
    assert pipeline.started[0][1].objects == 2


def test_the_reconcile_tick_waits_for_a_start_in_flight() -> None:
    runs, pipeline = FakeRuns(), FakePipeline()
    runs.take_lease("upload-b", "upload", NOW, int(NOW.timestamp()) + 3600)

    assert handle(TICK, runs, pipeline, minutes_later=1).action == "running"
    # Five minutes on, a lease whose execution never appeared was a start that died.
    assert handle(TICK, runs, pipeline, minutes_later=6).action == "released"
    assert runs.holder is None


def test_the_reconcile_tick_starts_pending_work_that_nobody_started() -> None:
    runs, pipeline = FakeRuns(), FakePipeline()
    runs.add_pending_uploads(4, NOW)

    outcome = handle(TICK, runs, pipeline)

    assert outcome.action == "started"
    assert outcome.reason == "follow-up of no active run: 4 upload(s) pending"


class ExistingExecution(FakePipeline):
    """Step Functions that starts nothing: an execution of every name asked for exists already."""

    def __init__(self, status: str) -> None:
        super().__init__()
        self.existing_status = status

    def start(self, name: str, execution_input: PipelineExecutionInput) -> StartResult:
        self.statuses[name] = self.existing_status
        return StartResult(name, started=False)


def test_a_follow_up_that_step_functions_did_not_start_is_not_reported_started() -> None:
    runs, pipeline = FakeRuns(holder="upload-a"), ExistingExecution("SUCCEEDED")
    runs.add_pending_uploads(2, NOW)

    outcome = handle(status_change("upload-a"), runs, pipeline)

    assert outcome.action == "released"
    assert "started nothing" in outcome.reason
    assert runs.holder is None  # no lease left for an execution that has ended


def test_a_follow_up_whose_execution_already_runs_keeps_the_lease_for_it() -> None:
    runs, pipeline = FakeRuns(holder="upload-a"), ExistingExecution("RUNNING")
    runs.add_pending_uploads(2, NOW)

    outcome = handle(status_change("upload-a"), runs, pipeline)

    assert outcome.action == "running"
    assert runs.holder is not None
    assert runs.holder.holder == outcome.execution_name


def test_a_redriven_run_takes_the_free_lease() -> None:
    runs, pipeline = FakeRuns(), FakePipeline()

    outcome = handle(status_change("upload-a", "RUNNING", redrive_count=1), runs, pipeline)

    assert (outcome.action, outcome.execution_name) == ("running", "upload-a")
    assert runs.holder is not None
    assert (runs.holder.holder, runs.holder.trigger) == ("upload-a", "redrive")
    assert pipeline.stopped == []


def test_a_redrive_while_another_run_holds_the_lease_is_stopped() -> None:
    runs, pipeline = FakeRuns(holder="upload-b"), FakePipeline()

    outcome = handle(status_change("upload-a", "RUNNING", redrive_count=2), runs, pipeline)

    assert outcome.action == "ignored"
    ((name, error, cause),) = pipeline.stopped
    assert (name, error) == ("upload-a", "RunLeaseHeld")
    assert "upload-b holds the run lease" in cause
    assert runs.holder is not None
    assert runs.holder.holder == "upload-b"


def test_a_run_starting_for_the_first_time_is_left_to_begin_run() -> None:
    runs, pipeline = FakeRuns(), FakePipeline()

    outcome = handle(status_change("upload-a", "RUNNING"), runs, pipeline)

    assert outcome.action == "ignored"
    assert runs.holder is None
