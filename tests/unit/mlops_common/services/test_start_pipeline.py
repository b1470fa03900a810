"""start_pipeline's use case with in-memory fakes: what it records, starts and reports, without AWS."""

from __future__ import annotations

from typing import Any

from mlops_common.aws_events import ObjectCreatedEvent, UploadMessage
from mlops_common.services.start_pipeline import UploadBatchReport, process_upload_batch
from tests.unit.mlops_common.fakes import NOW, START_PIPELINE, FakeLedger, FakePipeline


def upload(index: int, key: str) -> UploadMessage:
    """Message ``m<index>`` announcing ``key`` (sequencer ``S<index>``)."""
    event = ObjectCreatedEvent.model_validate(
        {
            "version": "0",
            "id": f"e{index}",
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": "123456789012",
            "time": "2026-11-12T10:07:00Z",
            "region": "us-east-1",
            "resources": ["arn:aws:s3:::data"],
            "detail": {"bucket": {"name": "data"}, "object": {"key": key, "sequencer": f"S{index}"}},
        }
    )
    return UploadMessage(message_id=f"m{index}", upload=event)


def sqs(*keys: str) -> list[UploadMessage]:
    return [upload(index, key) for index, key in enumerate(keys)]


def run_batch(messages: list[UploadMessage], ledger: FakeLedger, pipeline: FakePipeline) -> UploadBatchReport:
    return process_upload_batch(messages, ledger=ledger, pipeline=pipeline, settings=START_PIPELINE, now=NOW)


def test_mixed_batch_counts_each_outcome_and_starts_once() -> None:
    ledger, pipeline = FakeLedger(), FakePipeline()
    report = run_batch(sqs("incoming/a/ok/1.jpg", "incoming/a/ok/2.jpg", "incoming/1.jpg"), ledger, pipeline)
    assert (report.accepted, report.rejected, report.failed_message_ids) == (2, 1, [])
    ((name, execution_input),) = pipeline.started
    assert name.startswith("upload-20261112T1000-")
    assert execution_input.objects == 2


def test_batch_of_only_rejected_keys_starts_nothing() -> None:
    pipeline = FakePipeline()
    report = run_batch(sqs("elsewhere/a/ok/1.jpg"), FakeLedger(), pipeline)
    assert report.rejected == 1
    assert pipeline.started == []


def test_running_execution_defers_and_marks_the_uploads() -> None:
    ledger, pipeline = FakeLedger(), FakePipeline(running=["schedule-run"])
    report = run_batch(sqs("incoming/a/ok/1.jpg"), ledger, pipeline)
    assert pipeline.started == []
    assert report.run == "schedule-run"
    (item,) = ledger.objects.values()
    assert item["run"] == "schedule-run"


def test_malformed_message_fails_alone_and_the_rest_is_handled() -> None:
    ledger, pipeline = FakeLedger(), FakePipeline()
    messages = [UploadMessage(message_id="bad", problem="not json"), upload(1, "incoming/a/ok/1.jpg")]
    report = run_batch(messages, ledger, pipeline)
    assert (report.malformed, report.failed_message_ids, report.accepted) == (1, ["bad"], 1)
    assert len(pipeline.started) == 1
    assert report.response().to_lambda() == {"batchItemFailures": [{"itemIdentifier": "bad"}]}


def test_failed_start_fails_every_pending_upload_and_leaves_it_unhandled() -> None:
    ledger = FakeLedger()
    report = run_batch(sqs("incoming/a/ok/1.jpg", "incoming/a/ok/2.jpg"), ledger, FakePipeline(fail=True))
    assert report.failed_message_ids == ["m0", "m1"]
    assert all("run" not in item for item in ledger.objects.values())
    assert ledger.windows == {}


def test_the_window_decision_is_recorded() -> None:
    ledger = FakeLedger()
    report = run_batch(sqs("incoming/a/ok/1.jpg"), ledger, FakePipeline())
    window: dict[str, Any] = ledger.windows[str(report.run)]
    assert window == {"run": report.run, "note": "started", "objects": "1"}
