"""Settings come from the contract's environment variable names."""

from __future__ import annotations

import pytest

from mlops_common.settings import DeploySettings, GateSettings, StartPipelineSettings


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATE_MIN_ACCURACY", "0.97")
    monkeypatch.setenv("NORMAL_CLASS", "good")
    settings = GateSettings()
    assert (settings.gate_min_accuracy, settings.normal_class) == (0.97, "good")


def test_defaults_allow_local_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INCOMING_PREFIX", raising=False)
    assert StartPipelineSettings().incoming_prefix == "incoming/"


def test_alarm_names_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOY_ALARM_NAMES", "errors, latency,,")
    assert DeploySettings().alarm_names == ["errors", "latency"]
