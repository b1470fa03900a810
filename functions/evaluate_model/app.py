"""Lambda (Gate task): does the challenger pass? Returns the decision with every reason."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from mlops_common.adapters.s3 import ObjectStore
from mlops_common.models import GateInput
from mlops_common.observability import logger, metrics, tracer
from mlops_common.services.evaluate_model import evaluate_model
from mlops_common.settings import GateSettings, settings_for

# Read at cold start: a missing variable fails the init, not a run halfway through.
SETTINGS = settings_for(GateSettings)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = GateInput.model_validate(event)
    decision = evaluate_model(request, store=ObjectStore(), settings=SETTINGS)
    metrics.add_metric(name="GatePassed" if decision.passed else "GateFailed", unit=MetricUnit.Count, value=1)
    logger.info("gate decision", passed=decision.passed, reasons=decision.reasons)
    return decision.to_json()
