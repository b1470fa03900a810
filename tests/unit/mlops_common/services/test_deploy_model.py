"""deploy_model's use case with fake endpoints: create first, then updates in the template's style."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from mlops_common.domain.deployment import EndpointBusy, InvalidDeploymentConfiguration
from mlops_common.models import DeployInput
from mlops_common.services.deploy_model import deploy_model
from mlops_common.settings import DeploySettings
from tests.unit.mlops_common.fakes import DEPLOY, FakeSageMaker, FakeScaling


def test_first_deploy_creates_the_endpoint() -> None:
    sagemaker = FakeSageMaker()
    result = deploy_model(
        DeployInput(model_name="model-v1", execution_name="run-1"),
        sagemaker=sagemaker,
        scaling=FakeScaling(),
        settings=DEPLOY,
    )
    assert (result.action, result.previous_endpoint_config_name) == ("create", None)
    assert [call for call, _ in sagemaker.calls] == ["create_endpoint_config", "create_endpoint"]
    assert "KmsKeyId" not in sagemaker.endpoint_configs[result.endpoint_config_name]  # KMS_KEY_ARN empty


def test_next_deploy_is_an_update_rolled_back_by_the_alarms() -> None:
    sagemaker = FakeSageMaker(endpoint={"EndpointConfigName": "old-config"})
    result = deploy_model(
        DeployInput(model_name="model-v2", execution_name="run-2"),
        sagemaker=sagemaker,
        scaling=FakeScaling(),
        settings=DEPLOY,
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
        DeployInput(model_name="model-v2", execution_name="run-2"),
        sagemaker=sagemaker,
        scaling=FakeScaling(),
        settings=settings,
    )
    ((_, deployment_config),) = [call for call in sagemaker.calls if call[0] == "update_endpoint"]
    return sagemaker, deployment_config


def test_update_of_a_single_instance_shifts_all_at_once() -> None:
    _, deployment_config = _update(DEPLOY.model_copy(update={"endpoint_instance_count": 1}))
    routing = deployment_config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["Type"] == "ALL_AT_ONCE"
    assert "CanarySize" not in routing


def test_update_of_a_fleet_starts_with_a_canary_of_whole_instances() -> None:
    settings = DEPLOY.model_copy(
        update={"endpoint_instance_count": 20, "deployment_style": "canary", "canary_traffic_percent": 10}
    )
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
    first = deploy_model(request, sagemaker=sagemaker, scaling=FakeScaling(), settings=DEPLOY)
    again = deploy_model(request, sagemaker=sagemaker, scaling=FakeScaling(), settings=DEPLOY)
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
        scaling=FakeScaling(),
        settings=DEPLOY,
    )
    tags = {
        tag["Key"]: tag["Value"] for tag in sagemaker.endpoint_configs[result.endpoint_config_name]["Tags"]
    }
    assert tags["pipeline-execution"] == tag_value
    # SageMaker's pattern ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$, in unicodedata's terms.
    assert all(unicodedata.category(c)[0] in "LZN" or c in "_.:/=+-@" for c in tag_value)


# --- deployment styles and their checks --------------------------------------------------------


def test_the_default_style_updates_a_single_instance_all_at_once() -> None:
    _, deployment_config = _update(DEPLOY)
    assert deployment_config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "ALL_AT_ONCE"


@pytest.mark.parametrize(
    ("style", "key"),
    [
        ("linear", "BlueGreenUpdatePolicy"),
        ("rolling", "RollingUpdatePolicy"),
        ("canary", "BlueGreenUpdatePolicy"),
    ],
)
def test_each_style_reaches_update_endpoint_with_the_alarms(style: str, key: str) -> None:
    settings = DEPLOY.model_copy(update={"endpoint_instance_count": 4, "deployment_style": style})
    _, deployment_config = _update(settings)
    assert key in deployment_config
    assert deployment_config["AutoRollbackConfiguration"]["Alarms"] == [
        {"AlarmName": "errors"},
        {"AlarmName": "latency"},
    ]


@pytest.mark.parametrize("style", ["canary", "linear", "rolling"])
def test_a_style_the_fleet_cannot_take_fails_before_any_aws_call(style: str) -> None:
    sagemaker = FakeSageMaker(endpoint={"EndpointConfigName": "old-config"})
    settings = DEPLOY.model_copy(update={"endpoint_instance_count": 1, "deployment_style": style})
    with pytest.raises(InvalidDeploymentConfiguration) as refused:
        deploy_model(
            DeployInput(model_name="model-v2", execution_name="run-2"),
            sagemaker=sagemaker,
            scaling=FakeScaling(),
            settings=settings,
        )
    assert f"DeploymentStyle={style}" in str(refused.value)
    assert "EndpointInstanceCount=1" in str(refused.value)
    assert sagemaker.calls == []
    assert sagemaker.endpoint_configs == {}


def test_the_first_deploy_is_refused_too_so_a_broken_stack_never_half_deploys() -> None:
    sagemaker = FakeSageMaker()
    settings = DEPLOY.model_copy(update={"deployment_style": "rolling"})
    with pytest.raises(InvalidDeploymentConfiguration):
        deploy_model(
            DeployInput(model_name="model-v1", execution_name="run-1"),
            sagemaker=sagemaker,
            scaling=FakeScaling(),
            settings=settings,
        )
    assert sagemaker.calls == []


def test_an_endpoint_busy_scaling_is_not_updated_and_the_error_says_why() -> None:
    sagemaker = FakeSageMaker(endpoint={"EndpointConfigName": "old-config", "EndpointStatus": "Updating"})
    with pytest.raises(EndpointBusy, match="Updating"):
        deploy_model(
            DeployInput(model_name="model-v2", execution_name="run-2"),
            sagemaker=sagemaker,
            scaling=FakeScaling(),
            settings=DEPLOY,
        )
    assert [call for call, _ in sagemaker.calls if call == "update_endpoint"] == []


def test_a_retry_while_its_own_update_runs_starts_nothing_new() -> None:
    request = DeployInput(model_name="model-v2", execution_name="run-2")
    sagemaker = FakeSageMaker()
    config = deploy_model(request, sagemaker=sagemaker, scaling=FakeScaling(), settings=DEPLOY)
    sagemaker.endpoint = {
        "EndpointConfigName": "old-config",
        "EndpointStatus": "Updating",
        "PendingDeploymentSummary": {"EndpointConfigName": config.endpoint_config_name},
    }
    sagemaker.calls.clear()
    again = deploy_model(request, sagemaker=sagemaker, scaling=FakeScaling(), settings=DEPLOY)
    assert again.action == "update"
    assert sagemaker.calls == []


# --- autoscaling around an update ----------------------------------------------------------------

VARIANT = "endpoint/defect-classifier/variant/AllTraffic"
SCALED = DEPLOY.model_copy(update={"endpoint_instance_count": 2, "autoscaling_max_instance_count": 6})


def _scaled_endpoint(instance_type: str, live_count: int) -> FakeSageMaker:
    sagemaker = FakeSageMaker(
        endpoint={
            "EndpointConfigName": "old-config",
            "EndpointStatus": "InService",
            "ProductionVariants": [{"VariantName": "AllTraffic", "DesiredInstanceCount": live_count}],
        }
    )
    sagemaker.endpoint_configs["old-config"] = {
        "EndpointConfigName": "old-config",
        "ProductionVariants": [{"VariantName": "AllTraffic", "InstanceType": instance_type}],
    }
    return sagemaker


def _deploy_scaled(sagemaker: FakeSageMaker, scaling: FakeScaling, settings: DeploySettings = SCALED) -> str:
    result = deploy_model(
        DeployInput(model_name="model-v2", execution_name="run-2"),
        sagemaker=sagemaker,
        scaling=scaling,
        settings=settings,
    )
    return result.autoscaling


def test_a_new_model_on_the_same_instance_type_keeps_autoscaling_registered() -> None:
    scaling = FakeScaling({VARIANT: {"ResourceId": VARIANT}})
    assert _deploy_scaled(_scaled_endpoint("ml.m5.large", 4), scaling) == "kept"
    assert ("deregister_scalable_target", VARIANT) not in scaling.calls
    assert VARIANT in scaling.targets


def test_an_instance_type_change_deregisters_autoscaling_before_the_update() -> None:
    sagemaker = _scaled_endpoint("ml.m5.large", 4)
    scaling = FakeScaling({VARIANT: {"ResourceId": VARIANT}})
    settings = SCALED.model_copy(update={"endpoint_instance_type": "ml.c5.xlarge"})
    assert _deploy_scaled(sagemaker, scaling, settings) == "deregistered"
    assert scaling.targets == {}
    # Deregistered before UpdateEndpoint, which SageMaker would refuse otherwise.
    assert [call for call, _ in sagemaker.calls][-1] == "update_endpoint"


def test_without_a_registered_target_an_update_touches_no_scaling() -> None:
    scaling = FakeScaling()
    assert _deploy_scaled(_scaled_endpoint("ml.m5.large", 2), scaling, SCALED) == "none"
    assert scaling.calls == []


def test_the_new_fleet_starts_at_the_size_autoscaling_holds_the_live_one() -> None:
    sagemaker = _scaled_endpoint("ml.m5.large", 4)
    _deploy_scaled(sagemaker, FakeScaling({VARIANT: {"ResourceId": VARIANT}}))
    new_config = next(config for name, config in sagemaker.endpoint_configs.items() if name != "old-config")
    assert new_config["ProductionVariants"][0]["InitialInstanceCount"] == 4
    ((_, deployment_config),) = [call for call in sagemaker.calls if call[0] == "update_endpoint"]
    assert "BlueGreenUpdatePolicy" in deployment_config


def test_a_scaling_policy_aws_would_refuse_fails_the_deploy_naming_the_parameter() -> None:
    sagemaker = _scaled_endpoint("ml.m5.large", 2)
    broken = SCALED.model_copy(update={"autoscaling_scale_in_cooldown_seconds": -5})
    with pytest.raises(InvalidDeploymentConfiguration, match="AutoscalingScaleInCooldownSeconds=-5"):
        _deploy_scaled(sagemaker, FakeScaling(), broken)
    assert sagemaker.calls == []


def test_a_fleet_grown_past_the_default_maximum_is_a_fixed_fleet_not_an_error() -> None:
    sagemaker = _scaled_endpoint("ml.m5.large", 9)
    settings = DEPLOY.model_copy(update={"endpoint_instance_count": 3})  # maximum left at 1
    assert _deploy_scaled(sagemaker, FakeScaling(), settings) == "none"
    new_config = next(config for name, config in sagemaker.endpoint_configs.items() if name != "old-config")
    assert new_config["ProductionVariants"][0]["InitialInstanceCount"] == 3


def test_an_update_that_outlasts_the_pipelines_polling_is_refused_before_any_change() -> None:
    # All at once on one instance bakes 2 x CanaryWaitSeconds; 10 polls of 60 s wait 600 s only.
    settings = DEPLOY.model_copy(update={"endpoint_instance_count": 1, "canary_wait_seconds": 600})
    sagemaker = FakeSageMaker(endpoint={"EndpointConfigName": "old-config"})
    request = DeployInput(
        model_name="model-v2", execution_name="run-2", endpoint_poll_seconds=60, endpoint_max_polls=10
    )
    with pytest.raises(InvalidDeploymentConfiguration, match=r"waits 1200 s .* = 600 s.*at least 21"):
        deploy_model(request, sagemaker=sagemaker, scaling=FakeScaling(), settings=settings)
    assert "update_endpoint" not in [call for call, _ in sagemaker.calls]


def test_an_update_within_the_polling_budget_goes_ahead() -> None:
    settings = DEPLOY.model_copy(update={"endpoint_instance_count": 1, "canary_wait_seconds": 600})
    sagemaker = FakeSageMaker(endpoint={"EndpointConfigName": "old-config"})
    request = DeployInput(
        model_name="model-v2", execution_name="run-2", endpoint_poll_seconds=60, endpoint_max_polls=90
    )
    assert (
        deploy_model(request, sagemaker=sagemaker, scaling=FakeScaling(), settings=settings).action
        == "update"
    )
