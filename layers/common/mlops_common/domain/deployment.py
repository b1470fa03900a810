"""Names and request bodies for endpoint deployment and monitoring (pure: no SageMaker calls)."""

from __future__ import annotations

import hashlib
import math
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


def canary_instances(instance_count: int, canary_percent: int) -> int | None:
    """Instances of the canary for ``canary_percent`` of a fleet, or None when no canary fits.

    TrafficRoutingConfig's CanarySize "must be less than or equal to 50% of the variant's total
    instance count" and CapacitySize's Value is at least 1
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_TrafficRoutingConfig.html,
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CapacitySize.html), so a fleet of
    one instance has no valid canary. Otherwise the share is rounded up to whole instances (a
    canary is at least one instance) and capped at half the fleet.
    """
    largest = instance_count // 2
    if largest < 1:
        return None
    return min(max(math.ceil(instance_count * canary_percent / 100), 1), largest)


def traffic_routing(instance_count: int, canary_percent: int, canary_wait_seconds: int) -> dict[str, Any]:
    """A canary of whole instances, or all at once where the fleet is too small for one.

    INSTANCE_COUNT rather than CAPACITY_PERCENT: the count is what the 50 % bound is checked
    against, and it leaves no rounding to SageMaker.
    """
    canary = canary_instances(instance_count, canary_percent)
    if canary is None:
        # All at once still bakes: the alarms watch the new fleet until the old one is terminated
        # (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green-all-at-once.html).
        return {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": canary_wait_seconds}
    return {
        "Type": "CANARY",
        "CanarySize": {"Type": "INSTANCE_COUNT", "Value": canary},
        "WaitIntervalInSeconds": canary_wait_seconds,
    }


def blue_green_deployment_config(
    instance_count: int, canary_percent: int, canary_wait_seconds: int, alarm_names: list[str]
) -> dict[str, Any]:
    """Blue/green update (canary where the fleet allows one) that rolls back when any alarm fires.

    Canary traffic shifting: https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green-canary.html
    """
    config: dict[str, Any] = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": traffic_routing(
                instance_count, canary_percent, canary_wait_seconds
            ),
            # Keep the old fleet while the alarms can still roll back after full traffic shift; for
            # all at once this is the whole baking period.
            "TerminationWaitInSeconds": canary_wait_seconds,
        }
    }
    if alarm_names:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": name} for name in alarm_names]}
    return config
