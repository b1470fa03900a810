"""Lambda: a run of either pipeline failed, timed out or stopped -> notify what failed, how to resume."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from mlops_common.adapters.execution_history import ExecutionHistoryReader
from mlops_common.adapters.notifications import Notifier
from mlops_common.aws_events import parse_execution_status_change
from mlops_common.observability import logger, metrics, tracer
from mlops_common.services.notify_failure import notify_failure
from mlops_common.settings import NotifyFailureSettings, settings_for

# Read at cold start: a missing variable fails the init, not a run halfway through.
SETTINGS = settings_for(NotifyFailureSettings)


@logger.inject_lambda_context(correlation_id_path="detail.name", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcome = notify_failure(
        parse_execution_status_change(event),
        pipelines={
            SETTINGS.training_state_machine_arn: "training",
            SETTINGS.batch_state_machine_arn: "batch",
        },
        histories=ExecutionHistoryReader(),
        notifications=Notifier(SETTINGS.topic_arn),
        environment=SETTINGS.environment,
    )
    metrics.add_metric(name=f"FailureNotification_{outcome.action}", unit=MetricUnit.Count, value=1)
    return outcome.to_json()
