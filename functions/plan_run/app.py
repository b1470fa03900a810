"""Lambda (PlanRun task): the run's settings with its overrides, checked, and what follows from them."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlops_common.models import PlanRunInput
from mlops_common.observability import logger, metrics, tracer
from mlops_common.services.plan_run import plan_run
from mlops_common.settings import PlanRunSettings, settings_for

# Read at cold start: a missing variable fails the init, not a run halfway through.
SETTINGS = settings_for(PlanRunSettings)


@logger.inject_lambda_context(correlation_id_path="execution_name", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A malformed request is the state machine's bug, not the run's: pydantic's error says so.
    return plan_run(PlanRunInput.model_validate(event), settings=SETTINGS).to_json()
