"""The one-run lease under moto: begin_run and run_ended on DynamoDB's conditional writes."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from mlops_common.adapters.run_ledger import RunLedger
from tests.conftest import load_event

from .conftest import FakeLambdaContext, Stack, handler_of

NOW = datetime(2026, 11, 12, 10, 0, tzinfo=UTC)


def test_a_lease_is_taken_once_extended_by_its_holder_and_taken_over_after_expiry(stack: Stack) -> None:
    runs = RunLedger(stack.table)
    expires = int((NOW + timedelta(minutes=10)).timestamp())

    assert runs.take_lease("run-a", "upload", NOW, expires)
    assert not runs.take_lease("run-b", "drift", NOW, expires)
    assert runs.take_lease("run-a", "upload", NOW, expires + 60)  # its holder extends it
    assert not runs.release_lease("run-b")
    assert runs.take_lease("run-b", "drift", NOW + timedelta(minutes=11), expires + 3600)
    lease = runs.lease()
    assert lease is not None
    assert (lease.holder, lease.trigger, lease.acquired_at) == ("run-b", "drift", NOW + timedelta(minutes=11))


def test_a_claim_fails_when_an_upload_was_counted_after_the_read(stack: Stack) -> None:
    runs = RunLedger(stack.table)
    runs.add_pending_uploads(3, NOW)
    seen = runs.pending_uploads()
    runs.add_pending_uploads(1, NOW + timedelta(seconds=1))

    assert not runs.claim_pending_uploads(seen, until=NOW + timedelta(seconds=2))
    assert runs.claim_pending_uploads(runs.pending_uploads(), until=NOW + timedelta(seconds=2))
    after = runs.pending_uploads()
    assert (after.count, after.first_at, after.last_at) == (0, None, None)
    assert after.covered_until == NOW + timedelta(seconds=2)


def test_the_pending_uploads_item_has_no_expiry_the_ttl_could_act_on(stack: Stack) -> None:
    RunLedger(stack.table).add_pending_uploads(1, NOW)
    (item,) = stack.ledger_items("uploads")
    assert "expires_at" not in item


def test_begin_run_claims_the_uploads_and_answers_a_queued_retraining(stack: Stack) -> None:
    runs = RunLedger(stack.table)
    runs.add_pending_uploads(4, datetime.now(UTC) - timedelta(seconds=1))
    runs.request_retraining("drift", "alarm", datetime.now(UTC))

    outcome = stack.begin_run("upload-run")

    assert (outcome["action"], outcome["uploads"], outcome["since"]) == ("proceed", 4, "")
    assert runs.pending_retraining() is None
    lease = runs.lease()
    assert lease is not None
    assert lease.holder == "upload-run"


def test_a_schedule_tick_during_a_run_is_skipped(stack: Stack) -> None:
    stack.begin_run("upload-run")

    outcome = stack.begin_run("schedule-run", trigger="schedule")

    assert outcome["action"] == "skip"
    assert "upload-run is running" in outcome["reason"]


@pytest.mark.usefixtures("atomic_dynamodb", "two_callers_at_the_lease")
def test_an_upload_and_a_drift_signal_at_once_start_exactly_one_run(stack: Stack) -> None:
    upload = load_event("sqs_batch")
    upload["Records"] = upload["Records"][:1]
    body = load_event("s3_object_created")
    body["time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    upload["Records"][0]["body"] = json.dumps(body)
    alarm = load_event("cloudwatch_alarm_state_change")
    calls = [(handler_of("start_pipeline"), upload), (handler_of("handle_drift"), alarm)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda call: call[0](call[1], FakeLambdaContext()), calls))

    assert len(stack.executions()) == 1
    runs = RunLedger(stack.table)
    lease = runs.lease()
    assert lease is not None
    assert lease.holder == stack.executions()[0]["name"]
    # The loser is not lost: pending uploads or a queued retraining, for when the winner ends.
    if lease.trigger == "drift":
        assert results[0] == {"batchItemFailures": []}
        assert runs.pending_uploads().count == 1
    else:
        assert results[1]["action"] == "queued"
        assert runs.pending_retraining() is not None


def test_the_reconcile_tick_finishes_for_a_run_whose_end_event_was_lost(stack: Stack) -> None:
    sfn = stack.client("stepfunctions")
    sfn.start_execution(stateMachineArn=stack.state_machine_arn, name="upload-run")
    stack.begin_run("upload-run")
    RunLedger(stack.table).add_pending_uploads(2, datetime.now(UTC))
    execution_arn = stack.state_machine_arn.replace(":stateMachine:", ":execution:") + ":upload-run"
    sfn.stop_execution(executionArn=execution_arn)  # ...and its status-change event never arrives

    tick = {
        "version": "0",
        "id": "tick-1",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-12T10:15:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }
    outcome = handler_of("run_ended")(tick, FakeLambdaContext())

    assert outcome["action"] == "started"
    assert [e["name"] for e in stack.executions(status="RUNNING")] == [outcome["execution_name"]]
