"""ensure_monitoring's use case with fakes: the schedule follows each new baseline, and autoscaling
is registered once the endpoint serves the new config."""

from __future__ import annotations

import pytest

from mlops_common.domain.deployment import InvalidDeploymentConfiguration
from mlops_common.models import MonitoringInput
from mlops_common.services.ensure_monitoring import ensure_monitoring
from mlops_common.settings import MonitoringSettings
from tests.unit.mlops_common.fakes import MONITORING, FakeSageMaker, FakeScaling

VARIANT = "endpoint/defect-classifier/variant/AllTraffic"
AUTOSCALING = MONITORING.model_copy(
    update={
        "endpoint_instance_count": 2,
        "autoscaling_max_instance_count": 5,
        "autoscaling_target_invocations": 150.0,
        "autoscaling_scale_in_cooldown_seconds": 900,
        "autoscaling_scale_out_cooldown_seconds": 120,
    }
)


def request(version: str) -> MonitoringInput:
    return MonitoringInput(
        endpoint_name="defect-classifier",
        baseline_uri=f"s3://artifacts-bucket/monitoring/baseline/{version}/",
        model_version=version,
    )


def _ensure(
    version: str, sagemaker: FakeSageMaker, scaling: FakeScaling, settings: MonitoringSettings = MONITORING
) -> tuple[str, str]:
    result = ensure_monitoring(request(version), sagemaker=sagemaker, scaling=scaling, settings=settings)
    return result.action, result.autoscaling


def test_schedule_is_created_then_updated_with_the_new_baseline() -> None:
    sagemaker = FakeSageMaker()
    first = ensure_monitoring(request("v1"), sagemaker=sagemaker, scaling=FakeScaling(), settings=MONITORING)
    second = ensure_monitoring(request("v2"), sagemaker=sagemaker, scaling=FakeScaling(), settings=MONITORING)

    assert (first.action, second.action) == ("create", "update")
    config = sagemaker.schedules[second.schedule_name]["MonitoringJobDefinition"]
    assert config["BaselineConfig"]["StatisticsResource"]["S3Uri"].endswith("/v2/statistics.json")
    assert config["RoleArn"] == MONITORING.sagemaker_role_arn


def test_autoscaling_off_by_default_registers_nothing() -> None:
    scaling = FakeScaling()
    assert _ensure("v1", FakeSageMaker(), scaling) == ("create", "off")
    assert scaling.calls == []


def test_autoscaling_registers_the_variant_and_its_policy_after_a_create() -> None:
    scaling = FakeScaling()
    assert _ensure("v1", FakeSageMaker(), scaling, AUTOSCALING) == ("create", "registered")
    assert scaling.calls == [("register_scalable_target", VARIANT), ("put_scaling_policy", VARIANT)]
    target = scaling.targets[VARIANT]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 5)
    policy = scaling.policies[VARIANT]["TargetTrackingScalingPolicyConfiguration"]
    assert (policy["TargetValue"], policy["ScaleInCooldown"], policy["ScaleOutCooldown"]) == (150.0, 900, 120)


def test_every_deploy_registers_again_so_a_deregistered_variant_and_a_new_range_take_effect() -> None:
    sagemaker, scaling = FakeSageMaker(), FakeScaling()
    _ensure("v1", sagemaker, scaling, AUTOSCALING)
    scaling.deregister_scalable_target(VARIANT)  # what deploy_model does for an instance type change
    wider = AUTOSCALING.model_copy(update={"autoscaling_max_instance_count": 8})

    assert _ensure("v2", sagemaker, scaling, wider) == ("update", "registered")
    assert scaling.targets[VARIANT]["MaxCapacity"] == 8
    assert VARIANT in scaling.policies


def test_turning_autoscaling_off_removes_the_target_left_from_before() -> None:
    scaling = FakeScaling({VARIANT: {"ResourceId": VARIANT}})
    assert _ensure("v2", FakeSageMaker(), scaling) == ("create", "deregistered")
    assert scaling.targets == {}


def test_a_policy_aws_would_refuse_fails_before_any_autoscaling_call() -> None:
    scaling = FakeScaling()
    broken = AUTOSCALING.model_copy(update={"autoscaling_target_invocations": 0.0})
    with pytest.raises(InvalidDeploymentConfiguration, match="AutoscalingTargetInvocations=0"):
        _ensure("v1", FakeSageMaker(), scaling, broken)
    assert scaling.calls == []
