"""start_pipeline under moto: ledger, pending uploads, the one-run lease, partial batch failures."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import pytest
from botocore.exceptions import ClientError

from mlops_common.adapters.ledger import Ledger
from mlops_common.adapters.pipeline import TrainingPipeline
from mlops_common.adapters.run_ledger import RunLedger
from mlops_common.aws_events import parse_upload_batch
from mlops_common.domain.errors import EventNotUnderstood
from mlops_common.services.start_pipeline import process_upload_batch
from mlops_common.settings import StartPipelineSettings
from tests.conftest import load_event

from .conftest import Stack, handler_of

handler = handler_of("start_pipeline")


def upload_event(key: str, sequencer: str, version: str = "v1") -> dict[str, Any]:
    """An EventBridge ``Object Created`` event for ``key``, encoded as S3 writes keys in events."""
    event = load_event("s3_object_created")
    event["id"] = f"event-{sequencer}"
    # Uploaded now: an event time before a run's snapshot would be "already covered".
    event["time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event["detail"]["object"].update(
        {"key": quote_plus(key, safe="/"), "sequencer": sequencer, "version-id": version}
    )
    return event


def sqs_batch(*bodies: Any) -> dict[str, Any]:
    template = load_event("sqs_batch")["Records"][0]
    records = []
    for index, body in enumerate(bodies):
        record = dict(template)
        record["messageId"] = f"msg-{index}"
        record["body"] = body if isinstance(body, str) else json.dumps(body)
        records.append(record)
    return {"Records": records}


def object_items(stack: Stack) -> dict[str, dict[str, Any]]:
    return {item["pk"]["S"]: item for item in stack.ledger_items("object#")}


def test_new_upload_is_recorded_and_starts_one_run(stack: Stack, context: Any) -> None:
    response = handler(sqs_batch(upload_event("incoming/line-a/dent/1.jpg", "A1")), context)

    assert response == {"batchItemFailures": []}
    executions = stack.executions()
    assert len(executions) == 1
    assert executions[0]["name"].startswith("upload-")
    item = object_items(stack)[f"object#{stack.data_bucket}/incoming/line-a/dent/1.jpg"]
    assert item["status"]["S"] == "accepted"
    assert item["run"]["S"] == executions[0]["name"]
    execution_input = json.loads(
        stack.client("stepfunctions").describe_execution(executionArn=executions[0]["executionArn"])["input"]
    )
    assert execution_input["trigger"] == "upload"
    assert execution_input["objects"] == 1


def test_a_batch_larger_than_one_batch_write_marks_every_upload_whole(stack: Stack, context: Any) -> None:
    events = [upload_event(f"incoming/line-a/ok/{index}.jpg", f"B{index:02d}") for index in range(30)]
    assert handler(sqs_batch(*events), context) == {"batchItemFailures": []}
    (execution,) = stack.executions()
    items = object_items(stack).values()
    assert len(items) == 30
    # Written whole (BatchWriteItem puts items): what was recorded is still there beside the run.
    assert {(item["status"]["S"], item["label"]["S"], item["run"]["S"]) for item in items} == {
        ("accepted", "ok", execution["name"])
    }
    assert all(int(item["expires_at"]["N"]) > 0 for item in items)


@pytest.mark.parametrize("name", ["a b.jpg", "c++.jpg", "café.jpg", "x%2By.jpg"])
def test_encoded_keys_are_recorded_under_their_real_name(stack: Stack, context: Any, name: str) -> None:
    key = f"incoming/line-a/ok/{name}"
    handler(sqs_batch(upload_event(key, "B1")), context)
    assert list(object_items(stack)) == [f"object#{stack.data_bucket}/{key}"]


def test_duplicate_event_in_one_batch_is_recorded_once(stack: Stack, context: Any) -> None:
    event = upload_event("incoming/line-a/dent/1.jpg", "C1")
    response = handler(sqs_batch(event, event), context)
    assert response == {"batchItemFailures": []}
    assert len(object_items(stack)) == 1
    assert len(stack.executions()) == 1


def test_replayed_batch_starts_no_second_run(stack: Stack, context: Any) -> None:
    batch = sqs_batch(upload_event("incoming/line-a/dent/1.jpg", "D1"))
    handler(batch, context)
    first = stack.executions()[0]
    stack.client("stepfunctions").stop_execution(executionArn=first["executionArn"])

    assert handler(batch, context) == {"batchItemFailures": []}
    assert len(stack.executions()) == 1


def test_replay_hours_later_starts_no_second_run(stack: Stack) -> None:
    settings = StartPipelineSettings()
    ledger, runs, pipeline = (
        Ledger(stack.table),
        RunLedger(stack.table),
        TrainingPipeline(stack.state_machine_arn),
    )
    batch = parse_upload_batch(sqs_batch(upload_event("incoming/line-a/dent/1.jpg", "E1")))
    now = datetime(2026, 11, 12, 10, 0, tzinfo=UTC)
    process_upload_batch(batch, ledger=ledger, runs=runs, pipeline=pipeline, settings=settings, now=now)
    first = stack.executions()[0]["name"]
    assert stack.begin_run(first)["action"] == "proceed"
    stack.end_run(first)

    later = now + timedelta(hours=3)
    report = process_upload_batch(
        batch, ledger=ledger, runs=runs, pipeline=pipeline, settings=settings, now=later
    )
    assert report.duplicates == 1
    assert len(stack.executions()) == 1


def test_out_of_order_events_of_one_key_are_both_recorded(stack: Stack, context: Any) -> None:
    key = "incoming/line-a/dent/1.jpg"
    handler(sqs_batch(upload_event(key, "0000000000000002", "v2")), context)
    handler(sqs_batch(upload_event(key, "0000000000000001", "v1")), context)
    sequencers = sorted(item["sk"]["S"] for item in stack.ledger_items("object#"))
    assert sequencers == ["0000000000000001", "0000000000000002"]
    assert len(stack.executions()) == 1  # the first run holds the lease: the second upload waits for it


def test_no_run_starts_while_one_holds_the_lease(stack: Stack, context: Any) -> None:
    stack.client("stepfunctions").start_execution(stateMachineArn=stack.state_machine_arn, name="manual-run")
    # What the manual run's first state (BeginRun) does.
    RunLedger(stack.table).take_lease("manual-run", "manual", datetime.now(UTC), 2**31)

    handler(sqs_batch(upload_event("incoming/line-a/dent/1.jpg", "F1")), context)

    assert [e["name"] for e in stack.executions()] == ["manual-run"]
    item = next(iter(object_items(stack).values()))
    assert item["run"]["S"] == "manual-run"
    assert "its end starts the follow-up" in item["run_note"]["S"]
    assert RunLedger(stack.table).pending_uploads().count == 1


def test_the_end_of_the_run_starts_the_follow_up_for_uploads_that_came_during_it(
    stack: Stack, context: Any
) -> None:
    handler(sqs_batch(upload_event("incoming/line-a/dent/1.jpg", "K1")), context)
    first = stack.executions()[0]["name"]
    # The first run claimed that upload (its BeginRun) a while ago; two more land while it trains.
    runs = RunLedger(stack.table)
    claimed_at = datetime.now(UTC) - timedelta(seconds=5)
    assert runs.claim_pending_uploads(runs.pending_uploads(), until=claimed_at)
    handler(
        sqs_batch(
            upload_event("incoming/line-a/dent/2.jpg", "K2"), upload_event("incoming/line-a/ok/3.jpg", "K3")
        ),
        context,
    )
    assert len(stack.executions()) == 1

    outcome = stack.end_run(first, "FAILED")

    assert outcome["action"] == "started"
    names = {e["name"] for e in stack.executions(status="RUNNING")}
    assert names == {outcome["execution_name"]}
    follow_up = stack.client("stepfunctions").describe_execution(
        executionArn=stack.executions(status="RUNNING")[0]["executionArn"]
    )
    assert json.loads(follow_up["input"])["objects"] == 2


def test_an_upload_of_another_bucket_is_ignored_and_not_retried(stack: Stack, context: Any) -> None:
    event = upload_event("incoming/line-a/dent/1.jpg", "L1")
    event["detail"]["bucket"]["name"] = "someone-elses-bucket"

    assert handler(sqs_batch(event), context) == {"batchItemFailures": []}
    assert object_items(stack) == {}
    assert stack.executions() == []


@pytest.mark.usefixtures("atomic_dynamodb", "two_callers_at_the_lease")
def test_two_batches_delivered_at_once_start_exactly_one_run(stack: Stack, context: Any) -> None:
    batches = [sqs_batch(upload_event(f"incoming/line-a/dent/{i}.jpg", f"M{i}")) for i in range(2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(lambda batch: handler(batch, context), batches))

    assert responses == [{"batchItemFailures": []}] * 2
    assert len(stack.executions()) == 1
    assert RunLedger(stack.table).pending_uploads().count == 2


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("other/line-a/dent/1.jpg", "outside incoming/"),
        ("incoming/line-a/../dent/1.jpg", "traversal"),
        ("incoming/line-a/dent/1\x01.jpg", "control character"),
        ("incoming/line-a/1.jpg", "no label folder"),
    ],
)
def test_rejected_key_is_recorded_not_retried_and_starts_nothing(
    stack: Stack, context: Any, key: str, reason: str
) -> None:
    response = handler(sqs_batch(upload_event(key, "G1")), context)

    assert response == {"batchItemFailures": []}
    (item,) = stack.ledger_items("object#")
    assert item["status"]["S"] == "rejected"
    assert reason in item["reason"]["S"]
    assert stack.executions() == []


def test_malformed_and_foreign_messages_fail_alone(stack: Stack, context: Any) -> None:
    foreign = load_event("s3_object_created")
    foreign["detail-type"] = "Object Deleted"
    batch = sqs_batch(upload_event("incoming/line-a/dent/1.jpg", "H1"), "not json {", foreign, {"a": 1})

    response = handler(batch, context)

    assert response == {"batchItemFailures": [{"itemIdentifier": m} for m in ("msg-1", "msg-2", "msg-3")]}
    assert len(object_items(stack)) == 1
    assert len(stack.executions()) == 1


def test_aws_error_for_one_message_fails_only_that_message(
    stack: Stack, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Ledger.record_object

    def failing_for_bad_key(self: Ledger, pk: str, *args: Any, **kwargs: Any) -> Any:
        if pk.endswith("bad.jpg"):
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, "PutItem")
        return original(self, pk, *args, **kwargs)

    monkeypatch.setattr(Ledger, "record_object", failing_for_bad_key)
    batch = sqs_batch(
        upload_event("incoming/line-a/dent/good.jpg", "I1"),
        upload_event("incoming/line-a/dent/bad.jpg", "I2"),
    )
    assert handler(batch, context) == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
    assert len(stack.executions()) == 1


def test_failed_start_fails_the_uploads_and_the_retry_starts_the_run(
    stack: Stack, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = TrainingPipeline.start
    monkeypatch.setattr(
        TrainingPipeline,
        "start",
        lambda *_a, **_k: (_ for _ in ()).throw(
            ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "StartExecution")
        ),
    )
    batch = sqs_batch(upload_event("incoming/line-a/dent/1.jpg", "J1"))
    assert handler(batch, context) == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}
    assert stack.executions() == []

    monkeypatch.setattr(TrainingPipeline, "start", original)
    assert handler(batch, context) == {"batchItemFailures": []}
    assert len(stack.executions()) == 1


def test_event_that_is_not_an_sqs_batch_is_a_clear_error(stack: Stack, context: Any) -> None:
    with pytest.raises(EventNotUnderstood, match="not an SQS event"):
        handler(load_event("s3_object_created"), context)
    assert stack.ledger_items("") == []
    assert stack.executions() == []


def nested_in_detail(depth: int) -> str:
    """A real upload's event with ``depth`` levels of arrays in an extra ``detail`` field."""
    event = upload_event("incoming/line-a/dent/nested.jpg", "N9")
    return json.dumps(event).replace('"detail": {', '"detail": {"x": ' + "[" * depth + "]" * depth + ", ", 1)


def oversized_upload() -> dict[str, Any]:
    event = upload_event("incoming/line-a/dent/big.jpg", "N8")
    event["detail"]["reason"] = "x" * 100_000
    return event


@pytest.mark.parametrize(
    "hostile",
    [
        "[" * 1_500 + "]" * 1_500,
        '{"detail":' * 1_500 + "1" + "}" * 1_500,
        nested_in_detail(60),
        nested_in_detail(5_000),
        oversized_upload(),
    ],
    ids=["arrays-3KB", "objects-3KB", "upload-with-60-levels", "upload-with-5000-levels", "upload-of-100KB"],
)
def test_a_hostile_body_fails_alone_and_the_upload_beside_it_starts_a_run(
    stack: Stack, context: Any, hostile: Any
) -> None:
    batch = sqs_batch(hostile, upload_event("incoming/line-a/dent/1.jpg", "N1"))

    response = handler(batch, context)

    assert response == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}
    assert list(object_items(stack)) == [f"object#{stack.data_bucket}/incoming/line-a/dent/1.jpg"]
    assert len(stack.executions()) == 1
