"""Deploy and EnsureMonitoring under moto.

moto implements neither UpdateEndpoint nor the monitoring-schedule APIs, so those calls are
answered by a ``before-call`` hook on the real client: botocore still validates every request
against SageMaker's API model before the hook sees it. Application Auto Scaling is moto's own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from mlops_common.adapters import aws
from mlops_common.domain.deployment import InvalidDeploymentConfiguration
from tests.conftest import load_event

from .conftest import ENDPOINT, Stack, handler_of

deploy_model = handler_of("deploy_model")
ensure_monitoring = handler_of("ensure_monitoring")


def serve(operation: str, answer: Callable[[dict[str, Any]], dict[str, Any]]) -> list[dict[str, Any]]:
    """Answer ``operation`` on the handlers' SageMaker client; returns the validated requests."""
    calls: list[dict[str, Any]] = []

    def hook(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        body = json.loads(params["body"])
        calls.append(body)
        return type("Http", (), {"status_code": 200, "headers": {}, "text": ""})(), answer(body)

    aws.client("sagemaker").meta.events.register(f"before-call.sagemaker.{operation}", hook)
    return calls


def create_model(stack: Stack, name: str) -> None:
    stack.client("sagemaker").create_model(
        ModelName=name,
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sm",
        PrimaryContainer={"Image": "img"},
    )


def test_first_deploy_creates_the_endpoint_with_data_capture(stack: Stack, context: Any) -> None:
    create_model(stack, "model-v1")
    result = deploy_model(
        {"model_name": "model-v1", "execution_name": "upload-20261112T1000-1a2b3c4d"}, context
    )

    assert result["action"] == "create"
    assert result["previous_endpoint_config_name"] is None
    sagemaker = stack.client("sagemaker")
    config = sagemaker.describe_endpoint_config(EndpointConfigName=result["endpoint_config_name"])
    capture = config["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["DestinationS3Uri"] == f"s3://{stack.artifacts_bucket}/capture"
    assert [o["CaptureMode"] for o in capture["CaptureOptions"]] == ["Input", "Output"]
    assert config["KmsKeyId"].startswith("arn:aws:kms")
    endpoint = sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    assert endpoint["EndpointConfigName"] == result["endpoint_config_name"]


def test_next_deploy_is_a_blue_green_update_keeping_the_old_config(stack: Stack, context: Any) -> None:
    create_model(stack, "model-v1")
    create_model(stack, "model-v2")
    first = deploy_model({"model_name": "model-v1", "execution_name": "run-1"}, context)
    updates = serve("UpdateEndpoint", lambda body: {"EndpointArn": "arn:aws:sagemaker:::endpoint/x"})

    second = deploy_model({"model_name": "model-v2", "execution_name": "run-2"}, context)

    assert second["action"] == "update"
    assert second["previous_endpoint_config_name"] == first["endpoint_config_name"]
    (update,) = updates
    assert update["EndpointConfigName"] == second["endpoint_config_name"]
    policy = update["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    # The template's default fleet is one instance: too small for a canary.
    assert policy["TrafficRoutingConfiguration"]["Type"] == "ALL_AT_ONCE"
    assert update["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"] == [
        {"AlarmName": "endpoint-errors"},
        {"AlarmName": "endpoint-latency"},
    ]
    # The previous config is still there for CheckEndpointStatus to compare against.
    stack.client("sagemaker").describe_endpoint_config(EndpointConfigName=first["endpoint_config_name"])


def test_update_brings_changed_instance_count_and_capture_to_the_endpoint(
    stack: Stack, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An endpoint that an earlier deploy created with one instance and full capture.
    create_model(stack, "model-v1")
    create_model(stack, "model-v2")
    sagemaker = stack.client("sagemaker")
    sagemaker.create_endpoint_config(
        EndpointConfigName="model-v1-old",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "model-v1",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": f"s3://{stack.artifacts_bucket}/capture",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
    )
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="model-v1-old")
    # The stack redeployed with new parameters: the function's next cold start reads them.
    monkeypatch.setenv("ENDPOINT_INSTANCE_COUNT", "4")
    monkeypatch.setenv("DATA_CAPTURE_PERCENT", "20")
    monkeypatch.setenv("DEPLOYMENT_STYLE", "canary")
    updates = serve("UpdateEndpoint", lambda body: {"EndpointArn": "arn:aws:sagemaker:::endpoint/x"})

    result = deploy_model({"model_name": "model-v2", "execution_name": "run-2"}, context)

    (update,) = updates
    assert update["EndpointConfigName"] == result["endpoint_config_name"]
    # Retaining variant properties would keep the live count and capture, not the new config's.
    assert "RetainAllVariantProperties" not in update
    assert "ExcludeRetainedVariantProperties" not in update
    config = sagemaker.describe_endpoint_config(EndpointConfigName=result["endpoint_config_name"])
    assert config["ProductionVariants"][0]["InitialInstanceCount"] == 4
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 20
    routing = update["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["CanarySize"] == {"Type": "INSTANCE_COUNT", "Value": 1}


def _endpoint_on(stack: Stack, config_name: str, instance_type: str = "ml.m5.large", count: int = 2) -> None:
    """An endpoint that an earlier deploy created (``count`` instances of ``instance_type``)."""
    create_model(stack, "model-v1")
    sagemaker = stack.client("sagemaker")
    sagemaker.create_endpoint_config(
        EndpointConfigName=config_name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "model-v1",
                "InstanceType": instance_type,
                "InitialInstanceCount": count,
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=config_name)


@pytest.mark.parametrize(
    ("style", "policy", "size"),
    [
        ("all-at-once", "BlueGreenUpdatePolicy", None),
        ("canary", "BlueGreenUpdatePolicy", "CanarySize"),
        ("linear", "BlueGreenUpdatePolicy", "LinearStepSize"),
        ("rolling", "RollingUpdatePolicy", "MaximumBatchSize"),
    ],
)
def test_each_deployment_style_is_a_request_sagemaker_accepts(
    stack: Stack, context: Any, monkeypatch: pytest.MonkeyPatch, style: str, policy: str, *, size: str | None
) -> None:
    _endpoint_on(stack, "model-v1-old", count=4)
    create_model(stack, "model-v2")
    monkeypatch.setenv("ENDPOINT_INSTANCE_COUNT", "4")
    monkeypatch.setenv("DEPLOYMENT_STYLE", style)
    updates = serve("UpdateEndpoint", lambda body: {"EndpointArn": "arn:aws:sagemaker:::endpoint/x"})

    deploy_model({"model_name": "model-v2", "execution_name": "run-2"}, context)

    # botocore validated the request against SageMaker's model before the hook answered it.
    (update,) = updates
    deployment = update["DeploymentConfig"]
    assert set(deployment) == {policy, "AutoRollbackConfiguration"}
    if size == "MaximumBatchSize":
        assert deployment[policy][size] == {"Type": "INSTANCE_COUNT", "Value": 1}
    elif size is not None:
        assert deployment[policy]["TrafficRoutingConfiguration"][size] == {
            "Type": "INSTANCE_COUNT",
            "Value": 1,
        }


def test_a_style_the_fleet_cannot_take_fails_the_deploy_before_any_aws_call(
    stack: Stack, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_model(stack, "model-v1")
    monkeypatch.setenv("DEPLOYMENT_STYLE", "rolling")  # with the default EndpointInstanceCount of 1
    with pytest.raises(InvalidDeploymentConfiguration) as refused:
        deploy_model({"model_name": "model-v1", "execution_name": "run-1"}, context)
    assert "DeploymentStyle=rolling" in str(refused.value)
    assert "EndpointInstanceCount=1" in str(refused.value)
    assert stack.client("sagemaker").list_endpoint_configs()["EndpointConfigs"] == []


VARIANT = f"endpoint/{ENDPOINT}/variant/AllTraffic"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def _register(stack: Stack, minimum: int = 2, maximum: int = 6) -> None:
    stack.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=VARIANT,
        ScalableDimension=DIMENSION,
        MinCapacity=minimum,
        MaxCapacity=maximum,
    )


def _targets(stack: Stack) -> list[dict[str, Any]]:
    autoscaling = stack.client("application-autoscaling")
    return list(autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"])


def _autoscaled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENDPOINT_INSTANCE_COUNT", "2")
    monkeypatch.setenv("AUTOSCALING_MAX_INSTANCE_COUNT", "6")


def test_an_instance_type_change_deregisters_autoscaling_before_the_update(
    stack: Stack, context: Any, monkeypatch: pytest.MonkeyPatch, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    _endpoint_on(stack, "model-v1-old", instance_type="ml.m5.large")
    _register(stack)
    create_model(stack, "model-v2")
    _autoscaled(monkeypatch)
    monkeypatch.setenv("ENDPOINT_INSTANCE_TYPE", "ml.c5.xlarge")
    seen_at_update: list[list[dict[str, Any]]] = []

    def update(body: dict[str, Any]) -> dict[str, Any]:
        seen_at_update.append(_targets(stack))
        return {"EndpointArn": "arn:x"}

    serve("UpdateEndpoint", update)

    result = deploy_model({"model_name": "model-v2", "execution_name": "run-2"}, context)

    assert result["autoscaling"] == "deregistered"
    assert seen_at_update == [[]]  # gone before UpdateEndpoint, which SageMaker would refuse
    assert any(line["message"].startswith("autoscaling deregistered") for line in log_lines())


def test_a_new_model_alone_keeps_autoscaling_and_the_scaled_fleet(
    stack: Stack, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _endpoint_on(stack, "model-v1-old", count=3)  # scaled out to 3 by the policy
    _register(stack)
    create_model(stack, "model-v2")
    _autoscaled(monkeypatch)
    serve("UpdateEndpoint", lambda body: {"EndpointArn": "arn:x"})

    result = deploy_model({"model_name": "model-v2", "execution_name": "run-2"}, context)

    assert result["autoscaling"] == "kept"
    assert [target["ResourceId"] for target in _targets(stack)] == [VARIANT]
    config = stack.client("sagemaker").describe_endpoint_config(
        EndpointConfigName=result["endpoint_config_name"]
    )
    assert config["ProductionVariants"][0]["InitialInstanceCount"] == 3


def test_every_log_line_carries_the_execution_name(
    stack: Stack, context: Any, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    create_model(stack, "model-v1")
    deploy_model({"model_name": "model-v1", "execution_name": "upload-20261112T1000-1a2b3c4d"}, context)
    lines = log_lines()
    assert any(line["message"] == "endpoint created" for line in lines)
    assert {line.get("correlation_id") for line in lines} == {"upload-20261112T1000-1a2b3c4d"}


def test_retried_deploy_reuses_its_own_config(stack: Stack, context: Any) -> None:
    create_model(stack, "model-v1")
    event = {"model_name": "model-v1", "execution_name": "run-1"}
    first = deploy_model(event, context)
    again = deploy_model(event, context)
    assert again["endpoint_config_name"] == first["endpoint_config_name"]


@pytest.mark.parametrize("event", [{}, {"model_name": "bad name!", "execution_name": "x"}])
def test_malformed_deploy_input_is_rejected_without_side_effects(
    stack: Stack, context: Any, event: Any
) -> None:
    with pytest.raises(ValidationError):
        deploy_model(event, context)
    assert stack.client("sagemaker").list_endpoint_configs()["EndpointConfigs"] == []


MONITORING_EVENT = {
    "endpoint_name": ENDPOINT,
    "baseline_uri": "s3://defect-mlops-artifacts-dev/monitoring/baseline/model-v2/",
    "model_version": "model-v2",
}


def test_first_call_creates_the_schedule_with_baseline_and_preprocessor(stack: Stack, context: Any) -> None:
    serve("DescribeMonitoringSchedule", lambda body: (_ for _ in ()).throw(not_found()))
    creates = serve("CreateMonitoringSchedule", lambda body: {"MonitoringScheduleArn": "arn:x"})

    result = ensure_monitoring(MONITORING_EVENT, context)

    assert result == {"schedule_name": f"{ENDPOINT}-data-quality", "action": "create", "autoscaling": "off"}
    job = creates[0]["MonitoringScheduleConfig"]["MonitoringJobDefinition"]
    assert job["BaselineConfig"]["StatisticsResource"]["S3Uri"].endswith("/model-v2/statistics.json")
    assert job["BaselineConfig"]["ConstraintsResource"]["S3Uri"].endswith("/model-v2/constraints.json")
    assert job["MonitoringAppSpecification"]["RecordPreprocessorSourceUri"].startswith("s3://")
    output = job["MonitoringOutputConfig"]["MonitoringOutputs"][0]["S3Output"]["S3Uri"]
    assert output == f"s3://{stack.artifacts_bucket}/monitoring/reports/{ENDPOINT}"


def test_existing_schedule_is_updated(stack: Stack, context: Any) -> None:
    serve(
        "DescribeMonitoringSchedule", lambda body: {"MonitoringScheduleName": body["MonitoringScheduleName"]}
    )
    updates = serve("UpdateMonitoringSchedule", lambda body: {"MonitoringScheduleArn": "arn:x"})
    assert ensure_monitoring(MONITORING_EVENT, context)["action"] == "update"
    assert len(updates) == 1


def test_malformed_monitoring_input_is_rejected(stack: Stack, context: Any) -> None:
    with pytest.raises(ValidationError):
        ensure_monitoring(load_event("s3_object_created"), context)


def not_found() -> Exception:
    from botocore.exceptions import ClientError

    return ClientError(
        {"Error": {"Code": "ResourceNotFound", "Message": "Monitoring schedule not found"}},
        "DescribeMonitoringSchedule",
    )


def _serve_existing_schedule() -> None:
    serve(
        "DescribeMonitoringSchedule", lambda body: {"MonitoringScheduleName": body["MonitoringScheduleName"]}
    )
    serve("UpdateMonitoringSchedule", lambda body: {"MonitoringScheduleArn": "arn:x"})


def test_ensure_monitoring_registers_autoscaling_of_the_new_variant(
    stack: Stack, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _autoscaled(monkeypatch)
    monkeypatch.setenv("AUTOSCALING_TARGET_INVOCATIONS", "150")
    monkeypatch.setenv("AUTOSCALING_SCALE_IN_COOLDOWN_SECONDS", "600")
    monkeypatch.setenv("AUTOSCALING_SCALE_OUT_COOLDOWN_SECONDS", "60")
    _serve_existing_schedule()

    result = ensure_monitoring(MONITORING_EVENT, context)

    assert result["autoscaling"] == "registered"
    (target,) = _targets(stack)
    assert (target["ResourceId"], target["ScalableDimension"]) == (VARIANT, DIMENSION)
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 6)
    autoscaling = stack.client("application-autoscaling")
    (policy,) = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=VARIANT)[
        "ScalingPolicies"
    ]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert tracking["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
    }
    assert (tracking["TargetValue"], tracking["ScaleInCooldown"], tracking["ScaleOutCooldown"]) == (
        150.0,
        600,
        60,
    )


def test_ensure_monitoring_with_autoscaling_off_removes_a_target_left_from_before(
    stack: Stack, context: Any
) -> None:
    _register(stack)
    _serve_existing_schedule()
    assert ensure_monitoring(MONITORING_EVENT, context)["autoscaling"] == "deregistered"
    assert _targets(stack) == []
