"""Lambda (Deploy task): create the endpoint or start an update in the template's deployment style."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlops_common.adapters.autoscaling import ApplicationAutoScaling
from mlops_common.adapters.sagemaker import SageMaker
from mlops_common.models import DeployInput
from mlops_common.observability import logger, metrics, tracer
from mlops_common.services.deploy_model import deploy_model
from mlops_common.settings import DeploySettings, settings_for

# Read at cold start: a missing variable fails the init, not a run halfway through.
SETTINGS = settings_for(DeploySettings)


# Every log line carries the Step Functions execution name that the task input holds.
@logger.inject_lambda_context(correlation_id_path="execution_name", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = DeployInput.model_validate(event)
    result = deploy_model(request, sagemaker=SageMaker(), scaling=ApplicationAutoScaling(), settings=SETTINGS)
    return result.to_json()
