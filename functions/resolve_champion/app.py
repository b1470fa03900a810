"""Lambda (ResolveChampion task): the approved model in service and the endpoint's config."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlops_common.adapters.sagemaker import SageMaker
from mlops_common.models import ResolveChampionInput
from mlops_common.observability import logger, metrics, tracer
from mlops_common.services.resolve_champion import resolve_champion
from mlops_common.settings import ResolveChampionSettings, settings_for

# Read at cold start: a missing variable fails the init, not a run halfway through.
SETTINGS = settings_for(ResolveChampionSettings)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ResolveChampionInput.model_validate(event or {})
    result = resolve_champion(sagemaker=SageMaker(), settings=SETTINGS)
    return result.to_json()
