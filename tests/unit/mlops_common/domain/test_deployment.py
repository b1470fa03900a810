"""Deployment names and request bodies."""

from __future__ import annotations

import re

from mlops_common.domain.deployment import (
    blue_green_deployment_config,
    data_capture_config,
    endpoint_config_name,
    monitoring_schedule_name,
)

SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def test_endpoint_config_name_is_valid_and_short_for_long_inputs() -> None:
    name = endpoint_config_name("m" * 63, "upload-20261112T1000-1a2b3c4d" * 3)
    assert len(name) <= 63
    assert SAGEMAKER_NAME.match(name)


def test_endpoint_config_name_is_stable_per_model_and_execution() -> None:
    assert endpoint_config_name("model-a", "exec-1") == endpoint_config_name("model-a", "exec-1")
    assert endpoint_config_name("model-a", "exec-1") != endpoint_config_name("model-a", "exec-2")


def test_monitoring_schedule_name_fits_sagemaker_limits() -> None:
    name = monitoring_schedule_name("e" * 63)
    assert len(name) <= 63
    assert name.endswith("-data-quality")


def test_data_capture_records_input_and_output_under_capture_prefix() -> None:
    config = data_capture_config("artifacts", 25, "arn:aws:kms:us-east-1:1:key/k")
    assert config["DestinationS3Uri"] == "s3://artifacts/capture"
    assert config["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    assert config["InitialSamplingPercentage"] == 25
    assert config["KmsKeyId"].startswith("arn:aws:kms")


def test_blue_green_update_is_a_canary_with_alarm_rollback() -> None:
    config = blue_green_deployment_config(10, 300, ["errors", "latency"])
    routing = config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {
        "Type": "CANARY",
        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
        "WaitIntervalInSeconds": 300,
    }
    assert config["AutoRollbackConfiguration"]["Alarms"] == [
        {"AlarmName": "errors"},
        {"AlarmName": "latency"},
    ]


def test_no_alarms_means_no_rollback_block() -> None:
    assert "AutoRollbackConfiguration" not in blue_green_deployment_config(10, 300, [])
