"""Deployment names and request bodies."""

from __future__ import annotations

import re

import pytest

from mlops_common.domain.deployment import (
    CANARY_BOUNDS,
    DEPLOYMENT_STYLES,
    LINEAR_BOUNDS,
    ROLLING_BOUNDS,
    DeploymentPolicy,
    DeploymentStyle,
    InvalidDeploymentConfiguration,
    data_capture_config,
    endpoint_config_name,
    monitoring_schedule_name,
    step_instances,
)

SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
HASH8 = "[0-9a-f]{8}"


def test_endpoint_config_name_is_valid_and_short_for_long_inputs() -> None:
    name = endpoint_config_name("m" * 63, "upload-20261112T1000-1a2b3c4d" * 3)
    assert len(name) <= 63
    assert SAGEMAKER_NAME.match(name)


def test_endpoint_config_name_uses_all_63_characters_of_a_long_model_name() -> None:
    assert re.fullmatch(f"m{{54}}-{HASH8}", endpoint_config_name("m" * 80, "exec-1"))


def test_endpoint_config_name_is_the_model_name_and_a_hash8() -> None:
    assert re.fullmatch(f"model-a-{HASH8}", endpoint_config_name("model-a", "exec-1"))


def test_endpoint_config_name_is_stable_per_model_and_execution() -> None:
    assert endpoint_config_name("model-a", "exec-1") == endpoint_config_name("model-a", "exec-1")
    assert endpoint_config_name("model-a", "exec-1") != endpoint_config_name("model-a", "exec-2")


@pytest.mark.parametrize(
    ("model_name", "stem"),
    [
        ("Xray_Model v2!", "Xray-Model-v2"),
        ("-model-", "model"),
        ("a__--b", "a-b"),
        ("___", "x"),
    ],
)
def test_endpoint_config_name_keeps_only_what_sagemaker_allows(model_name: str, stem: str) -> None:
    assert re.fullmatch(f"{stem}-{HASH8}", endpoint_config_name(model_name, "exec-1"))


def test_endpoint_config_name_cut_at_a_dash_drops_the_dash_only() -> None:
    name = endpoint_config_name("a" * 52 + "X-" + "b" * 20, "exec-1")
    assert re.fullmatch(f"a{{52}}X-{HASH8}", name)


def test_monitoring_schedule_name_fits_sagemaker_limits() -> None:
    name = monitoring_schedule_name("e" * 63)
    assert len(name) <= 63
    assert name.endswith("-data-quality")


def test_monitoring_schedule_name_cut_at_a_dash_drops_the_dash_only() -> None:
    name = monitoring_schedule_name("e" * 48 + "X-" + "f" * 10)
    assert name == "e" * 48 + "X-data-quality"


def test_new_endpoint_config_captures_input_and_output_under_capture_prefix() -> None:
    assert data_capture_config("artifacts", 25, "arn:aws:kms:us-east-1:1:key/k") == {
        "EnableCapture": True,
        "InitialSamplingPercentage": 25,
        "DestinationS3Uri": "s3://artifacts/capture",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
        "KmsKeyId": "arn:aws:kms:us-east-1:1:key/k",
    }


def test_data_capture_without_a_key_names_none() -> None:
    assert "KmsKeyId" not in data_capture_config("artifacts", 25, "")


ALARMS = ["errors", "latency"]
ROLLBACK = {"Alarms": [{"AlarmName": "errors"}, {"AlarmName": "latency"}]}


def test_the_default_policy_is_all_at_once_and_fits_the_default_single_instance() -> None:
    # The template's defaults: DeploymentStyle=all-at-once, EndpointInstanceCount=1.
    policy = DeploymentPolicy()
    assert policy.style == "all-at-once"
    assert policy.problems(1) == []


def test_all_at_once_shifts_everything_then_bakes_with_the_alarms_armed() -> None:
    assert DeploymentPolicy(canary_wait_seconds=300).deployment_config(1, ALARMS) == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300},
            "TerminationWaitInSeconds": 300,
        },
        "AutoRollbackConfiguration": ROLLBACK,
    }


