"""The tracer sends traces (botocore patched) on Lambda only, and imports no X-Ray SDK elsewhere;
the logger takes ``POWERTOOLS_LOG_LEVEL``."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mlops_common
from mlops_common.observability import NoTraceProvider, tracer, tracing_enabled
from mlops_common.settings import ObservabilitySettings

LAYER_ROOT = Path(mlops_common.__file__).resolve().parent.parent
_TRACING_ENV = ("LAMBDA_TASK_ROOT", "AWS_SAM_LOCAL", "POWERTOOLS_TRACE_DISABLED")
_LOG_ENV = ("POWERTOOLS_LOG_LEVEL", "LOG_LEVEL", "AWS_LAMBDA_LOG_LEVEL")

# Runs in a fresh interpreter: Powertools keeps the Tracer's configuration in class state, and
# whether the X-Ray SDK was imported is only meaningful in a process that imported nothing else.
_PROBE = """
import json, sys
import wrapt
from mlops_common.observability import tracer
from botocore.client import BaseClient
print(json.dumps({
    "disabled": tracer.disabled,
    "provider_module": type(tracer.provider).__module__,
    "xray_imported": "aws_xray_sdk.core" in sys.modules,
    # X-Ray patches botocore by wrapping this method with wrapt.
    "botocore_patched": isinstance(BaseClient.__dict__["_make_api_call"], wrapt.FunctionWrapper),
}))
"""


_LOG_LEVEL_PROBE = """
import json
from mlops_common.observability import logger
print(json.dumps({"log_level": logger.log_level}))
"""


def _probe(probe: str = _PROBE, **env: str) -> dict[str, object]:
    clean = {key: value for key, value in os.environ.items() if key not in (*_TRACING_ENV, *_LOG_ENV)}
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        env={**clean, "PYTHONPATH": str(LAYER_ROOT), "AWS_DEFAULT_REGION": "us-east-1", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(completed.stdout.splitlines()[-1])
    return result


@pytest.fixture(name="outside_lambda")
def outside_lambda_fixture(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in _TRACING_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_tracing_is_off_outside_lambda(outside_lambda: pytest.MonkeyPatch) -> None:
    assert not tracing_enabled(ObservabilitySettings())


def test_tracing_is_on_in_lambda(outside_lambda: pytest.MonkeyPatch) -> None:
    outside_lambda.setenv("LAMBDA_TASK_ROOT", "/var/task")
    assert tracing_enabled(ObservabilitySettings())


def test_trace_disabled_variable_turns_tracing_off_in_lambda(outside_lambda: pytest.MonkeyPatch) -> None:
    outside_lambda.setenv("LAMBDA_TASK_ROOT", "/var/task")
    outside_lambda.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    assert not tracing_enabled(ObservabilitySettings())


def test_sam_local_does_not_trace(outside_lambda: pytest.MonkeyPatch) -> None:
    outside_lambda.setenv("LAMBDA_TASK_ROOT", "/var/task")
    outside_lambda.setenv("AWS_SAM_LOCAL", "true")
    assert not tracing_enabled(ObservabilitySettings())


def test_untraced_process_never_imports_the_xray_sdk() -> None:
    probe = _probe()
    assert probe == {
        "disabled": True,
        "provider_module": "mlops_common.observability",
        "xray_imported": False,
        "botocore_patched": False,
    }


def test_lambda_process_traces_with_xray_and_patches_botocore() -> None:
    probe = _probe(LAMBDA_TASK_ROOT="/var/task")
    assert probe["disabled"] is False
    assert str(probe["provider_module"]).startswith("aws_xray_sdk")
    assert probe["botocore_patched"] is True


def test_untraced_handler_returns_its_result() -> None:
    @tracer.capture_lambda_handler
    def handler(event: dict[str, int], context: object) -> dict[str, int]:
        return {"doubled": event["value"] * 2}

    assert handler({"value": 21}, None) == {"doubled": 42}


def test_untraced_handler_raises_its_error() -> None:
    @tracer.capture_lambda_handler
    def handler(event: dict[str, int], context: object) -> None:
        raise LookupError("missing")

    with pytest.raises(LookupError, match="missing"):
        handler({}, None)


def test_no_trace_provider_segments_accept_annotations() -> None:
    with NoTraceProvider().in_subsegment(name="## work") as segment:
        segment.put_annotation(key="ColdStart", value=True)
        segment.put_metadata(key="response", value={"any": "thing"})


def test_logger_takes_powertools_log_level() -> None:
    assert _probe(_LOG_LEVEL_PROBE, POWERTOOLS_LOG_LEVEL="DEBUG") == {"log_level": logging.DEBUG}


def test_legacy_log_level_variable_is_not_read() -> None:
    assert _probe(_LOG_LEVEL_PROBE, LOG_LEVEL="ERROR") == {"log_level": logging.INFO}
