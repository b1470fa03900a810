from typing import Any

import pytest

from mlops_common.domain.run_plan import InvalidConfiguration, plan_run
from mlops_common.models import PlanRunInput

DEFAULTS: dict[str, Any] = {
    "use_tuning": True,
    "use_debugger_rules": False,
    "use_spot": True,
    "network_isolation": True,
    "use_vpc": False,
    "training_instance_type": "ml.m5.xlarge",
    "processing_instance_type": "ml.m5.xlarge",
    "deploy_endpoint": True,
    "endpoint_instance_type": "ml.m5.large",
    "transform_instance_type": "ml.m5.xlarge",
    "max_runtime_seconds": 3600,
    "max_wait_seconds": 7200,
    "tuning_max_jobs": 8,
    "tuning_max_parallel_jobs": 2,
    "objective_metric": "validation:macro_f1",
    "epochs": 15,
    "model_architecture": "small_cnn",
    "pretrained_weights_key": "",
    "normal_class": "ok",
    "learning_rate_min": "0.001",
    "learning_rate_max": "0.005",
    "dropout_min": "0.1",
    "dropout_max": "0.3",
    "weight_decay_min": "0.00001",
    "weight_decay_max": "0.001",
    "batch_sizes": ["16", "32"],
    "hyperparameters": {},
    "endpoint_poll_seconds": 30,
    "endpoint_max_polls": 60,
}
IMAGES = {
    "training": {"cpu": "dlc/pytorch:2.13.0-cpu", "gpu": "dlc/pytorch:2.13.0-cu133"},
    "inference": {"cpu": "dlc/pytorch-inference:2.6.0-cpu", "gpu": "dlc/pytorch-inference:2.6.0-gpu"},
}


def _plan(overrides: dict[str, Any] | None = None, *, vpc: dict[str, str] | None = None, **defaults: Any):
    request = PlanRunInput.model_validate(
        {
            "execution_name": "upload-20261203-abc",
            "defaults": {**DEFAULTS, **defaults},
            "input": {"trigger": "upload", **({"overrides": overrides} if overrides is not None else {})},
            "vpc": vpc or {},
            "images": IMAGES,
            "code_uri": "s3://artifacts/code/v1/sourcedir.tar.gz",
        }
    )
    return plan_run(request, data_bucket="data", artifacts_bucket="artifacts")


def test_without_overrides_the_run_gets_the_defaults_and_the_cpu_images():
    planned = _plan()
    config = planned.config
    assert {key: config[key] for key in DEFAULTS} == DEFAULTS
    assert config["images"] == {
        "training": "dlc/pytorch:2.13.0-cpu",
        "processing": "dlc/pytorch:2.13.0-cpu",
        "inference": "dlc/pytorch-inference:2.6.0-cpu",
    }
    assert planned.network["training"] == {
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": True,
    }
    assert planned.network["processing"] == planned.network["training"]


def test_overrides_win_shallowly_and_are_typed():
    config = _plan({"epochs": "3", "use_spot": False, "hyperparameters": {"batch_size": "16"}}).config
    assert config["epochs"] == 3
    assert config["use_spot"] is False
    assert config["hyperparameters"] == {"batch_size": "16"}


def test_a_gpu_training_instance_gets_the_gpu_training_image_only():
    config = _plan({"training_instance_type": "ml.g5.xlarge"}).config
    assert config["images"]["training"] == "dlc/pytorch:2.13.0-cu133"
    assert config["images"]["processing"] == "dlc/pytorch:2.13.0-cpu"
    assert config["images"]["inference"] == "dlc/pytorch-inference:2.6.0-cpu"


def test_a_gpu_endpoint_and_transform_serve_the_gpu_inference_image():
    config = _plan(
        {"endpoint_instance_type": "ml.g5.xlarge", "transform_instance_type": "ml.g4dn.xlarge"}
    ).config
    assert config["images"]["inference"] == "dlc/pytorch-inference:2.6.0-gpu"


def test_endpoint_and_transform_on_different_hardware_are_refused():
    with pytest.raises(InvalidConfiguration, match="a model package holds one"):
        _plan({"endpoint_instance_type": "ml.g5.xlarge"})


def test_spot_wait_not_beyond_the_runtime_is_refused_with_both_values():
    with pytest.raises(
        InvalidConfiguration, match=r"MaxWaitSeconds greater than MaxRuntimeSeconds.*600.*3600"
    ):
        _plan({"use_spot": True, "max_wait_seconds": 600, "max_runtime_seconds": 3600})


def test_on_demand_needs_no_spot_wait():
    assert (
        _plan({"use_spot": False, "max_wait_seconds": 600, "max_runtime_seconds": 3600}).config["use_spot"]
        is False
    )


