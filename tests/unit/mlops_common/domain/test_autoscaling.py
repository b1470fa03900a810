"""Autoscaling of the endpoint variant: request bodies, the range's checks, the update rule."""

from __future__ import annotations

import pytest

from mlops_common.domain.autoscaling import (
    ScalingRange,
    live_desired_count,
    scalable_target_request,
    scaling_policy_request,
    update_blocked_by_scaling,
    variant_resource_id,
)
from mlops_common.domain.deployment import InvalidDeploymentConfiguration

SCALING = ScalingRange(
    minimum=2,
    maximum=6,
    target_invocations=120.0,
    scale_in_cooldown_seconds=600,
    scale_out_cooldown_seconds=60,
)


def _config(instance_type: str, variant: str = "AllTraffic") -> dict[str, object]:
    return {"ProductionVariants": [{"VariantName": variant, "InstanceType": instance_type}]}


def test_the_variant_is_the_resource_application_auto_scaling_names() -> None:
    assert variant_resource_id("ep") == "endpoint/ep/variant/AllTraffic"


def test_the_scalable_target_is_the_variant_instance_count_within_the_range() -> None:
    assert scalable_target_request("ep", SCALING) == {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/ep/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "MinCapacity": 2,
        "MaxCapacity": 6,
    }


def test_the_policy_tracks_invocations_per_instance_with_the_cooldowns() -> None:
    assert scaling_policy_request("ep", SCALING) == {
        "PolicyName": "ep-invocations-per-instance",
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/ep/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": 120.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
            "ScaleInCooldown": 600,
            "ScaleOutCooldown": 60,
        },
    }


def test_autoscaling_is_on_only_with_a_maximum_above_the_minimum() -> None:
    assert ScalingRange(minimum=3, maximum=4).enabled
    assert not ScalingRange(minimum=3, maximum=3).enabled
    # A maximum left at the default while the fleet grew: a fixed fleet, not an error.
    assert not ScalingRange(minimum=4, maximum=1).enabled
    assert ScalingRange(minimum=4, maximum=1).problems() == []
    assert not ScalingRange().enabled  # the template's defaults


@pytest.mark.parametrize(
    ("scaling", "parameter"),
    [
        (ScalingRange(maximum=2, target_invocations=0), "AutoscalingTargetInvocations"),
        (ScalingRange(maximum=2, scale_in_cooldown_seconds=-1), "AutoscalingScaleInCooldownSeconds"),
        (ScalingRange(maximum=2, scale_out_cooldown_seconds=90000), "AutoscalingScaleOutCooldownSeconds"),
    ],
)
def test_policy_values_outside_aws_bounds_are_named(scaling: ScalingRange, parameter: str) -> None:
    with pytest.raises(InvalidDeploymentConfiguration, match=parameter):
        scaling.validate()


@pytest.mark.parametrize(
    ("scaling", "live", "fleet"),
    [
        (ScalingRange(minimum=2, maximum=6), 4, 4),  # the size the policy holds it at
        (ScalingRange(minimum=2, maximum=6), 9, 6),  # the range shrank since: capped
        (ScalingRange(minimum=2, maximum=6), 1, 2),
        (ScalingRange(minimum=2, maximum=6), None, 2),
        (ScalingRange(minimum=2, maximum=2), 5, 2),  # autoscaling off: the template's count
        (ScalingRange(minimum=4, maximum=1), 5, 4),
    ],
)
def test_the_new_fleet_starts_where_autoscaling_holds_the_live_one(
    scaling: ScalingRange, live: int | None, fleet: int
) -> None:
    assert scaling.fleet_for_update(live) == fleet


def test_the_live_count_is_the_variant_desired_instance_count() -> None:
    endpoint = {"ProductionVariants": [{"VariantName": "AllTraffic", "DesiredInstanceCount": 5}]}
    assert live_desired_count(endpoint) == 5
    assert live_desired_count({"ProductionVariants": []}) is None
    assert live_desired_count(None) is None


def test_a_new_model_on_the_same_instance_type_keeps_the_scalable_target() -> None:
    assert not update_blocked_by_scaling(_config("ml.m5.large"), "ml.m5.large")


def test_a_new_instance_type_needs_the_target_deregistered() -> None:
    assert update_blocked_by_scaling(_config("ml.m5.large"), "ml.c5.xlarge")


def test_an_unreadable_config_or_a_removed_variant_counts_as_a_change() -> None:
    assert update_blocked_by_scaling(None, "ml.m5.large")
    assert update_blocked_by_scaling(_config("ml.m5.large", variant="Blue"), "ml.m5.large")
