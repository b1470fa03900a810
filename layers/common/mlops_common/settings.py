"""Typed Lambda settings, read from the environment once per cold start.

Each function loads only the settings class it needs (``settings_for(GateSettings)``), at import, so
a missing variable for one function never breaks another, and breaks its own function at cold start
rather than at the first call that uses it. Resource names (tables, buckets, ARNs, the endpoint)
have no default: a misspelt or missing variable in the template fails with pydantic's validation
error naming it, instead of a function that quietly talks to a resource of a made-up name.
Tunables keep the template's defaults. Names in docs/contracts.md;
tests/unit/functions/test_settings_contract.py checks template.yaml provides every required one.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mlops_common.domain.autoscaling import ScalingRange
from mlops_common.domain.deployment import (
    DeploymentPolicy,
    DeploymentStyle,
    InvalidDeploymentConfiguration,
)

_TRUE = {"1", "true", "yes", "on"}


class _Settings(BaseSettings):
    # Field names map to upper-case environment variables (``table_name`` <- ``TABLE_NAME``).
    model_config = SettingsConfigDict(extra="ignore", frozen=True, case_sensitive=False)

    environment: str = "local"


class ObservabilitySettings(_Settings):
    """What Powertools' logger, tracer and metrics are configured with (``observability``)."""

    powertools_service_name: str = "defect-mlops"
    powertools_metrics_namespace: str = "DefectMlops"
    # Powertools' own name for it; the legacy ``LOG_LEVEL`` is not read.
    powertools_log_level: str = "INFO"
    powertools_trace_disabled: bool = False
    # Set by the Lambda runtime (``LAMBDA_TASK_ROOT``) and by ``sam local`` (``AWS_SAM_LOCAL``).
    lambda_task_root: str = ""
    aws_sam_local: str = ""

    @field_validator("powertools_trace_disabled", mode="before")
    @classmethod
    def _lenient_flag(cls, value: Any) -> Any:
        # Powertools' reading of the flag: any other text (an empty one too) means "not disabled".
        if isinstance(value, str):
            return value.strip().lower() in _TRUE
        return value


class _StateMachineSettings(_Settings):
    table_name: str
    training_state_machine_arn: str


class _RunLeaseSettings(_StateMachineSettings):
    # Expiry of the one-run lease: the safety net for a run whose end was never observed.
    run_lease_minutes: int = 1440


class StartPipelineSettings(_RunLeaseSettings):
    # Only this stack's bucket starts runs: an "Object Created" event of any other is ignored.
    data_bucket: str
    incoming_prefix: str = "incoming/"
    # How long ledger records of seen uploads are kept (DynamoDB TTL).
    ledger_retention_days: int = 30


class BeginRunSettings(_Settings):
    table_name: str
    trigger_quiet_seconds: int = 300
    trigger_max_delay_seconds: int = 3600
    run_lease_minutes: int = 1440


class RunEndedSettings(_RunLeaseSettings):
    pass


class NotifyFailureSettings(_Settings):
    topic_arn: str
    training_state_machine_arn: str
    batch_state_machine_arn: str


class HandleDriftSettings(_RunLeaseSettings):
    topic_arn: str
    endpoint_name: str
    # Only this stack's schedule and alarm are drift signals (docs/contracts.md).
    monitoring_schedule_name: str
    drift_alarm_name: str
    drift_cooldown_minutes: int = 1440


class CheckDatasetSettings(_Settings):
    data_bucket: str
    min_images_per_class: int = 20


class PlanRunSettings(_Settings):
    data_bucket: str
    artifacts_bucket: str


class ResolveChampionSettings(_Settings):
    model_package_group: str
    endpoint_name: str


class ClassifyTrainingFailureSettings(_Settings):
    """Nothing of its own: the failure it is given names the job, SageMaker says the rest."""


class GateSettings(_Settings):
    normal_class: str = "ok"
    gate_min_accuracy: float = 0.9
    gate_min_defect_recall: float = 0.85
    gate_champion_margin: float = 0.01


