"""Lambda (BeginRun task): take the one-run lease, then claim the uploads once they have settled."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from mlops_common.adapters.run_ledger import RunLedger
from mlops_common.domain.run_control import QuietPolicy
from mlops_common.models import BeginRunRequest
from mlops_common.observability import logger, metrics, tracer
from mlops_common.services.begin_run import begin_run
from mlops_common.settings import BeginRunSettings, settings_for

# Read at cold start: a missing variable fails the init, not a run halfway through.
SETTINGS = settings_for(BeginRunSettings)
POLICY = QuietPolicy(
    quiet_seconds=SETTINGS.trigger_quiet_seconds, max_delay_seconds=SETTINGS.trigger_max_delay_seconds
)


@logger.inject_lambda_context(correlation_id_path="execution_name", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = BeginRunRequest.model_validate(event)
    outcome = begin_run(
        request,
        runs=RunLedger(SETTINGS.table_name),
        policy=POLICY,
        lease_minutes=SETTINGS.run_lease_minutes,
        now=datetime.now(UTC),
    )
    metrics.add_metric(name=f"RunBegin_{outcome.action}", unit=MetricUnit.Count, value=1)
    return outcome.to_json()
