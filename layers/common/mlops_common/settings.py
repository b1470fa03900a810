"""Typed Lambda settings, read from the environment once per cold start.

Each function loads only the settings class it needs (``settings_for(GateSettings)``), so a missing
variable for one function never breaks another. Defaults make local runs and tests work without a
template; on AWS the template sets every variable (names in docs/contracts.md).
"""

from __future__ import annotations

from functools import cache
from typing import TypeVar

from pydantic_settings import BaseSettings, SettingsConfigDict


class _Settings(BaseSettings):
    # Field names map to upper-case environment variables (``table_name`` <- ``TABLE_NAME``).
    model_config = SettingsConfigDict(extra="ignore", frozen=True, case_sensitive=False)

    environment: str = "local"


class ObservabilitySettings(_Settings):
    powertools_service_name: str = "defect-mlops"
    powertools_metrics_namespace: str = "DefectMlops"


class _StateMachineSettings(_Settings):
    table_name: str = "pipeline-table"
    training_state_machine_arn: str = "arn:aws:states:us-east-1:123456789012:stateMachine:training-pipeline"


class StartPipelineSettings(_StateMachineSettings):
    incoming_prefix: str = "incoming/"
    trigger_window_minutes: int = 15
    # How long ledger records of seen uploads are kept (DynamoDB TTL).
    ledger_retention_days: int = 30


class HandleDriftSettings(_StateMachineSettings):
    topic_arn: str = "arn:aws:sns:us-east-1:123456789012:pipeline-notifications"
    drift_cooldown_minutes: int = 360
    endpoint_name: str = "defect-classifier"


class CheckDatasetSettings(_Settings):
    data_bucket: str = "data-bucket"
    min_images_per_class: int = 20


class ResolveChampionSettings(_Settings):
    model_package_group: str = "defect-classifier"
    endpoint_name: str = "defect-classifier"


class GateSettings(_Settings):
    normal_class: str = "ok"
    gate_min_accuracy: float = 0.9
    gate_min_defect_recall: float = 0.85
    gate_champion_margin: float = 0.01


class DeploySettings(_Settings):
    endpoint_name: str = "defect-classifier"
    artifacts_bucket: str = "artifacts-bucket"
    endpoint_instance_type: str = "ml.m5.large"
    endpoint_instance_count: int = 1
    data_capture_percent: int = 100
    canary_traffic_percent: int = 10
    canary_wait_seconds: int = 300
    deploy_alarm_names: str = ""
    kms_key_arn: str = ""

    @property
    def alarm_names(self) -> list[str]:
        """``DEPLOY_ALARM_NAMES`` split on commas, blanks dropped."""
        return [name.strip() for name in self.deploy_alarm_names.split(",") if name.strip()]


class MonitoringSettings(_Settings):
    artifacts_bucket: str = "artifacts-bucket"
    sagemaker_role_arn: str = "arn:aws:iam::123456789012:role/sagemaker-execution"
    monitoring_schedule_expression: str = "cron(0 * ? * * *)"
    monitoring_instance_type: str = "ml.m5.large"
    monitor_image_uri: str = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
    record_preprocessor_uri: str = "s3://artifacts-bucket/code/monitoring/record_preprocessor.py"
    kms_key_arn: str = ""


SettingsT = TypeVar("SettingsT", bound=_Settings)


@cache
def settings_for(settings_class: type[SettingsT]) -> SettingsT:
    """The settings of one kind, read from the environment on first use and then reused."""
    return settings_class()
