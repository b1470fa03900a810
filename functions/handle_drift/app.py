"""Lambda: this stack's Model Monitor violations or drift alarm -> one retraining per cooldown window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from mlops_common.adapters import aws
from mlops_common.adapters.ledger import Ledger
from mlops_common.adapters.notifications import Notifier
from mlops_common.adapters.pipeline import TrainingPipeline
from mlops_common.adapters.run_ledger import RunLedger
from mlops_common.adapters.s3 import ObjectStore
from mlops_common.adapters.sagemaker import SageMaker
from mlops_common.aws_events import DriftEvent, parse_drift_event
from mlops_common.observability import logger, metrics, tracer
from mlops_common.services.handle_drift import DriftServices, handle_drift_event
from mlops_common.settings import HandleDriftSettings, settings_for

# Read at cold start: a missing variable fails the init, not a run halfway through.
SETTINGS = settings_for(HandleDriftSettings)


def _handle(event: DriftEvent) -> dict[str, Any]:
    services = DriftServices(
        ledger=Ledger(SETTINGS.table_name),
        runs=RunLedger(SETTINGS.table_name),
        pipeline=TrainingPipeline(SETTINGS.training_state_machine_arn),
        sagemaker=SageMaker(),
        store=ObjectStore(),
        notifier=Notifier(SETTINGS.topic_arn),
    )
    outcome = handle_drift_event(event, services=services, settings=SETTINGS, now=datetime.now(UTC))
    metrics.add_metric(name=f"Drift_{outcome.action}", unit=MetricUnit.Count, value=1)
    return outcome.to_json()


@cache
def _idempotent_handle() -> tuple[Callable[..., dict[str, Any]], Any]:
    """``_handle`` made idempotent on the EventBridge event id (built on first use: it needs boto3).

    An async retry or a duplicate delivery of the same event then returns the first outcome
    instead of reading the report and notifying again.
    """
    from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    store = DynamoDBPersistenceLayer(
        table_name=SETTINGS.table_name,
        key_attr="pk",
        sort_key_attr="sk",
        expiry_attr="expires_at",
        boto3_client=aws.client("dynamodb"),
    )
    config = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=24 * 3600)
    wrapped = idempotent_function(data_keyword_argument="event", persistence_store=store, config=config)(
        _handle
    )
    return wrapped, config


# The EventBridge event id on every log line ties the logs of a retried delivery together.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Parsed before the idempotency layer: an event that is not understood leaves no record.
    drift_event = parse_drift_event(event)
    handle, config = _idempotent_handle()
    config.register_lambda_context(context)
    result: dict[str, Any] = handle(event=drift_event)
    return result
