"""Lambda: a training run ended (or the reconcile tick) -> release the lease, start the follow-up run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from mlops_common.adapters.pipeline import TrainingPipeline
from mlops_common.adapters.run_ledger import RunLedger
from mlops_common.aws_events import parse_run_ended_event
from mlops_common.observability import logger, metrics, tracer
from mlops_common.services.run_ended import handle_run_event
from mlops_common.settings import RunEndedSettings, settings_for

# Read at cold start: a missing variable fails the init, not a run halfway through.
SETTINGS = settings_for(RunEndedSettings)


@logger.inject_lambda_context(correlation_id_path="detail.name", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcome = handle_run_event(
        parse_run_ended_event(event),
        runs=RunLedger(SETTINGS.table_name),
        pipeline=TrainingPipeline(SETTINGS.training_state_machine_arn),
        lease_minutes=SETTINGS.run_lease_minutes,
        now=datetime.now(UTC),
    )
    metrics.add_metric(name=f"RunEnded_{outcome.action}", unit=MetricUnit.Count, value=1)
    return outcome.to_json()
