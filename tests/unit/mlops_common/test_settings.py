"""Settings come from the contract's environment variable names; resource names have no default."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from mlops_common.domain.deployment import InvalidDeploymentConfiguration
from mlops_common.settings import (
    DeploySettings,
    GateSettings,
    ObservabilitySettings,
    StartPipelineSettings,
    settings_for,
)


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    settings_for.cache_clear()
    yield
    settings_for.cache_clear()


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATE_MIN_ACCURACY", "0.97")
    monkeypatch.setenv("NORMAL_CLASS", "good")
    settings = GateSettings()
    assert (settings.gate_min_accuracy, settings.normal_class) == (0.97, "good")


def test_tunables_keep_defaults_for_local_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INCOMING_PREFIX", raising=False)
    settings = StartPipelineSettings(table_name="t", training_state_machine_arn="arn", data_bucket="d")
    assert settings.incoming_prefix == "incoming/"


def test_alarm_names_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOY_ALARM_NAMES", "errors, latency,,")
    settings = DeploySettings(endpoint_name="e", artifacts_bucket="b", kms_key_arn="")
    assert settings.alarm_names == ["errors", "latency"]


def test_a_missing_resource_name_fails_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINING_STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:x")
    monkeypatch.delenv("TABLE_NAME", raising=False)
    with pytest.raises(ValidationError) as caught:
        settings_for(StartPipelineSettings)
    assert caught.value.errors()[0]["loc"] == ("table_name",)
    assert "TABLE_NAME" in "\n".join(caught.value.__notes__)


def test_settings_are_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORMAL_CLASS", "good")
    first = settings_for(GateSettings)
    monkeypatch.setenv("NORMAL_CLASS", "other")
    assert settings_for(GateSettings) is first


@pytest.mark.parametrize(
    ("value", "disabled"),
    [
        ("true", True),
        (" TRUE ", True),
        ("1", True),
        ("yes", True),
        ("false", False),
        ("", False),
        ("0", False),
    ],
)
def test_trace_disabled_flag_is_read_as_powertools_reads_it(
    monkeypatch: pytest.MonkeyPatch, value: str, disabled: bool
) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", value)
    assert ObservabilitySettings().powertools_trace_disabled is disabled


def test_log_level_is_powertools_own_variable_not_the_legacy_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "ERROR")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    assert ObservabilitySettings().powertools_log_level == "DEBUG"
    monkeypatch.delenv("POWERTOOLS_LOG_LEVEL")
    assert ObservabilitySettings().powertools_log_level == "INFO"


def _deploy_settings() -> DeploySettings:
    return DeploySettings(endpoint_name="e", artifacts_bucket="b", kms_key_arn="")


def test_deployment_and_scaling_come_from_their_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DEPLOYMENT_STYLE": "linear",
        "ENDPOINT_INSTANCE_COUNT": "4",
        "LINEAR_STEP_PERCENT": "25",
        "LINEAR_WAIT_SECONDS": "120",
        "AUTOSCALING_MAX_INSTANCE_COUNT": "8",
    }.items():
        monkeypatch.setenv(name, value)
    settings = _deploy_settings()
    policy = settings.deployment_policy
    assert (policy.style, policy.linear_step_percent, policy.linear_wait_seconds) == ("linear", 25, 120)
    assert (settings.scaling.minimum, settings.scaling.maximum, settings.scaling.enabled) == (4, 8, True)
    settings.validate_deployment()


def test_the_defaults_are_a_deployment_aws_accepts(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DEPLOYMENT_STYLE", "ENDPOINT_INSTANCE_COUNT", "AUTOSCALING_MAX_INSTANCE_COUNT"):
        monkeypatch.delenv(name, raising=False)
    settings = _deploy_settings()
    assert (settings.deployment_style, settings.endpoint_instance_count) == ("all-at-once", 1)
    assert not settings.scaling.enabled
    settings.validate_deployment()


def test_an_unknown_style_fails_the_cold_start_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOYMENT_STYLE", "blue-green")
    monkeypatch.setenv("ENDPOINT_NAME", "e")
    monkeypatch.setenv("ARTIFACTS_BUCKET", "b")
    monkeypatch.setenv("KMS_KEY_ARN", "")
    with pytest.raises(ValidationError) as caught:
        settings_for(DeploySettings)
    assert "DEPLOYMENT_STYLE" in "\n".join(caught.value.__notes__)


def test_a_style_the_fleet_cannot_take_is_named_with_the_fleet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOYMENT_STYLE", "canary")
    monkeypatch.setenv("ENDPOINT_INSTANCE_COUNT", "1")
    with pytest.raises(InvalidDeploymentConfiguration) as refused:
        _deploy_settings().validate_deployment()
    assert "DeploymentStyle=canary" in str(refused.value)
    assert "EndpointInstanceCount=1" in str(refused.value)