class _AutoscalingSettings(_Settings):
    """The endpoint's scaling range (``domain.autoscaling.ScalingRange``): its minimum is the fleet."""

    endpoint_instance_count: int = 1
    autoscaling_max_instance_count: int = 1  # equal to the minimum: autoscaling off
    autoscaling_target_invocations: float = 70.0
    autoscaling_scale_in_cooldown_seconds: int = 300
    autoscaling_scale_out_cooldown_seconds: int = 300

    @property
    def scaling(self) -> ScalingRange:
        """The range and policy; ``validate()`` names what Application Auto Scaling would refuse."""
        return ScalingRange(
            minimum=self.endpoint_instance_count,
            maximum=self.autoscaling_max_instance_count,
            target_invocations=self.autoscaling_target_invocations,
            scale_in_cooldown_seconds=self.autoscaling_scale_in_cooldown_seconds,
            scale_out_cooldown_seconds=self.autoscaling_scale_out_cooldown_seconds,
        )


class DeploySettings(_AutoscalingSettings):
    endpoint_name: str
    artifacts_bucket: str
    # Required although it may be empty (no customer key): a misspelt name must not silently
    # deploy without the stack's key.
    kms_key_arn: str
    endpoint_instance_type: str = "ml.m5.large"
    data_capture_percent: int = 100
    # An unknown style fails the cold start naming DEPLOYMENT_STYLE; whether the style fits the
    # fleet is checked by deploy_model before any AWS call (``domain.deployment.DeploymentPolicy``).
    deployment_style: DeploymentStyle = "all-at-once"
    canary_traffic_percent: int = 10
    canary_wait_seconds: int = 600
    linear_step_percent: int = 25
    linear_wait_seconds: int = 300
    rolling_batch_percent: int = 25
    rolling_wait_seconds: int = 300
    rollback_batch_percent: int = 100
    deploy_alarm_names: str = ""

    @property
    def alarm_names(self) -> list[str]:
        """``DEPLOY_ALARM_NAMES`` split on commas, blanks dropped."""
        return [name.strip() for name in self.deploy_alarm_names.split(",") if name.strip()]

    @property
    def deployment_policy(self) -> DeploymentPolicy:
        """The update policy of ``DEPLOYMENT_STYLE`` with its sizes and waits."""
        return DeploymentPolicy(
            style=self.deployment_style,
            canary_percent=self.canary_traffic_percent,
            canary_wait_seconds=self.canary_wait_seconds,
            linear_step_percent=self.linear_step_percent,
            linear_wait_seconds=self.linear_wait_seconds,
            rolling_batch_percent=self.rolling_batch_percent,
            rolling_wait_seconds=self.rolling_wait_seconds,
            rollback_batch_percent=self.rollback_batch_percent,
        )

    def validate_deployment(self) -> None:
        """Every problem of the deployment and scaling parameters in one ``InvalidDeploymentConfiguration``.

        The style is checked against ``EndpointInstanceCount``, the smallest fleet an update can meet
        (autoscaling never goes below it, and every AWS bound that fits it fits a larger fleet).
        """
        found = self.deployment_policy.problems(self.endpoint_instance_count) + self.scaling.problems()
        if found:
            raise InvalidDeploymentConfiguration("; ".join(found))


class MonitoringSettings(_AutoscalingSettings):
    artifacts_bucket: str
    sagemaker_role_arn: str
    monitor_image_uri: str
    record_preprocessor_uri: str
    kms_key_arn: str  # may be empty; see DeploySettings
    monitoring_schedule_expression: str = "cron(0 * ? * * *)"
    monitoring_instance_type: str = "ml.m5.large"


SettingsT = TypeVar("SettingsT", bound=_Settings)


def environment_variable(field_name: str) -> str:
    """The environment variable a settings field is read from."""
    return field_name.upper()


@cache
def settings_for(settings_class: type[SettingsT]) -> SettingsT:
    """The settings of one kind, read from the environment on first use and then reused.

    A missing or invalid variable raises pydantic's ``ValidationError``, with a note that names the
    environment variables (pydantic names the fields).
    """
    try:
        return settings_class()
    except ValidationError as exc:
        names = sorted({environment_variable(str(error["loc"][0])) for error in exc.errors() if error["loc"]})
        exc.add_note(f"{settings_class.__name__}: set the environment variable(s) {', '.join(names)}")
        raise
