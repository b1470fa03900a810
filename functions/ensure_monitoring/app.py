"""Lambda (EnsureMonitoring task): data-quality schedule on the endpoint with the new baseline."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlops_common.adapters.sagemaker import SageMaker
from mlops_common.models import MonitoringInput
from mlops_common.observability import logger, metrics, tracer
from mlops_common.services.ensure_monitoring import ensure_monitoring
from mlops_common.settings import MonitoringSettings, settings_for


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = ensure_monitoring(
        MonitoringInput.model_validate(event),
        sagemaker=SageMaker(),
        settings=settings_for(MonitoringSettings),
    )
    return result.model_dump(mode="json")
