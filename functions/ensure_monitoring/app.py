"""Lambda (EnsureMonitoring task): data-quality schedule with the new baseline, and autoscaling."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlops_common.adapters.autoscaling import ApplicationAutoScaling
from mlops_common.adapters.sagemaker import SageMaker
from mlops_common.models import MonitoringInput
from mlops_common.observability import logger, metrics, tracer
from mlops_common.services.ensure_monitoring import ensure_monitoring
from mlops_common.settings import MonitoringSettings, settings_for

# Read at cold start: a missing variable fails the init, not a run halfway through.
SETTINGS = settings_for(MonitoringSettings)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = MonitoringInput.model_validate(event)
    result = ensure_monitoring(
        request, sagemaker=SageMaker(), scaling=ApplicationAutoScaling(), settings=SETTINGS
    )
    return result.to_json()
