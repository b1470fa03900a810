"""Lambda (Deploy task): create the endpoint or start a canary blue/green update."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlops_common.adapters.sagemaker import SageMaker
from mlops_common.models import DeployInput
from mlops_common.observability import logger, metrics, tracer
from mlops_common.services.deploy_model import deploy_model
from mlops_common.settings import DeploySettings, settings_for


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = deploy_model(
        DeployInput.model_validate(event), sagemaker=SageMaker(), settings=settings_for(DeploySettings)
    )
    return result.model_dump(mode="json")
