"""Application Auto Scaling of the endpoint's variant: names, request bodies, update rules (pure).

SageMaker endpoint variants scale through Application Auto Scaling: the scalable target is
``endpoint/<endpoint>/variant/<variant>`` in the ``sagemaker`` namespace, dimension
``sagemaker:variant:DesiredInstanceCount``, and a target tracking policy on the predefined metric
``SageMakerVariantInvocationsPerInstance`` (invocations per minute per instance) keeps it near the
target (https://docs.aws.amazon.com/autoscaling/application/userguide/services-that-can-integrate-sagemaker.html,
https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-policy.html).

Updating an endpoint whose variant is a scalable target: "If the update would change the instance
type for any model that is a target for auto scaling, the update fails", so the variant is
deregistered first and registered again once the endpoint is InService; changing only the model is
allowed (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops_common.domain.deployment import VARIANT_NAME, InvalidDeploymentConfiguration

SERVICE_NAMESPACE = "sagemaker"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
PREDEFINED_METRIC = "SageMakerVariantInvocationsPerInstance"
POLICY_TYPE = "TargetTrackingScaling"
# PutScalingPolicy's cooldowns (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_TargetTrackingScalingPolicyConfiguration.html).
MAX_COOLDOWN_SECONDS = 86400


def variant_resource_id(endpoint_name: str, variant_name: str = VARIANT_NAME) -> str:
    """The scalable target's ResourceId of one endpoint variant."""
    return f"endpoint/{endpoint_name}/variant/{variant_name}"


def scaling_policy_name(endpoint_name: str) -> str:
    """One target tracking policy per endpoint (PutScalingPolicy replaces a policy of the same name)."""
    return f"{endpoint_name}-invocations-per-instance"


@dataclass(frozen=True)
class ScalingRange:
    """The template's autoscaling parameters: the fleet scales between ``minimum`` and ``maximum``.

    ``minimum`` is ``EndpointInstanceCount``: the fleet the endpoint is created with, and the
    smallest it becomes. Autoscaling is on only when ``maximum`` is above it: a maximum at or below
    the minimum (the template's default of 1) means a fixed fleet of ``EndpointInstanceCount``, so
    raising the fleet never requires touching the autoscaling parameters.
    """

    minimum: int = 1
    maximum: int = 1
    target_invocations: float = 70.0
    scale_in_cooldown_seconds: int = 300
    scale_out_cooldown_seconds: int = 300

    @property
    def enabled(self) -> bool:
        return self.maximum > self.minimum

    def problems(self) -> list[str]:
        """What Application Auto Scaling would refuse, in template parameter names."""
        found: list[str] = []
        if not self.enabled:
            return found  # a fixed fleet: no policy is put, so its values do not matter
        if self.target_invocations <= 0:
            found.append(f"AutoscalingTargetInvocations={self.target_invocations:g} must be above 0")
        for name, value in (
            ("AutoscalingScaleInCooldownSeconds", self.scale_in_cooldown_seconds),
            ("AutoscalingScaleOutCooldownSeconds", self.scale_out_cooldown_seconds),
        ):
            if not 0 <= value <= MAX_COOLDOWN_SECONDS:
                found.append(f"{name}={value} is outside 0-{MAX_COOLDOWN_SECONDS}")
        return found

    def validate(self) -> None:
        found = self.problems()
        if found:
            raise InvalidDeploymentConfiguration("; ".join(found))

    def fleet_for_update(self, live_desired_count: int | None) -> int:
        """Instances of the new config on an update.

        With autoscaling the new fleet starts at the size the policy holds the live variant at (within
        the range), as RetainAllVariantProperties would keep it, while the capture settings still come
        from the new config; otherwise it is ``EndpointInstanceCount``. Scaling is blocked while an
        update runs (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html), so
        starting the new fleet at the minimum would leave it short until then.
        """
        if not self.enabled or live_desired_count is None:
            return self.minimum
        return min(max(live_desired_count, self.minimum), self.maximum)


def scalable_target_request(endpoint_name: str, scaling: ScalingRange) -> dict[str, Any]:
    """RegisterScalableTarget: registers the variant, or updates the range of a registered one.

    No RoleARN: Application Auto Scaling uses (and creates) its service-linked role for SageMaker
    (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html).
    """
    return {
        "ServiceNamespace": SERVICE_NAMESPACE,
        "ResourceId": variant_resource_id(endpoint_name),
        "ScalableDimension": SCALABLE_DIMENSION,
        "MinCapacity": scaling.minimum,
        "MaxCapacity": scaling.maximum,
    }


def scaling_policy_request(endpoint_name: str, scaling: ScalingRange) -> dict[str, Any]:
    """PutScalingPolicy: target tracking of invocations per instance, with the cooldowns."""
    return {
        "PolicyName": scaling_policy_name(endpoint_name),
        "ServiceNamespace": SERVICE_NAMESPACE,
        "ResourceId": variant_resource_id(endpoint_name),
        "ScalableDimension": SCALABLE_DIMENSION,
        "PolicyType": POLICY_TYPE,
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": float(scaling.target_invocations),
            "PredefinedMetricSpecification": {"PredefinedMetricType": PREDEFINED_METRIC},
            "ScaleInCooldown": scaling.scale_in_cooldown_seconds,
            "ScaleOutCooldown": scaling.scale_out_cooldown_seconds,
        },
    }


def variant_of(
    endpoint_config: dict[str, Any] | None, variant_name: str = VARIANT_NAME
) -> dict[str, Any] | None:
    """The production variant ``variant_name`` of a DescribeEndpointConfig answer."""
    for variant in (endpoint_config or {}).get("ProductionVariants", []):
        if variant.get("VariantName") == variant_name:
            return dict(variant)
    return None


def update_blocked_by_scaling(current_config: dict[str, Any] | None, new_instance_type: str) -> bool:
    """Whether SageMaker refuses this update while the variant is a scalable target.

    It does when the update changes the variant's instance type or removes the variant; a new model
    alone is allowed. A current config that cannot be read (or lacks the variant) counts as a change:
    deregistering costs nothing, since the variant is registered again once InService.
    """
    current = variant_of(current_config)
    return current is None or current.get("InstanceType") != new_instance_type


def live_desired_count(endpoint: dict[str, Any] | None, variant_name: str = VARIANT_NAME) -> int | None:
    """DescribeEndpoint's DesiredInstanceCount of the variant (what autoscaling holds it at), if any."""
    for variant in (endpoint or {}).get("ProductionVariants", []):
        if variant.get("VariantName") == variant_name:
            count = variant.get("DesiredInstanceCount", variant.get("CurrentInstanceCount"))
            return int(count) if count is not None else None
    return None
