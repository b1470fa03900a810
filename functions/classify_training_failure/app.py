"""Lambda (the ClassifyTrainingFailure task): did a failed spot job lack capacity?"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from mlops_common.adapters.sagemaker import SageMaker
from mlops_common.models import ClassifyTrainingFailureInput
from mlops_common.observability import logger, metrics, tracer
from mlops_common.services.classify_training_failure import classify_training_failure
from mlops_common.settings import ClassifyTrainingFailureSettings, settings_for

# Read at cold start: a missing variable fails the init, not a run halfway through.
SETTINGS = settings_for(ClassifyTrainingFailureSettings)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = ClassifyTrainingFailureInput.model_validate(event)
    result = classify_training_failure(request, sagemaker=SageMaker())
    # A capacity failure sends the run to on-demand capacity: how often spot falls through.
    name = "SpotCapacityFailures" if result.capacity else "SpotOtherFailures"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    return result.to_json()
