"""Endpoints: moto has no UpdateEndpoint and deploys nothing; the emulation deploys with rollback."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mlops_local.engine.emulation import LocalServices
from mlops_local.engine.emulation.sagemaker_endpoints import EMULATION
from tests.unit.mlops_local.engine.conftest import ROLE, FakeEndpointHost, client


def _endpoint_config(name: str, instances: int = 1, instance_type: str = "ml.m5.large") -> None:
    sagemaker = client("sagemaker")
    sagemaker.create_model(
        ModelName=f"model-{name}",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "img", "ModelDataUrl": f"s3://a/{name}/model.tar.gz"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"model-{name}",
                "InitialInstanceCount": instances,
                "InstanceType": instance_type,
            }
        ],
    )


def _wait_in_service(services: LocalServices, name: str) -> dict[str, Any]:
    record = services.endpoints.get(name)
    assert record is not None
    assert record.done.wait(10)
    return dict(client("sagemaker").describe_endpoint(EndpointName=name))


def test_stock_moto_has_no_update_endpoint(stock: None) -> None:
    with pytest.raises(Exception, match="update_endpoint action has not been implemented"):
        client("sagemaker").update_endpoint(EndpointName="e", EndpointConfigName="c")


def test_stock_endpoint_is_in_service_at_once_even_when_it_cannot_serve(stock: None) -> None:
    _endpoint_config("broken-v1")
    client("sagemaker").create_endpoint(EndpointName="e", EndpointConfigName="broken-v1")
    assert client("sagemaker").describe_endpoint(EndpointName="e")["EndpointStatus"] == "InService"


def test_the_emulation_alone_deploys_the_config(
    apply: Callable[..., None], services: LocalServices, endpoint_host: FakeEndpointHost
) -> None:
    apply(EMULATION)
    _endpoint_config("v1")
    client("sagemaker").create_endpoint(EndpointName="e", EndpointConfigName="v1")
    assert _wait_in_service(services, "e")["EndpointStatus"] == "InService"
    assert endpoint_host.deployed == {"e": "v1"}
    assert endpoint_host.variants["e"][0]["ModelDataUrl"] == "s3://a/v1/model.tar.gz"


def test_the_emulation_alone_switches_config_on_update(
    apply: Callable[..., None], services: LocalServices
) -> None:
    apply(EMULATION)
    _endpoint_config("v1")
    _endpoint_config("v2")
    client("sagemaker").create_endpoint(EndpointName="e", EndpointConfigName="v1")
    assert _wait_in_service(services, "e")["EndpointStatus"] == "InService"
    client("sagemaker").update_endpoint(EndpointName="e", EndpointConfigName="v2")
    described = _wait_in_service(services, "e")
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", "v2")


def test_the_emulation_accepts_the_blue_green_update_that_deploy_model_sends(
    apply: Callable[..., None], services: LocalServices
) -> None:
    apply(EMULATION)
    _endpoint_config("v1")
    _endpoint_config("v2")
    client("sagemaker").create_endpoint(EndpointName="e", EndpointConfigName="v1")
    _wait_in_service(services, "e")
    # A single-instance fleet shifts all at once; no variant property is retained.
    client("sagemaker").update_endpoint(
        EndpointName="e",
        EndpointConfigName="v2",
        DeploymentConfig={
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 1},
                "TerminationWaitInSeconds": 1,
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "errors"}]},
        },
    )
    described = _wait_in_service(services, "e")
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", "v2")


def test_a_failed_update_rolls_back_to_the_old_config(
    apply: Callable[..., None], services: LocalServices
) -> None:
    apply(EMULATION)
    _endpoint_config("v1")
    _endpoint_config("broken-v2")
    client("sagemaker").create_endpoint(EndpointName="e", EndpointConfigName="v1")
    _wait_in_service(services, "e")
    client("sagemaker").update_endpoint(EndpointName="e", EndpointConfigName="broken-v2")
    described = _wait_in_service(services, "e")
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", "v1")
    assert "rolled back" in described["FailureReason"]


def test_a_failed_create_leaves_the_endpoint_failed(
    apply: Callable[..., None], services: LocalServices
) -> None:
    apply(EMULATION)
    _endpoint_config("broken-v1")
    client("sagemaker").create_endpoint(EndpointName="e", EndpointConfigName="broken-v1")
    assert _wait_in_service(services, "e")["EndpointStatus"] == "Failed"


def test_a_deleted_endpoint_stops_serving_and_can_be_created_again(
    apply: Callable[..., None], services: LocalServices, endpoint_host: FakeEndpointHost
) -> None:
    apply(EMULATION)
    _endpoint_config("v1")
    _endpoint_config("broken-v2")
    sagemaker = client("sagemaker")
    sagemaker.create_endpoint(EndpointName="e", EndpointConfigName="v1")
    assert _wait_in_service(services, "e")["EndpointStatus"] == "InService"
    sagemaker.delete_endpoint(EndpointName="e")
    assert endpoint_host.deployed == {}
    assert services.endpoints.get("e") is None
    # Created again with a config that cannot start: nothing is left to roll back to.
    sagemaker.create_endpoint(EndpointName="e", EndpointConfigName="broken-v2")
    assert _wait_in_service(services, "e")["EndpointStatus"] == "Failed"


# --- deployment styles, alarm rollback, autoscaling ----------------------------------------------

ROLLBACK = {"Alarms": [{"AlarmName": "errors"}]}


def _instances(value: int) -> dict[str, Any]:
    return {"Type": "INSTANCE_COUNT", "Value": value}


def _blue_green(routing: dict[str, Any], termination: int = 0) -> dict[str, Any]:
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": termination,
        },
        "AutoRollbackConfiguration": ROLLBACK,
    }


STYLES = {
    "all-at-once": (_blue_green({"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}), [1.0]),
    "canary": (
        _blue_green({"Type": "CANARY", "CanarySize": _instances(1), "WaitIntervalInSeconds": 0}),
        [0.25, 1.0],
    ),
    "linear": (
        _blue_green({"Type": "LINEAR", "LinearStepSize": _instances(2), "WaitIntervalInSeconds": 0}),
        [0.5, 1.0],
    ),
    "rolling": (
        {
            "RollingUpdatePolicy": {"MaximumBatchSize": _instances(1), "WaitIntervalInSeconds": 0},
            "AutoRollbackConfiguration": ROLLBACK,
        },
        [0.25, 0.5, 0.75, 1.0],
    ),
}


def _fleet_of_four(services: LocalServices) -> None:
    _endpoint_config("v1", instances=4)
    _endpoint_config("v2", instances=4)
    client("sagemaker").create_endpoint(EndpointName="e", EndpointConfigName="v1")
    _wait_in_service(services, "e")


def _alarm(state: str) -> None:
    cloudwatch = client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="errors",
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="errors", StateValue=state, StateReason="test")


@pytest.mark.parametrize("style", STYLES)
def test_the_emulation_alone_shifts_traffic_as_each_style_does(
    apply: Callable[..., None], services: LocalServices, endpoint_host: FakeEndpointHost, style: str
) -> None:
    apply(EMULATION)
    _fleet_of_four(services)
    _alarm("OK")
    deployment_config, shares = STYLES[style]

    client("sagemaker").update_endpoint(
        EndpointName="e", EndpointConfigName="v2", DeploymentConfig=deployment_config
    )

    described = _wait_in_service(services, "e")
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", "v2")
    assert endpoint_host.shares["e"] == shares
    assert endpoint_host.deployed == {"e": "v2"}


@pytest.mark.parametrize("style", STYLES)
def test_an_alarm_during_a_bake_rolls_every_style_back(
    apply: Callable[..., None], services: LocalServices, endpoint_host: FakeEndpointHost, style: str
) -> None:
    apply(EMULATION)
    _fleet_of_four(services)
    _alarm("ALARM")

    client("sagemaker").update_endpoint(
        EndpointName="e", EndpointConfigName="v2", DeploymentConfig=STYLES[style][0]
    )

    described = _wait_in_service(services, "e")
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", "v1")
    assert "alarm errors went into ALARM" in described["FailureReason"]
    assert "rolled back" in described["FailureReason"]
    assert endpoint_host.rolled_back == ["v2"]
    assert endpoint_host.shares["e"] == STYLES[style][1][:1]  # rolled back at the first bake


def test_the_final_bake_keeps_the_old_fleet_until_the_termination_wait_ends(
    apply: Callable[..., None], services: LocalServices, endpoint_host: FakeEndpointHost
) -> None:
    apply(EMULATION)
    _fleet_of_four(services)
    _alarm("OK")
    routing = {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}
    client("sagemaker").update_endpoint(
        EndpointName="e", EndpointConfigName="v2", DeploymentConfig=_blue_green(routing, termination=1)
    )
    record = services.endpoints.get("e")
    assert record is not None
    time.sleep(0.3)
    # Still baking at 100 %: an alarm now still rolls back, and the old fleet still exists.
    assert (record.status, endpoint_host.staged.get("e")) == ("Updating", "v2")
    client("cloudwatch").set_alarm_state(AlarmName="errors", StateValue="ALARM", StateReason="late error")
    described = _wait_in_service(services, "e")
    assert described["EndpointConfigName"] == "v1"
    assert endpoint_host.shares["e"] == [1.0, 1.0]


@pytest.mark.parametrize(
    ("deployment_config", "words"),
    [
        (
            _blue_green({"Type": "CANARY", "CanarySize": _instances(3), "WaitIntervalInSeconds": 0}),
            "CanarySize must be less than or equal to 50% of the variant's total instance count",
        ),
        (
            _blue_green({"Type": "LINEAR", "LinearStepSize": _instances(3), "WaitIntervalInSeconds": 0}),
            "LinearStepSize must be 10-50% of the variant's total instance count",
        ),
        (
            {"RollingUpdatePolicy": {"MaximumBatchSize": _instances(4), "WaitIntervalInSeconds": 0}},
            "MaximumBatchSize must be between 5% to 50% of the variant's total instance count",
        ),
        (
            {
                **_blue_green({"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}),
                "RollingUpdatePolicy": {"MaximumBatchSize": _instances(1), "WaitIntervalInSeconds": 0},
            },
            "Only one update policy should be used",
        ),
    ],
)
def test_a_deployment_config_outside_the_documented_bounds_is_refused(
    apply: Callable[..., None], services: LocalServices, deployment_config: dict[str, Any], words: str
) -> None:
    apply(EMULATION)
    _fleet_of_four(services)
    with pytest.raises(ClientError) as refused:
        client("sagemaker").update_endpoint(
            EndpointName="e", EndpointConfigName="v2", DeploymentConfig=deployment_config
        )
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert words in refused.value.response["Error"]["Message"]
    assert _wait_in_service(services, "e")["EndpointConfigName"] == "v1"


def test_describe_reports_the_variant_counts_of_the_config_serving_now(
    apply: Callable[..., None], services: LocalServices
) -> None:
    apply(EMULATION)
    _endpoint_config("v1", instances=2)
    _endpoint_config("v2", instances=5)
    client("sagemaker").create_endpoint(EndpointName="e", EndpointConfigName="v1")
    _wait_in_service(services, "e")
    client("sagemaker").update_endpoint(EndpointName="e", EndpointConfigName="v2")
    (variant,) = _wait_in_service(services, "e")["ProductionVariants"]
    assert (variant["VariantName"], variant["DesiredInstanceCount"], variant["CurrentInstanceCount"]) == (
        "AllTraffic",
        5,
        5,
    )


def _register_variant() -> None:
    client("application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="endpoint/e/variant/AllTraffic",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=1,
        MaxCapacity=4,
    )


def test_an_instance_type_change_of_a_scaled_variant_is_refused(
    apply: Callable[..., None], services: LocalServices
) -> None:
    apply(EMULATION)
    _endpoint_config("v1")
    _endpoint_config("v2", instance_type="ml.c5.xlarge")
    client("sagemaker").create_endpoint(EndpointName="e", EndpointConfigName="v1")
    _wait_in_service(services, "e")
    _register_variant()
    with pytest.raises(ClientError) as refused:
        client("sagemaker").update_endpoint(EndpointName="e", EndpointConfigName="v2")
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "scalable target" in refused.value.response["Error"]["Message"]
    # Deregistered first, as SageMaker asks: the update goes through.
    client("application-autoscaling").deregister_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="endpoint/e/variant/AllTraffic",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
    )
    client("sagemaker").update_endpoint(EndpointName="e", EndpointConfigName="v2")
    assert _wait_in_service(services, "e")["EndpointConfigName"] == "v2"


def test_a_new_model_on_a_scaled_variant_is_allowed(
    apply: Callable[..., None], services: LocalServices
) -> None:
    apply(EMULATION)
    _endpoint_config("v1")
    _endpoint_config("v2")
    client("sagemaker").create_endpoint(EndpointName="e", EndpointConfigName="v1")
    _wait_in_service(services, "e")
    _register_variant()
    client("sagemaker").update_endpoint(EndpointName="e", EndpointConfigName="v2")
    assert _wait_in_service(services, "e")["EndpointConfigName"] == "v2"
