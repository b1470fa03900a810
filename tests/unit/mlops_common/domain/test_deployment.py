"""Deployment names and request bodies."""

from __future__ import annotations

import re

import pytest

from mlops_common.domain.deployment import (
    blue_green_deployment_config,
    canary_instances,
    data_capture_config,
    endpoint_config_name,
    monitoring_schedule_name,
    traffic_routing,
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


def test_blue_green_update_is_a_canary_with_alarm_rollback() -> None:
    assert blue_green_deployment_config(4, 10, 300, ["errors", "latency"]) == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
                "WaitIntervalInSeconds": 300,
            },
            "TerminationWaitInSeconds": 300,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "errors"}, {"AlarmName": "latency"}]},
    }


def test_single_instance_update_shifts_all_at_once_and_still_bakes_with_rollback() -> None:
    assert blue_green_deployment_config(1, 10, 300, ["errors"]) == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300},
            "TerminationWaitInSeconds": 300,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "errors"}]},
    }


def test_no_alarms_means_no_rollback_block() -> None:
    assert "AutoRollbackConfiguration" not in blue_green_deployment_config(4, 10, 300, [])


def test_a_single_instance_has_no_canary() -> None:
    assert canary_instances(1, 50) is None


@pytest.mark.parametrize(
    ("instance_count", "canary_percent", "instances"),
    [
        (2, 10, 1),  # at least one instance, though that is half the fleet
        (3, 10, 1),
        (10, 10, 1),
        (11, 10, 2),  # 1.1 instances rounds up
        (20, 10, 2),
        (20, 50, 10),
        (3, 50, 1),  # 1.5 rounds up to 2, more than half of 3: capped at 1
        (4, 100, 2),  # never more than half the fleet
    ],
)
def test_canary_is_whole_instances_between_one_and_half_the_fleet(
    instance_count: int, canary_percent: int, instances: int
) -> None:
    assert canary_instances(instance_count, canary_percent) == instances


@pytest.mark.parametrize("instance_count", range(1, 21))
@pytest.mark.parametrize("canary_percent", [1, 10, 25, 50])
def test_every_canary_is_within_what_sagemaker_accepts(instance_count: int, canary_percent: int) -> None:
    routing = traffic_routing(instance_count, canary_percent, 300)
    if routing["Type"] == "CANARY":
        size = routing["CanarySize"]
        assert size["Type"] == "INSTANCE_COUNT"
        assert 1 <= size["Value"] <= instance_count / 2
    else:
        assert (routing["Type"], instance_count) == ("ALL_AT_ONCE", 1)
