"""Names and request bodies for endpoint deployment and monitoring (pure: no SageMaker calls)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

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


# --- deployment guardrails: how an update shifts traffic ------------------------------------------
#
# DeploymentConfig (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DeploymentConfig.html)
# holds one update policy and the auto-rollback alarms:
# - BlueGreenUpdatePolicy
#   (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_BlueGreenUpdatePolicy.html): a
#   whole new fleet, traffic shifted by its TrafficRoutingConfig
#   (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_TrafficRoutingConfig.html):
#   ALL_AT_ONCE, CANARY (CanarySize "must be less than or equal to 50% of the variant's total
#   instance count") or LINEAR (LinearStepSize "must be 10-50% of the variant's total instance
#   count"); WaitIntervalInSeconds and TerminationWaitInSeconds are 0-3600.
# - RollingUpdatePolicy
#   (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_RollingUpdatePolicy.html):
#   batches of MaximumBatchSize ("between 5% to 50% of the variant's total instance count"),
#   RollbackMaximumBatchSize optional (absent: the whole old fleet at once).
# Every size is a CapacitySize
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CapacitySize.html) whose Value is at
# least 1: INSTANCE_COUNT is used here, so the bounds are checked in whole instances and nothing is
# left to SageMaker's rounding.

DeploymentStyle = Literal["all-at-once", "canary", "linear", "rolling"]
DEPLOYMENT_STYLES: tuple[DeploymentStyle, ...] = ("all-at-once", "canary", "linear", "rolling")
# Share of the variant's instances a step may take, in percent: (lowest, highest).
CANARY_BOUNDS = (0, 50)
LINEAR_BOUNDS = (10, 50)
ROLLING_BOUNDS = (5, 50)
MAX_WAIT_SECONDS = 3600


class InvalidDeploymentConfiguration(ValueError):
    """Deployment parameters SageMaker would refuse; the message names the template parameters."""


class EndpointBusy(RuntimeError):
    """The endpoint is being updated or scaled: SageMaker refuses UpdateEndpoint until it is InService."""


def step_instances(instance_count: int, percent: int, bounds: tuple[int, int]) -> int | None:
    """``percent`` of the fleet in whole instances within AWS's ``bounds``, or None when none fits.

    The share is rounded up (a step is at least one instance) and capped at the highest share; a
    fleet too small to hold a step between the lowest and the highest share has none.
    """
    low, high = bounds
    smallest = max(1, -(-instance_count * low // 100))
    largest = instance_count * high // 100
    if smallest > largest:
        return None
    wanted = -(-instance_count * percent // 100)
    return min(max(wanted, smallest), largest)


@dataclass(frozen=True)
class DeploymentPolicy:
    """How an update reaches the endpoint: the ``DeploymentStyle`` parameter and its sizes and waits."""

    style: DeploymentStyle = "all-at-once"
    canary_percent: int = 10
    canary_wait_seconds: int = 600
    linear_step_percent: int = 25
    linear_wait_seconds: int = 300
    rolling_batch_percent: int = 25
    rolling_wait_seconds: int = 300
    rollback_batch_percent: int = 100  # 100: the whole old fleet at once, SageMaker's default

    def problems(self, instance_count: int) -> list[str]:
        """What SageMaker would refuse for a fleet of ``instance_count``, in template parameter names."""
        found: list[str] = []
        if self.style not in DEPLOYMENT_STYLES:
            found.append(f"DeploymentStyle={self.style!r} is not one of {', '.join(DEPLOYMENT_STYLES)}")
            return found
        for name, value, (low, high) in (
            ("CanaryTrafficPercent", self.canary_percent, (1, CANARY_BOUNDS[1])),
            ("LinearStepPercent", self.linear_step_percent, LINEAR_BOUNDS),
            ("RollingBatchPercent", self.rolling_batch_percent, ROLLING_BOUNDS),
            ("RollbackBatchPercent", self.rollback_batch_percent, (1, 100)),
            ("CanaryWaitSeconds", self.canary_wait_seconds, (0, MAX_WAIT_SECONDS)),
            ("LinearWaitSeconds", self.linear_wait_seconds, (0, MAX_WAIT_SECONDS)),
            ("RollingWaitSeconds", self.rolling_wait_seconds, (0, MAX_WAIT_SECONDS)),
        ):
            if not low <= value <= high:
                found.append(f"{name}={value} is outside {low}-{high}")
        if self.style != "all-at-once" and self._step(instance_count) is None:
            found.append(
                f"DeploymentStyle={self.style} needs an endpoint of at least 2 instances, and "
                f"EndpointInstanceCount={instance_count}: {self._bound_text()}. Use "
                "DeploymentStyle=all-at-once or a larger EndpointInstanceCount"
            )
        return found

    def validate(self, instance_count: int) -> None:
        """Raise ``InvalidDeploymentConfiguration`` naming every problem (before any AWS call)."""
        found = self.problems(instance_count)
        if found:
            raise InvalidDeploymentConfiguration("; ".join(found))

    def deployment_config(self, instance_count: int, alarm_names: Sequence[str]) -> dict[str, Any]:
        """The UpdateEndpoint ``DeploymentConfig`` for a new fleet of ``instance_count``.

        Every style rolls back when any alarm fires (AutoRollbackConfiguration), during each step's
        wait and, for blue/green, during the final bake before the old fleet is terminated.
        """
        self.validate(instance_count)
        config: dict[str, Any]
        if self.style == "rolling":
            policy: dict[str, Any] = {
                "MaximumBatchSize": _instance_count(self._step(instance_count)),
                "WaitIntervalInSeconds": self.rolling_wait_seconds,
            }
            if self.rollback_batch_percent < 100:
                rollback = max(1, -(-instance_count * self.rollback_batch_percent // 100))
                policy["RollbackMaximumBatchSize"] = _instance_count(rollback)
            config = {"RollingUpdatePolicy": policy}
        else:
            wait = self.linear_wait_seconds if self.style == "linear" else self.canary_wait_seconds
            routing: dict[str, Any] = {
                "Type": self.style.upper().replace("-", "_"),
                "WaitIntervalInSeconds": wait,
            }
            if self.style == "canary":
                routing["CanarySize"] = _instance_count(self._step(instance_count))
            elif self.style == "linear":
                routing["LinearStepSize"] = _instance_count(self._step(instance_count))
            # The old fleet stays while the alarms can still roll back after the last shift; for
            # all at once this is the whole baking period
            # (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green-all-at-once.html).
            config = {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": routing,
                    "TerminationWaitInSeconds": wait,
                }
            }
        if alarm_names:
            config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": name} for name in alarm_names]}
        return config

    def bake_seconds(self, instance_count: int) -> int:
        """The least time an update of ``instance_count`` spends in its bakes before the endpoint is
        InService again (provisioning comes on top).

        Blue/green waits WaitIntervalInSeconds between traffic shifts (canary: one; linear: one per
        step but the last; all at once: its bake) and TerminationWaitInSeconds (here the same wait)
        before the old fleet goes (API_TrafficRoutingConfig, API_BlueGreenUpdatePolicy); rolling
        bakes each batch (API_RollingUpdatePolicy).
        """
        steps = -(-instance_count // (self._step(instance_count) or instance_count))
        if self.style == "rolling":
            return steps * self.rolling_wait_seconds
        if self.style == "linear":
            return steps * self.linear_wait_seconds
        return 2 * self.canary_wait_seconds

    def polling_problem(self, instance_count: int, poll_seconds: int, max_polls: int) -> str | None:
        """Why the pipeline would stop waiting before an update could end, or None."""
        bake = self.bake_seconds(instance_count)
        budget = poll_seconds * max_polls
        if bake <= budget:
            return None
        needed = -(-bake // poll_seconds) + 1
        return (
            f"DeploymentStyle={self.style} waits {bake} s in its bakes for a fleet of {instance_count}, "
            f"longer than the pipeline polls the endpoint (EndpointPollSeconds={poll_seconds} x "
            f"EndpointMaxPolls={max_polls} = {budget} s): the run would report EndpointNotReady while "
            f"the update goes on. Raise EndpointMaxPolls to at least {needed} or shorten the waits"
        )

    def _step(self, instance_count: int) -> int | None:
        if self.style == "canary":
            return step_instances(instance_count, self.canary_percent, CANARY_BOUNDS)
        if self.style == "linear":
            return step_instances(instance_count, self.linear_step_percent, LINEAR_BOUNDS)
        if self.style == "rolling":
            return step_instances(instance_count, self.rolling_batch_percent, ROLLING_BOUNDS)
        return instance_count

    def _bound_text(self) -> str:
        if self.style == "canary":
            return "SageMaker's canary is at least one instance and at most 50% of the fleet"
        if self.style == "linear":
            return "SageMaker's linear step is 10-50% of the fleet, and at least one instance"
        return "SageMaker's rolling batch is 5-50% of the fleet, and at least one instance"


def _instance_count(value: int | None) -> dict[str, Any]:
    if value is None:  # validate() refuses such a fleet first
        raise InvalidDeploymentConfiguration("no step size fits the fleet")
    return {"Type": "INSTANCE_COUNT", "Value": value}
