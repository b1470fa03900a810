"""Uploads -> ledger -> at most one training run per trigger window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mlops_common.aws_events import UploadMessage
from mlops_common.domain.keys import classify_key, decode_event_key, object_pk, object_sk
from mlops_common.domain.triggers import execution_name, expiry_epoch, window_start
from mlops_common.models import BatchItemFailure, BatchResponse, PipelineExecutionInput
from mlops_common.observability import logger
from mlops_common.ports import TrainingRuns, UploadLedger
from mlops_common.settings import StartPipelineSettings


@dataclass(frozen=True)
class _Pending:
    """An accepted upload that no run covers yet."""

    message_id: str
    pk: str
    sk: str
    bucket: str


@dataclass
class UploadBatchReport:
    """What happened to one SQS batch (logged, turned into metrics, returned to SQS)."""

    failed_message_ids: list[str] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    malformed: int = 0
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
    pipeline: TrainingRuns,
    settings: StartPipelineSettings,
    now: datetime,
) -> UploadBatchReport:
    """Record every upload of the batch once and start (or defer) one run for the new ones."""
    report = UploadBatchReport()
    expires_at = expiry_epoch(now, settings.ledger_retention_days * 24 * 60)
    pending: list[_Pending] = []
    in_this_batch: set[tuple[str, str]] = set()

    for record in messages:
        upload = record.upload
        if upload is None:
            # Fails alone: SQS redelivers it, then moves it to the DLQ, where it is kept.
            logger.error("malformed message", message_id=record.message_id, error=record.problem)
            report.malformed += 1
            report.failed_message_ids.append(record.message_id)
            continue

        bucket = upload.detail.bucket.name
        obj = upload.detail.object
        decision = classify_key(decode_event_key(obj.key), settings.incoming_prefix)
        pk = object_pk(bucket, decision.key)
        sk = object_sk(obj.sequencer, obj.version_id, obj.etag)
        attributes = {
            "status": "accepted" if decision.accepted else "rejected",
            "message_id": record.message_id,
            "event_id": upload.id,
            "event_key": obj.key,
            "version_id": obj.version_id or "",
            "source": decision.source or "",
            "label": decision.label or "",
            "reason": decision.reason or "",
        }
        try:
            seen = ledger.record_object(pk, sk, attributes, expires_at)
        except Exception:
            logger.exception("ledger write failed", message_id=record.message_id, key=decision.key)
            report.failed_message_ids.append(record.message_id)
            continue

        if (pk, sk) in in_this_batch:
            report.duplicates += 1
            logger.info("duplicate upload event within the batch", key=decision.key, sequencer=sk)
            continue
        in_this_batch.add((pk, sk))
        if not decision.accepted:
            report.rejected += 1
            logger.warning("upload rejected", key=decision.key, reason=decision.reason, new=seen.new)
        elif seen.handled:
            report.duplicates += 1
            logger.info("duplicate upload event, already handled", key=decision.key, sequencer=sk)
        else:
            if seen.new:
                report.accepted += 1
            else:
                logger.info("upload seen before but no run covers it yet: retrying", key=decision.key)
            pending.append(_Pending(record.message_id, pk, sk, bucket))

    if pending:
        _start_or_defer(pending, report, ledger=ledger, pipeline=pipeline, settings=settings, now=now)
    return report


def _start_or_defer(
    pending: list[_Pending],
    report: UploadBatchReport,
    *,
    ledger: UploadLedger,
    pipeline: TrainingRuns,
    settings: StartPipelineSettings,
    now: datetime,
) -> None:
    name = execution_name(
        "upload", window_start(now, settings.trigger_window_minutes), pipeline.state_machine_arn
    )
    try:
        running = pipeline.running_executions()
        if running:
            run, note = running[0], f"deferred: {running[0]} is running; the next run picks these up"
        else:
            buckets = sorted({item.bucket for item in pending})
            result = pipeline.start(
                name,
                PipelineExecutionInput(
                    trigger="upload",
                    reason=f"{len(pending)} new upload(s) in {', '.join(buckets)}",
                    requested_at=now,
                    objects=len(pending),
                ),
            )
            run = name
            note = (
                "started"
                if result.started
                else "window already used by an earlier batch; the next run picks these up"
            )
        ledger.record_window(
            name,
            {"run": run, "note": note, "objects": str(len(pending))},
            expiry_epoch(now, settings.ledger_retention_days * 24 * 60),
        )
    except Exception:
        # Leave the uploads pending in the ledger: SQS redelivers them and the retry tries again.
        logger.exception("could not start or defer the training run", window=name)
        report.failed_message_ids.extend(item.message_id for item in pending)
        return

    report.run, report.run_note = run, note
    logger.info("trigger decision", run=run, note=note, objects=len(pending))
    for item in pending:
        try:
            ledger.mark_handled(item.pk, item.sk, run=run, note=note)
        except Exception:
            logger.exception("could not mark upload handled", message_id=item.message_id)
            report.failed_message_ids.append(item.message_id)