def test_canary_is_a_blue_green_update_with_a_canary_of_whole_instances() -> None:
    policy = DeploymentPolicy(style="canary", canary_percent=10, canary_wait_seconds=300)
    assert policy.deployment_config(4, ALARMS) == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
                "WaitIntervalInSeconds": 300,
            },
            "TerminationWaitInSeconds": 300,
        },
        "AutoRollbackConfiguration": ROLLBACK,
    }


def test_linear_shifts_in_steps_with_its_own_wait() -> None:
    policy = DeploymentPolicy(style="linear", linear_step_percent=25, linear_wait_seconds=120)
    assert policy.deployment_config(8, ALARMS) == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "LINEAR",
                "LinearStepSize": {"Type": "INSTANCE_COUNT", "Value": 2},
                "WaitIntervalInSeconds": 120,
            },
            "TerminationWaitInSeconds": 120,
        },
        "AutoRollbackConfiguration": ROLLBACK,
    }


def test_rolling_replaces_the_fleet_in_batches_and_rolls_back_all_at_once_by_default() -> None:
    policy = DeploymentPolicy(style="rolling", rolling_batch_percent=25, rolling_wait_seconds=60)
    assert policy.deployment_config(8, ALARMS) == {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 2},
            "WaitIntervalInSeconds": 60,
        },
        "AutoRollbackConfiguration": ROLLBACK,
    }


def test_rolling_rollback_batch_is_given_when_below_the_whole_fleet() -> None:
    policy = DeploymentPolicy(style="rolling", rolling_batch_percent=25, rollback_batch_percent=50)
    rolling = policy.deployment_config(8, ALARMS)["RollingUpdatePolicy"]
    assert rolling["RollbackMaximumBatchSize"] == {"Type": "INSTANCE_COUNT", "Value": 4}


@pytest.mark.parametrize("style", DEPLOYMENT_STYLES)
def test_every_style_rolls_back_on_the_alarms(style: DeploymentStyle) -> None:
    assert DeploymentPolicy(style=style).deployment_config(4, ALARMS)["AutoRollbackConfiguration"] == ROLLBACK


@pytest.mark.parametrize("style", DEPLOYMENT_STYLES)
def test_no_alarms_means_no_rollback_block(style: DeploymentStyle) -> None:
    assert "AutoRollbackConfiguration" not in DeploymentPolicy(style=style).deployment_config(4, [])


@pytest.mark.parametrize("style", ["canary", "linear", "rolling"])
def test_a_single_instance_cannot_take_an_incremental_style_and_the_message_names_the_parameters(
    style: DeploymentStyle,
) -> None:
    with pytest.raises(InvalidDeploymentConfiguration) as refused:
        DeploymentPolicy(style=style).deployment_config(1, ALARMS)
    message = str(refused.value)
    assert f"DeploymentStyle={style}" in message
    assert "EndpointInstanceCount=1" in message
    assert "DeploymentStyle=all-at-once" in message  # what to do instead


@pytest.mark.parametrize(
    ("field", "value", "parameter"),
    [
        ("canary_percent", 0, "CanaryTrafficPercent=0"),
        ("canary_percent", 60, "CanaryTrafficPercent=60"),
        ("linear_step_percent", 5, "LinearStepPercent=5"),
        ("linear_step_percent", 51, "LinearStepPercent=51"),
        ("rolling_batch_percent", 4, "RollingBatchPercent=4"),
        ("rolling_batch_percent", 75, "RollingBatchPercent=75"),
        ("rollback_batch_percent", 0, "RollbackBatchPercent=0"),
        ("canary_wait_seconds", 3601, "CanaryWaitSeconds=3601"),
        ("linear_wait_seconds", -1, "LinearWaitSeconds=-1"),
        ("rolling_wait_seconds", 4000, "RollingWaitSeconds=4000"),
    ],
)
def test_sizes_and_waits_outside_aws_bounds_are_named(field: str, value: int, parameter: str) -> None:
    policy = DeploymentPolicy(style="rolling", **{field: value})
    with pytest.raises(InvalidDeploymentConfiguration, match=parameter):
        policy.validate(10)


