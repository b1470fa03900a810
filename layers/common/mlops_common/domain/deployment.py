"""Names and request bodies for endpoint deployment and monitoring (pure: no SageMaker calls)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

MAX_SAGEMAKER_NAME = 63
VARIANT_NAME = "AllTraffic"


def _sagemaker_safe(text: str) -> str:
    cleaned = re.sub(r"[^a-zA-Z0-9-]+", "-", text).strip("-")
    return re.sub(r"-{2,}", "-", cleaned) or "x"


def endpoint_config_name(model_name: str, execution_name: str) -> str:
    """A new config name per model and execution, <= 63 characters, stable for retries."""
    digest = hashlib.sha256(f"{model_name}|{execution_name}".encode()).hexdigest()[:8]
    stem = _sagemaker_safe(model_name)[: MAX_SAGEMAKER_NAME - len(digest) - 1].rstrip("-")
    return f"{stem}-{digest}"


def monitoring_schedule_name(endpoint_name: str) -> str:
    """One data-quality schedule per endpoint."""
    suffix = "-data-quality"
    return _sagemaker_safe(endpoint_name)[: MAX_SAGEMAKER_NAME - len(suffix)].rstrip("-") + suffix


def data_capture_config(artifacts_bucket: str, sampling_percent: int, kms_key_arn: str) -> dict[str, Any]:
    """Capture requests and responses under ``s3://<artifacts>/capture/<endpoint>/``.

    SageMaker itself appends ``<endpoint>/<variant>/yyyy/mm/dd/hh/`` to the destination, so the
    destination is the ``capture`` prefix and the files land under ``capture/<endpoint>/``.
    """
    config: dict[str, Any] = {
        "EnableCapture": True,
        "InitialSamplingPercentage": sampling_percent,
        "DestinationS3Uri": f"s3://{artifacts_bucket}/capture",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
    }
    if kms_key_arn:
        config["KmsKeyId"] = kms_key_arn
    return config


def blue_green_deployment_config(
    canary_percent: int, canary_wait_seconds: int, alarm_names: list[str]
) -> dict[str, Any]:
    """Canary blue/green update that rolls back on its own when any alarm fires."""
    config: dict[str, Any] = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": canary_percent},
                "WaitIntervalInSeconds": canary_wait_seconds,
            },
            # Keep the old fleet while the alarms can still roll back after full traffic shift.
            "TerminationWaitInSeconds": canary_wait_seconds,
        }
    }
    if alarm_names:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": name} for name in alarm_names]}
    return config