def test_an_unknown_override_is_refused_with_the_allowed_names():
    with pytest.raises(
        InvalidConfiguration, match=r"unknown override\(s\) use_spto; a run may override: .*use_spot"
    ):
        _plan({"use_spto": False})


def test_an_unknown_override_is_reported_with_the_other_problems():
    with pytest.raises(InvalidConfiguration) as caught:
        _plan({"use_spto": False, "epochs": 0})
    assert "unknown override(s) use_spto" in str(caught.value)
    assert "epochs: Input should be greater than or equal to 1" in str(caught.value)


def test_overrides_that_are_not_an_object_are_refused():
    with pytest.raises(InvalidConfiguration, match="must be a JSON object"):
        _plan(["epochs"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"epochs": 0}, "epochs: Input should be greater than or equal to 1"),
        ({"model_architecture": "vgg16"}, "model_architecture"),
        ({"training_instance_type": "m5.xlarge"}, "training_instance_type"),
        ({"tuning_max_parallel_jobs": 9}, r"TuningMaxParallelJobs \(9\) exceeds TuningMaxJobs \(8\)"),
        ({"learning_rate_min": "0.01"}, r"learning_rate range must have min < max \(got 0.01..0.005\)"),
        ({"dropout_max": "high"}, "dropout range '0.1'..'high' is not two numbers"),
        ({"batch_sizes": ["16", "big"]}, "batch size 'big' is not a positive whole number"),
        ({"training_instance_type": "ml.trn1.2xlarge"}, "Neuron container"),
    ],
)
def test_invalid_settings_name_the_setting(overrides, message):
    with pytest.raises(InvalidConfiguration, match=message):
        _plan(overrides)


def test_every_problem_is_reported_at_once():
    with pytest.raises(InvalidConfiguration) as caught:
        _plan({"tuning_max_parallel_jobs": 9, "max_wait_seconds": 60})
    assert "TuningMaxParallelJobs" in str(caught.value)
    assert "MaxWaitSeconds" in str(caught.value)


def test_the_vpc_is_used_only_when_asked_for_and_complete():
    vpc = {"subnet_ids": "subnet-1, subnet-2", "security_group_ids": "sg-1"}
    assert "VpcConfig" not in _plan(vpc=vpc).network["training"]
    network = _plan({"use_vpc": True}, vpc=vpc).network
    assert network["training"]["VpcConfig"] == {
        "Subnets": ["subnet-1", "subnet-2"],
        "SecurityGroupIds": ["sg-1"],
    }
    assert network["processing"]["VpcConfig"] == network["training"]["VpcConfig"]
    with pytest.raises(InvalidConfiguration, match="use_vpc needs VpcSubnetIds and VpcSecurityGroupIds"):
        _plan({"use_vpc": True}, vpc={"subnet_ids": "subnet-1"})


def test_the_training_channels_are_the_splits_and_the_code():
    channels = _plan().config["training_channels"]
    uris = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in channels}
    assert uris == {
        "train": "s3://data/datasets/upload-20261203-abc/train/",
        "validation": "s3://data/datasets/upload-20261203-abc/validation/",
        "code": "s3://artifacts/code/v1/sourcedir.tar.gz",
    }
    assert {c["ChannelName"]: c.get("ContentType") for c in channels} == {
        "train": "application/x-parquet",
        "validation": "application/x-parquet",
        "code": None,
    }


@pytest.mark.parametrize("backbone", ["resnet18", "mobilenet_v3_small"])
def test_a_backbone_reads_its_pretrained_weights_through_a_channel(backbone):
    config = _plan(
        {"model_architecture": backbone, "pretrained_weights_key": "pretrained/weights.pth"}
    ).config
    channel = config["training_channels"][-1]
    assert channel["ChannelName"] == "pretrained"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == "s3://artifacts/pretrained/weights.pth"
    # Network isolation stays on: the weights come in as data, nothing is downloaded in the job.
    assert _plan({"model_architecture": backbone, "pretrained_weights_key": "pretrained/w.pth"}).network[
        "training"
    ]["EnableNetworkIsolation"]


def test_a_backbone_without_weights_is_refused_unless_trained_from_scratch():
    with pytest.raises(InvalidConfiguration, match="set PretrainedWeightsKey"):
        _plan({"model_architecture": "resnet18"})
    scratch = _plan({"model_architecture": "resnet18", "hyperparameters": {"pretrained": "false"}}).config
    assert [c["ChannelName"] for c in scratch["training_channels"]] == ["train", "validation", "code"]


def test_small_cnn_needs_no_weights_even_when_a_key_is_set():
    config = _plan({"pretrained_weights_key": "pretrained/weights.pth"}).config
    assert "pretrained" not in [c["ChannelName"] for c in config["training_channels"]]