def test_every_problem_is_named_at_once() -> None:
    problems = DeploymentPolicy(style="linear", linear_step_percent=60, linear_wait_seconds=9999).problems(1)
    assert len(problems) == 3


def test_an_unknown_style_is_named() -> None:
    policy = DeploymentPolicy(style="blue-green")  # type: ignore[arg-type]
    with pytest.raises(InvalidDeploymentConfiguration, match="DeploymentStyle='blue-green'"):
        policy.validate(4)


@pytest.mark.parametrize(
    ("instance_count", "percent", "bounds", "instances"),
    [
        (2, 10, CANARY_BOUNDS, 1),  # at least one instance, though that is half the fleet
        (3, 10, CANARY_BOUNDS, 1),
        (11, 10, CANARY_BOUNDS, 2),  # 1.1 instances rounds up
        (20, 50, CANARY_BOUNDS, 10),
        (3, 50, CANARY_BOUNDS, 1),  # 1.5 rounds up to 2, more than half of 3: capped at 1
        (1, 50, CANARY_BOUNDS, None),  # no canary fits one instance
        (2, 10, LINEAR_BOUNDS, 1),
        (20, 10, LINEAR_BOUNDS, 2),  # 10 % of 20
        (20, 25, LINEAR_BOUNDS, 5),
        (1, 25, LINEAR_BOUNDS, None),
        (20, 5, ROLLING_BOUNDS, 1),  # 5 % of 20
        (40, 5, ROLLING_BOUNDS, 2),
        (1, 25, ROLLING_BOUNDS, None),
    ],
)
def test_steps_are_whole_instances_within_aws_bounds(
    instance_count: int, percent: int, bounds: tuple[int, int], instances: int | None
) -> None:
    assert step_instances(instance_count, percent, bounds) == instances


SIZE_FIELD = {"canary": "CanarySize", "linear": "LinearStepSize"}
PERCENT_RANGES = {"canary": (1, 50), "linear": (10, 50), "rolling": (5, 50)}
PERCENT_FIELD = {
    "canary": "canary_percent",
    "linear": "linear_step_percent",
    "rolling": "rolling_batch_percent",
}
AWS_SHARE = {"canary": (0.0, 0.5), "linear": (0.10, 0.50), "rolling": (0.05, 0.50)}


@pytest.mark.parametrize("instance_count", range(2, 21))
@pytest.mark.parametrize("style", ["canary", "linear", "rolling"])
def test_every_size_the_parameters_allow_is_within_what_sagemaker_accepts(
    instance_count: int, style: DeploymentStyle
) -> None:
    low, high = PERCENT_RANGES[style]
    for percent in range(low, high + 1):
        policy = DeploymentPolicy(style=style, **{PERCENT_FIELD[style]: percent})
        config = policy.deployment_config(instance_count, [])
        if style == "rolling":
            size = config["RollingUpdatePolicy"]["MaximumBatchSize"]
        else:
            size = config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"][SIZE_FIELD[style]]
        share_low, share_high = AWS_SHARE[style]
        assert size["Type"] == "INSTANCE_COUNT"
        assert size["Value"] >= 1
        assert share_low * instance_count <= size["Value"] <= share_high * instance_count


@pytest.mark.parametrize(
    ("policy", "fleet", "seconds"),
    [
        (DeploymentPolicy(canary_wait_seconds=300), 1, 600),  # bake, then termination wait
        (DeploymentPolicy(style="canary", canary_wait_seconds=300), 4, 600),
        (DeploymentPolicy(style="linear", linear_step_percent=25, linear_wait_seconds=100), 8, 400),
        (DeploymentPolicy(style="rolling", rolling_batch_percent=50, rolling_wait_seconds=120), 4, 240),
    ],
)
def test_an_updates_bakes_add_up_per_style(policy: DeploymentPolicy, fleet: int, seconds: int) -> None:
    assert policy.bake_seconds(fleet) == seconds


def test_the_polling_budget_must_cover_the_bakes() -> None:
    policy = DeploymentPolicy(canary_wait_seconds=600)
    assert policy.polling_problem(1, 60, 20) is None
    problem = policy.polling_problem(1, 60, 10)
    assert problem is not None
    assert "EndpointMaxPolls to at least 21" in problem
