"""Application Auto Scaling: moto keeps a deregistered target's policies; AWS deletes them with it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mlops_local.engine.moto_compat.application_autoscaling_policies_outlive_targets import WORKAROUND
from tests.unit.mlops_local.engine.conftest import client

TARGET = {
    "ServiceNamespace": "sagemaker",
    "ResourceId": "endpoint/e/variant/AllTraffic",
    "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
}
TRACKING = {
    "TargetValue": 70.0,
    "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
}


def _put_policy(autoscaling: Any) -> None:
    autoscaling.put_scaling_policy(
        PolicyName="p",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration=TRACKING,
        **TARGET,
    )


def _registered_with_a_policy() -> Any:
    autoscaling = client("application-autoscaling")
    autoscaling.register_scalable_target(MinCapacity=1, MaxCapacity=4, **TARGET)
    _put_policy(autoscaling)
    return autoscaling


def _policies(autoscaling: Any) -> list[dict[str, Any]]:
    return list(autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"])


def test_stock_deregistering_keeps_the_policies_and_a_policy_needs_no_target(stock: None) -> None:
    autoscaling = _registered_with_a_policy()
    autoscaling.deregister_scalable_target(**TARGET)
    assert [policy["PolicyName"] for policy in _policies(autoscaling)] == ["p"]
    _put_policy(autoscaling)  # accepted, though no target is registered


def test_the_workaround_alone_deletes_the_policies_with_their_target(apply: Callable[..., None]) -> None:
    apply(WORKAROUND)
    autoscaling = _registered_with_a_policy()
    autoscaling.deregister_scalable_target(**TARGET)
    assert _policies(autoscaling) == []


def test_the_workaround_alone_refuses_what_needs_a_registered_target_in_aws_words(
    apply: Callable[..., None],
) -> None:
    apply(WORKAROUND)
    autoscaling = client("application-autoscaling")
    target_words = (
        "service namespace: sagemaker, resource ID: endpoint/e/variant/AllTraffic, "
        "scalable dimension: sagemaker:variant:DesiredInstanceCount"
    )
    with pytest.raises(ClientError) as refused:
        _put_policy(autoscaling)
    assert refused.value.response["Error"] == {
        "Code": "ObjectNotFoundException",
        "Message": f"No scalable target registered for {target_words}",
    }
    with pytest.raises(ClientError) as refused:
        autoscaling.deregister_scalable_target(**TARGET)
    assert refused.value.response["Error"]["Code"] == "ObjectNotFoundException"
