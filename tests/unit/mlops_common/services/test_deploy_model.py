"""deploy_model's use case with fake endpoints: create first, then blue/green updates."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from mlops_common.models import DeployInput
from mlops_common.services.deploy_model import deploy_model
from mlops_common.settings import DeploySettings
from tests.unit.mlops_common.fakes import DEPLOY, FakeSageMaker


def test_first_deploy_creates_the_endpoint() -> None:
    sagemaker = FakeSageMaker()
    result = deploy_model(
        DeployInput(model_name="model-v1", execution_name="run-1"), sagemaker=sagemaker, settings=DEPLOY
    )
    assert (result.action, result.previous_endpoint_config_name) == ("create", None)
    assert [call for call, _ in sagemaker.calls] == ["create_endpoint_config", "create_endpoint"]
    assert "KmsKeyId" not in sagemaker.endpoint_configs[result.endpoint_config_name]  # KMS_KEY_ARN empty


def test_next_deploy_is_a_canary_update_rolled_back_by_the_alarms() -> None:
    sagemaker = FakeSageMaker(endpoint={"EndpointConfigName": "old-config"})
    result = deploy_model(
        DeployInput(model_name="model-v2", execution_name="run-2"), sagemaker=sagemaker, settings=DEPLOY
    )
    assert (result.action, result.previous_endpoint_config_name) == ("update", "old-config")
    ((_, deployment_config),) = [call for call in sagemaker.calls if call[0] == "update_endpoint"]
    assert deployment_config["AutoRollbackConfiguration"]["Alarms"] == [
        {"AlarmName": "errors"},
        {"AlarmName": "latency"},
    ]


def _update(settings: DeploySettings) -> tuple[FakeSageMaker, dict[str, Any]]:
    sagemaker = FakeSageMaker(endpoint={"EndpointConfigName": "old-config"})
    deploy_model(
        DeployInput(model_name="model-v2", execution_name="run-2"), sagemaker=sagemaker, settings=settings
    )
    ((_, deployment_config),) = [call for call in sagemaker.calls if call[0] == "update_endpoint"]
    return sagemaker, deployment_config


def test_update_of_a_single_instance_shifts_all_at_once() -> None:
    _, deployment_config = _update(DEPLOY.model_copy(update={"endpoint_instance_count": 1}))
    routing = deployment_config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["Type"] == "ALL_AT_ONCE"
    assert "CanarySize" not in routing


def test_update_of_a_fleet_starts_with_a_canary_of_whole_instances() -> None:
    settings = DEPLOY.model_copy(update={"endpoint_instance_count": 20, "canary_traffic_percent": 10})
    _, deployment_config = _update(settings)
    routing = deployment_config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert (routing["Type"], routing["CanarySize"]) == ("CANARY", {"Type": "INSTANCE_COUNT", "Value": 2})


def test_update_config_carries_the_current_instance_and_capture_settings() -> None:
    settings = DEPLOY.model_copy(
        update={
            "endpoint_instance_type": "ml.c5.xlarge",
            "endpoint_instance_count": 3,
            "data_capture_percent": 20,
        }
    )
    sagemaker, _ = _update(settings)
    (config,) = sagemaker.endpoint_configs.values()
    (variant,) = config["ProductionVariants"]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.c5.xlarge", 3)
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 20


def test_retry_reuses_its_config_and_updates_nothing() -> None:
    sagemaker = FakeSageMaker()
    request = DeployInput(model_name="model-v1", execution_name="run-1")
    first = deploy_model(request, sagemaker=sagemaker, settings=DEPLOY)
    again = deploy_model(request, sagemaker=sagemaker, settings=DEPLOY)
    assert again.endpoint_config_name == first.endpoint_config_name
    assert [call for call, _ in sagemaker.calls] == ["create_endpoint_config", "create_endpoint"]


@pytest.mark.parametrize(
    ("execution_name", "tag_value"),
    [
        ("manual-\x00retrain\n\x1b[2J", "manual-_retrain___2J"),
        ("manual-\u202eexe.gpj", "manual-_exe.gpj"),  # a bidirectional override is a format character
        ("manual-relabel (scratch) #3", "manual-relabel _scratch_ _3"),
        ("upload-20261112T1000-1a2b3c4d", "upload-20261112T1000-1a2b3c4d"),
    ],
)
def test_the_execution_tag_holds_only_what_sagemaker_tag_values_allow(
    execution_name: str, tag_value: str
) -> None:
    sagemaker = FakeSageMaker()
    result = deploy_model(
        DeployInput(model_name="model-v1", execution_name=execution_name),
        sagemaker=sagemaker,
        settings=DEPLOY,
    )
    tags = {
        tag["Key"]: tag["Value"] for tag in sagemaker.endpoint_configs[result.endpoint_config_name]["Tags"]
    }
    assert tags["pipeline-execution"] == tag_value
    # SageMaker's pattern ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$, in unicodedata's terms.
    assert all(unicodedata.category(c)[0] in "LZN" or c in "_.:/=+-@" for c in tag_value)
