"""Lambda: SQS batch of S3 ``Object Created`` events -> pending uploads -> a run when none holds the lease."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from mlops_common.adapters.ledger import Ledger
from mlops_common.adapters.pipeline import TrainingPipeline
from mlops_common.adapters.run_ledger import RunLedger
from mlops_common.aws_events import parse_upload_batch
from mlops_common.observability import logger, metrics, tracer
from mlops_common.services.start_pipeline import process_upload_batch
from mlops_common.settings import StartPipelineSettings, settings_for

# Read at cold start: a missing variable fails the init, not a run halfway through.
SETTINGS = settings_for(StartPipelineSettings)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    messages = parse_upload_batch(event)
    report = process_upload_batch(
        messages,
        ledger=Ledger(SETTINGS.table_name),
        runs=RunLedger(SETTINGS.table_name),
        pipeline=TrainingPipeline(SETTINGS.training_state_machine_arn),
        settings=SETTINGS,
        now=datetime.now(UTC),
    )
    for name, value in (
        ("UploadsAccepted", report.accepted),
        ("UploadsRejected", report.rejected),
        ("UploadsDuplicate", report.duplicates),
        ("UploadsAlreadyCovered", report.covered),
        ("EventsOfAnotherBucket", report.foreign),
        ("MessagesMalformed", report.malformed),
        ("MessagesFailed", len(report.failed_message_ids)),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    return report.response().to_lambda()
