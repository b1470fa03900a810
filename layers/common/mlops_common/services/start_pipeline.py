"""Uploads -> ledger -> pending uploads -> a training run when no other run holds the lease.

Every accepted upload is counted as pending. If no run holds the one-run lease, this batch takes it
and starts a run, whose first state waits until the uploads have settled (the quiet period) before
claiming them; if a run holds it, the uploads wait for that run: it claims them if they arrive
before its claim, and its end starts the follow-up run for the rest (``run_ended``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mlops_common.aws_events import UploadMessage
from mlops_common.domain.keys import classify_key, decode_event_key, object_pk, object_sk
from mlops_common.domain.run_control import run_name
from mlops_common.domain.triggers import expiry_epoch
from mlops_common.models import BatchItemFailure, BatchResponse, PipelineExecutionInput
from mlops_common.observability import logger
from mlops_common.ports import HandledUpload, RunControl, TrainingRuns, UploadLedger
from mlops_common.settings import StartPipelineSettings


@dataclass(frozen=True)
class _Pending:
    """An accepted upload that no run covers yet."""

    message_id: str
    pk: str
    sk: str
    bucket: str
    attributes: dict[str, str]  # as recorded in the ledger


@dataclass
class UploadBatchReport:
    """What happened to one SQS batch (logged, turned into metrics, returned to SQS)."""

    failed_message_ids: list[str] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    malformed: int = 0
    covered: int = 0  # accepted, but already inside a claimed run's snapshot
    foreign: int = 0  # events of another bucket than this stack's
    run: str | None = None
    run_note: str | None = None

    def response(self) -> BatchResponse:
        return BatchResponse(
            batch_item_failures=[BatchItemFailure(item_identifier=m) for m in self.failed_message_ids]
        )


def process_upload_batch(
    messages: Sequence[UploadMessage],
    *,
    ledger: UploadLedger,
    runs: RunControl,
    pipeline: TrainingRuns,
    settings: StartPipelineSettings,
    now: datetime,
) -> UploadBatchReport:
    """Record each upload once, count the new ones as pending, start a run if none holds the lease."""
    batch = _Batch(
        ledger=ledger,
        settings=settings,
        expires_at=expiry_epoch(now, settings.ledger_retention_days * 24 * 60),
        covered_until=runs.pending_uploads().covered_until,
    )
    for record in messages:
        batch.record(record)
    report = batch.report
    if batch.pending:
        _count_and_start(batch.pending, report, runs=runs, pipeline=pipeline, settings=settings, now=now)
        for item in batch.pending:
            if item.message_id not in report.failed_message_ids:
                batch.mark(item, report.run or "pending", report.run_note or "pending")
    _write_marks(ledger, report, batch.marks)
    return report


@dataclass
class _Batch:
    """The per-message part of one batch: what each upload event is, recorded in the ledger."""

    ledger: UploadLedger
    settings: StartPipelineSettings
    expires_at: int
    covered_until: datetime | None
    report: UploadBatchReport = field(default_factory=UploadBatchReport)
    pending: list[_Pending] = field(default_factory=list)
    seen_in_batch: set[tuple[str, str]] = field(default_factory=set)
    marks: list[tuple[str, HandledUpload]] = field(default_factory=list)  # (message id, upload)

    def mark(self, item: _Pending, run: str, note: str) -> None:
        """Note the run that covers ``item``; the batch's marks are written together at its end."""
        upload = HandledUpload(item.pk, item.sk, item.attributes, self.expires_at, run, note)
        self.marks.append((item.message_id, upload))

    def record(self, record: UploadMessage) -> None:
        report, upload = self.report, record.upload
        if upload is None:
            # Fails alone: SQS redelivers it, then moves it to the DLQ, where it is kept.
            logger.error("malformed message", message_id=record.message_id, error=record.problem)
            report.malformed += 1
            report.failed_message_ids.append(record.message_id)
            return
        bucket = upload.detail.bucket.name
        if bucket != self.settings.data_bucket:
            # The rule matches only the stack's bucket; anything else reached the queue by mistake.
            logger.warning("ignored: not this stack's data bucket", bucket=bucket)
            report.foreign += 1
            return
        obj = upload.detail.object
        decision = classify_key(decode_event_key(obj.key), self.settings.incoming_prefix)
        attributes = {
            "status": "accepted" if decision.accepted else "rejected",
            "message_id": record.message_id,
            "event_id": upload.id,
            "event_key": obj.key,
            "event_time": upload.time.isoformat(),
            "version_id": obj.version_id or "",
            "source": decision.source or "",
            "label": decision.label or "",
            "reason": decision.reason or "",
        }
        item = _Pending(
            record.message_id,
            object_pk(bucket, decision.key),
            object_sk(obj.sequencer, obj.version_id, obj.etag),
            bucket,
            attributes,
        )
        try:
            seen = self.ledger.record_object(item.pk, item.sk, attributes, self.expires_at)
        except Exception:
            logger.exception("ledger write failed", message_id=record.message_id, key=decision.key)
            report.failed_message_ids.append(record.message_id)
            return

        if (item.pk, item.sk) in self.seen_in_batch:
            report.duplicates += 1
            logger.info("duplicate upload event within the batch", key=decision.key, sequencer=item.sk)
        elif not decision.accepted:
            report.rejected += 1
            logger.warning("upload rejected", key=decision.key, reason=decision.reason, new=seen.new)
        elif seen.handled:
            report.duplicates += 1
            logger.info("duplicate upload event, already handled", key=decision.key, sequencer=item.sk)
        elif self.covered_until is not None and upload.time <= self.covered_until:
            # Its event came late: a run already claimed a snapshot that holds it (LastModified is
            # not after that run's bound), so counting it would start a follow-up for nothing.
            report.covered += 1
            self.mark(item, "covered", "in a claimed snapshot")
        else:
            if seen.new:
                report.accepted += 1
            else:
                logger.info("upload seen before but not yet counted: retrying", key=decision.key)
            self.pending.append(item)
        self.seen_in_batch.add((item.pk, item.sk))


