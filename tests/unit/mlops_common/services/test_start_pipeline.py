"""start_pipeline's use case with in-memory fakes: what it records, starts and reports, without AWS."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from mlops_common.aws_events import ObjectCreatedEvent, UploadMessage
from mlops_common.ports import HandledUpload
from mlops_common.services.start_pipeline import UploadBatchReport, process_upload_batch
from tests.unit.mlops_common.fakes import NOW, START_PIPELINE, FakeLedger, FakePipeline, FakeRuns


def upload(
    index: int, key: str, *, bucket: str = "data", time: str = "2026-11-12T10:07:00Z"
) -> UploadMessage:
    """Message ``m<index>`` announcing ``key`` (sequencer ``S<index>``)."""
    event = ObjectCreatedEvent.model_validate(
        {
            "version": "0",
            "id": f"e{index}",
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": "123456789012",
            "time": time,
            "region": "us-east-1",
            "resources": [f"arn:aws:s3:::{bucket}"],
            "detail": {"bucket": {"name": bucket}, "object": {"key": key, "sequencer": f"S{index}"}},
        }
    )
    return UploadMessage(message_id=f"m{index}", upload=event)


def sqs(*keys: str) -> list[UploadMessage]:
    return [upload(index, key) for index, key in enumerate(keys)]


def run_batch(
    messages: list[UploadMessage], ledger: FakeLedger, pipeline: FakePipeline, runs: FakeRuns | None = None
) -> UploadBatchReport:
    return process_upload_batch(
        messages, ledger=ledger, runs=runs or FakeRuns(), pipeline=pipeline, settings=START_PIPELINE, now=NOW
    )


def test_mixed_batch_counts_each_outcome_and_starts_once() -> None:
    ledger, pipeline, runs = FakeLedger(), FakePipeline(), FakeRuns()
    report = run_batch(
        sqs("incoming/a/ok/1.jpg", "incoming/a/ok/2.jpg", "incoming/1.jpg"), ledger, pipeline, runs
    )
    assert (report.accepted, report.rejected, report.failed_message_ids) == (2, 1, [])
    ((name, execution_input),) = pipeline.started
    assert name.startswith("upload-20261112T100700-")
    assert execution_input.objects == 2
    assert runs.pending.count == 2


def test_the_started_run_holds_the_lease_before_it_is_started() -> None:
    runs, pipeline = FakeRuns(), FakePipeline()
    report = run_batch(sqs("incoming/a/ok/1.jpg"), FakeLedger(), pipeline, runs)
    assert runs.holder is not None
    assert runs.holder.holder == report.run == pipeline.started[0][0]


def test_batch_of_only_rejected_keys_starts_nothing() -> None:
    pipeline, runs = FakePipeline(), FakeRuns()
    report = run_batch(sqs("elsewhere/a/ok/1.jpg"), FakeLedger(), pipeline, runs)
    assert report.rejected == 1
    assert pipeline.started == []
    assert runs.pending.count == 0


def test_uploads_during_a_run_stay_pending_for_it_and_start_nothing() -> None:
    ledger, pipeline, runs = FakeLedger(), FakePipeline(), FakeRuns(holder="schedule-run")
    report = run_batch(sqs("incoming/a/ok/1.jpg"), ledger, pipeline, runs)
    assert pipeline.started == []
    assert report.run == "schedule-run"
    assert runs.pending.count == 1
    (item,) = ledger.objects.values()
    assert item["run"] == "schedule-run"
    assert "its end starts the follow-up" in item["run_note"]


def test_an_expired_lease_is_taken_over() -> None:
    pipeline, runs = FakePipeline(), FakeRuns(holder="dead-run", expires_at=int(NOW.timestamp()))
    report = run_batch(sqs("incoming/a/ok/1.jpg"), FakeLedger(), pipeline, runs)
    assert len(pipeline.started) == 1
    assert report.run == pipeline.started[0][0]


def test_an_upload_inside_a_claimed_snapshot_is_not_counted_again() -> None:
    runs = FakeRuns()
    runs.pending = replace(runs.pending, covered_until=datetime(2026, 11, 12, 10, 7, 0, tzinfo=UTC))
    ledger, pipeline = FakeLedger(), FakePipeline()
    late = upload(1, "incoming/a/ok/late.jpg", time="2026-11-12T10:06:59Z")
    fresh = upload(2, "incoming/a/ok/fresh.jpg", time="2026-11-12T10:07:01Z")

    report = run_batch([late, fresh], ledger, pipeline, runs)

    assert (report.covered, report.accepted) == (1, 1)
    assert runs.pending.count == 1
    assert {item["run"] for item in ledger.objects.values()} == {"covered", pipeline.started[0][0]}


def test_events_of_another_bucket_are_ignored_and_not_retried() -> None:
    ledger, pipeline = FakeLedger(), FakePipeline()
    report = run_batch([upload(1, "incoming/a/ok/1.jpg", bucket="someone-else")], ledger, pipeline)
    assert (report.foreign, report.accepted, report.failed_message_ids) == (1, 0, [])
    assert ledger.objects == {}
    assert pipeline.started == []


def test_malformed_message_fails_alone_and_the_rest_is_handled() -> None:
    ledger, pipeline = FakeLedger(), FakePipeline()
    messages = [UploadMessage(message_id="bad", problem="not json"), upload(1, "incoming/a/ok/1.jpg")]
    report = run_batch(messages, ledger, pipeline)
    assert (report.malformed, report.failed_message_ids, report.accepted) == (1, ["bad"], 1)
    assert len(pipeline.started) == 1
    assert report.response().to_lambda() == {"batchItemFailures": [{"itemIdentifier": "bad"}]}


def test_failed_start_fails_every_pending_upload_leaves_it_unhandled_and_the_lease_free() -> None:
    ledger, runs = FakeLedger(), FakeRuns()
    report = run_batch(
        sqs("incoming/a/ok/1.jpg", "incoming/a/ok/2.jpg"), ledger, FakePipeline(fail=True), runs
    )
    assert report.failed_message_ids == ["m0", "m1"]
    assert all("run" not in item for item in ledger.objects.values())
    assert runs.holder is None


def test_a_retried_batch_counts_uploads_that_were_never_counted() -> None:
    ledger, runs = FakeLedger(), FakeRuns()
    run_batch(sqs("incoming/a/ok/1.jpg"), ledger, FakePipeline(fail=True), runs)
    pipeline = FakePipeline()

    report = run_batch(sqs("incoming/a/ok/1.jpg"), ledger, pipeline, runs)

    assert report.failed_message_ids == []
    assert len(pipeline.started) == 1
    assert runs.pending.count >= 1


def test_a_replayed_batch_counts_nothing_twice() -> None:
    ledger, runs = FakeLedger(), FakeRuns()
    run_batch(sqs("incoming/a/ok/1.jpg"), ledger, FakePipeline(), runs)

    report = run_batch(sqs("incoming/a/ok/1.jpg"), ledger, FakePipeline(), runs)

    assert report.duplicates == 1
    assert runs.pending.count == 1


class LedgerLosingWrites(FakeLedger):
    """A ledger whose batch write leaves ``lost`` uploads (by key) unwritten, or fails outright."""

    def __init__(self, lost: set[str] | None = None, *, error: bool = False) -> None:
        super().__init__()
        self.lost, self.error = lost or set(), error

    def mark_handled(self, uploads: Sequence[HandledUpload]) -> list[HandledUpload]:
        if self.error:
            raise RuntimeError("ProvisionedThroughputExceededException")
        super().mark_handled([u for u in uploads if not any(u.pk.endswith(key) for key in self.lost)])
        return [u for u in uploads if any(u.pk.endswith(key) for key in self.lost)]


def test_an_upload_left_unmarked_fails_alone_so_sqs_delivers_it_again() -> None:
    ledger = LedgerLosingWrites({"incoming/a/ok/2.jpg"})
    report = run_batch(sqs("incoming/a/ok/1.jpg", "incoming/a/ok/2.jpg"), ledger, FakePipeline())
    assert report.failed_message_ids == ["m1"]
    assert {item.get("run_note") for item in ledger.objects.values()} == {None, report.run_note}


def test_a_failed_batch_write_fails_every_marked_upload() -> None:
    report = run_batch(
        sqs("incoming/a/ok/1.jpg", "incoming/a/ok/2.jpg"), LedgerLosingWrites(error=True), FakePipeline()
    )
    assert report.failed_message_ids == ["m0", "m1"]
    assert report.run is not None  # the run was started: the redelivery finds its lease taken
