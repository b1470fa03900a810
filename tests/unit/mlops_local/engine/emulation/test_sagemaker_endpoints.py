"""Endpoints: moto has no UpdateEndpoint and deploys nothing; the emulation deploys with rollback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mlops_local.engine.emulation import LocalServices
from mlops_local.engine.emulation.sagemaker_endpoints import EMULATION
from tests.unit.mlops_local.engine.conftest import ROLE, FakeEndpointHost, client


def _endpoint_config(name: str) -> None:
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
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
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
                "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600},
                "TerminationWaitInSeconds": 600,
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
