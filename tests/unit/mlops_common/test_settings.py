"""Settings come from the contract's environment variable names; resource names have no default."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

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