def _write_marks(
    ledger: UploadLedger, report: UploadBatchReport, marks: list[tuple[str, HandledUpload]]
) -> None:
    if not marks:
        return
    message_ids = {(upload.pk, upload.sk): message_id for message_id, upload in marks}
    try:
        unwritten = ledger.mark_handled([upload for _, upload in marks])
    except Exception:
        logger.exception("could not mark uploads handled", uploads=len(marks))
        unwritten = [upload for _, upload in marks]
    # Unmarked, the retry counts them again: a count too high only starts a run sooner.
    for upload in unwritten:
        logger.warning("upload not marked handled", key=upload.pk, sequencer=upload.sk)
        report.failed_message_ids.append(message_ids[(upload.pk, upload.sk)])


def _count_and_start(
    pending: list[_Pending],
    report: UploadBatchReport,
    *,
    runs: RunControl,
    pipeline: TrainingRuns,
    settings: StartPipelineSettings,
    now: datetime,
) -> None:
    name = run_name("upload", now, pipeline.state_machine_arn)
    lease_expires_at = expiry_epoch(now, settings.run_lease_minutes)
    took_lease = False
    try:
        runs.add_pending_uploads(len(pending), now)
        took_lease = runs.take_lease(name, "upload", now, lease_expires_at)
        if took_lease:
            pipeline.start(
                name,
                PipelineExecutionInput(
                    trigger="upload",
                    reason=f"{len(pending)} new upload(s) in {settings.data_bucket}",
                    requested_at=now,
                    objects=len(pending),
                ),
            )
            run, note = name, "started: it claims the uploads once they have settled"
        else:
            holder = runs.lease()
            run = holder.holder if holder else "the active run"
            note = f"pending: {run} holds the run lease; it claims these or its end starts the follow-up"
    except Exception:
        # Unmarked, the uploads are counted again on SQS's retry, which retries the start too.
        logger.exception("could not count the uploads or start the training run", run=name)
        if took_lease:
            runs.release_lease(name)
        report.failed_message_ids.extend(item.message_id for item in pending)
        return
    report.run, report.run_note = run, note
    logger.info("trigger decision", run=run, note=note, objects=len(pending))
