"""A training run's plan: the deploy-time settings with the run's overrides, checked, and what
follows from them (container images, network, the training job's input channels).

The state machine used to merge and check these with nine Pass and Choice states, where the rules
could be neither typed nor unit-tested. Here every rule AWS would enforce later (spot wait beyond
the runtime, a complete VPC, an instance type a container exists for) fails the run before its
first job, with a message that names the setting.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mlops_common.domain.container_images import UnsupportedInstanceType, accelerator, image_for
from mlops_common.models import PlanRunInput, PlanRunOutput, VpcIds

# The networks train.py builds; the two backbones fine-tune ImageNet weights (docs/training.md).
BACKBONES = ("resnet18", "mobilenet_v3_small")
ARCHITECTURES = ("small_cnn", *BACKBONES)
INSTANCE_TYPE_PATTERN = r"^ml\.[a-z0-9-]+\.[a-z0-9-]+$"
# The channel train.py reads pretrained weights from (SM_CHANNEL_PRETRAINED).
PRETRAINED_CHANNEL = "pretrained"
PARQUET = "application/x-parquet"


class InvalidConfiguration(ValueError):
    """The run's settings ask for something AWS would refuse or the code cannot do.

    Lambda reports the class name as ``errorType``: the state machine catches it by that name.
    """


class RunConfig(BaseModel):
    """The settings a run may override (execution input ``overrides``): the template's defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    use_tuning: bool
    use_debugger_rules: bool
    use_spot: bool
    network_isolation: bool
    use_vpc: bool
    training_instance_type: str = Field(pattern=INSTANCE_TYPE_PATTERN)
    processing_instance_type: str = Field(pattern=INSTANCE_TYPE_PATTERN)
    deploy_endpoint: bool
    endpoint_instance_type: str = Field(pattern=INSTANCE_TYPE_PATTERN)
    transform_instance_type: str = Field(pattern=INSTANCE_TYPE_PATTERN)
    max_runtime_seconds: int = Field(ge=1, le=432000)
    max_wait_seconds: int = Field(ge=1, le=432000)
    tuning_max_jobs: int = Field(ge=1, le=500)
    tuning_max_parallel_jobs: int = Field(ge=1, le=100)
    objective_metric: Literal["validation:macro_f1", "validation:accuracy", "validation:min_defect_recall"]
    epochs: int = Field(ge=1, le=500)
    model_architecture: Literal["small_cnn", "resnet18", "mobilenet_v3_small"]
    # An object key in the artifacts bucket: the backbones' ImageNet weights (a state_dict file).
    pretrained_weights_key: str = ""
    normal_class: str = Field(min_length=1)
    # Tuning ranges stay strings: the tuning API takes them as strings.
    learning_rate_min: str
    learning_rate_max: str
    dropout_min: str
    dropout_max: str
    weight_decay_min: str
    weight_decay_max: str
    batch_sizes: list[str] = Field(min_length=1)
    hyperparameters: dict[str, str] = Field(default_factory=dict)
    endpoint_poll_seconds: int = Field(ge=1)
    endpoint_max_polls: int = Field(ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> RunConfig:
        problems: list[str] = []
        # CreateTrainingJob: "MaxWaitTimeInSeconds ... must be equal to or greater than
        # MaxRuntimeInSeconds" for managed spot; the tuning job refuses equality as well
        # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StoppingCondition.html).
        if self.use_spot and self.max_wait_seconds <= self.max_runtime_seconds:
            problems.append(
                "UseSpotTraining needs MaxWaitSeconds greater than MaxRuntimeSeconds "
                f"(max_wait_seconds={self.max_wait_seconds}, max_runtime_seconds={self.max_runtime_seconds})"
            )
        if self.tuning_max_parallel_jobs > self.tuning_max_jobs:
            problems.append(
                f"TuningMaxParallelJobs ({self.tuning_max_parallel_jobs}) exceeds TuningMaxJobs "
                f"({self.tuning_max_jobs})"
            )
        for name in ("learning_rate", "dropout", "weight_decay"):
            low, high = getattr(self, f"{name}_min"), getattr(self, f"{name}_max")
            try:
                ordered = float(low) < float(high)
            except ValueError:
                problems.append(f"{name} range {low!r}..{high!r} is not two numbers")
                continue
            if not ordered:
                problems.append(f"{name} range must have min < max (got {low}..{high})")
        for size in self.batch_sizes:
            if not size.isdigit() or int(size) < 1:
                problems.append(f"batch size {size!r} is not a positive whole number")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def fine_tunes_pretrained_weights(self) -> bool:
        """A backbone that starts from ImageNet weights (train.py's ``pretrained`` hyperparameter)."""
        return (
            self.model_architecture in BACKBONES
            and self.hyperparameters.get("pretrained", "true").lower() != "false"
        )


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _describe(error: ValidationError) -> str:
    """Every problem pydantic found, in one line; unknown overrides with the names a run may use."""
    parts, unknown = [], []
    for issue in error.errors():
        where = ".".join(str(item) for item in issue["loc"])
        if issue["type"] == "extra_forbidden":
            unknown.append(where)
            continue
        message = issue["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    if unknown:
        parts.insert(
            0,
            f"unknown override(s) {', '.join(sorted(unknown))}; a run may override: "
            + ", ".join(sorted(RunConfig.model_fields)),
        )
    return "; ".join(parts)


def resolve_settings(defaults: dict[str, Any], overrides: Any) -> RunConfig:
    """The defaults with the run's overrides (a shallow merge, as before), validated: every problem
    (unknown names included, RunConfig forbids extra fields) reported at once."""
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, dict):
        raise InvalidConfiguration(f"overrides must be a JSON object, got {type(overrides).__name__}")
    try:
        return RunConfig.model_validate({**defaults, **overrides})
    except ValidationError as exc:
        raise InvalidConfiguration(_describe(exc)) from exc


def dataset_uri(data_bucket: str, dataset_version: str) -> str:
    """Where the Glue job writes a dataset version (its splits are ``train/``, ``validation/``, ``test/``)."""
    return f"s3://{data_bucket}/datasets/{dataset_version}/"


def _s3_channel(name: str, uri: str, content_type: str | None = None) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3DataDistributionType": "FullyReplicated",
                "S3Uri": uri,
            }
        },
    }
    if content_type:
        channel["ContentType"] = content_type
    return channel


def training_channels(
    settings: RunConfig, *, dataset: str, code_uri: str, artifacts_bucket: str
) -> list[dict[str, Any]]:
    """The training job's InputDataConfig: the splits, the code bundle, and the pretrained weights
    when a backbone fine-tunes them (network isolation stays on: nothing is downloaded in the job).
    """
    channels = [
        _s3_channel("train", dataset + "train/", PARQUET),
        _s3_channel("validation", dataset + "validation/", PARQUET),
        _s3_channel("code", code_uri),
    ]
    if settings.fine_tunes_pretrained_weights:
        if not settings.pretrained_weights_key:
            raise InvalidConfiguration(
                f"ModelArchitecture={settings.model_architecture} fine-tunes ImageNet weights: set "
                "PretrainedWeightsKey (scripts/fetch_pretrained_weights.py uploads them) or pass "
                'hyperparameters {"pretrained": "false"} to train it from scratch'
            )
        key = settings.pretrained_weights_key.lstrip("/")
        channels.append(_s3_channel(PRETRAINED_CHANNEL, f"s3://{artifacts_bucket}/{key}"))
    return channels


def network(settings: RunConfig, vpc: VpcIds) -> dict[str, Any]:
    """The jobs' network settings: isolation and encryption always, the VPC when asked for."""
    base: dict[str, Any] = {
        "EnableNetworkIsolation": settings.network_isolation,
        "EnableInterContainerTrafficEncryption": True,
    }
    if settings.use_vpc:
        subnets, groups = _split(vpc.subnet_ids), _split(vpc.security_group_ids)
        if not subnets or not groups:
            raise InvalidConfiguration(
                "use_vpc needs VpcSubnetIds and VpcSecurityGroupIds set on the stack "
                f"(subnets: {subnets or 'none'}, security groups: {groups or 'none'})"
            )
        base = {**base, "VpcConfig": {"Subnets": subnets, "SecurityGroupIds": groups}}
    return {"training": base, "processing": dict(base)}


def _serving_instance_type(settings: RunConfig) -> str:
    """The instance type the registered package's one image is built for.

    A model package names one serving image, and both the endpoint and batch transform create their
    models from it: the two must run on the same kind of hardware.
    """
    endpoint, transform = settings.endpoint_instance_type, settings.transform_instance_type
    if accelerator(endpoint) != accelerator(transform):
        raise InvalidConfiguration(
            f"EndpointInstanceType {endpoint} ({accelerator(endpoint)}) and TransformInstanceType "
            f"{transform} ({accelerator(transform)}) need different serving images, and a model "
            "package holds one: choose both CPU or both GPU instance types"
        )
    return endpoint


def plan_run(request: PlanRunInput, *, data_bucket: str, artifacts_bucket: str) -> PlanRunOutput:
    """The run's ``config`` and ``network`` for the states that follow, or ``InvalidConfiguration``."""
    settings = resolve_settings(request.defaults, request.input.get("overrides"))
    try:
        images = {
            "training": image_for(request.images.training, settings.training_instance_type),
            "processing": image_for(request.images.training, settings.processing_instance_type),
            "inference": image_for(request.images.inference, _serving_instance_type(settings)),
        }
    except UnsupportedInstanceType as exc:
        raise InvalidConfiguration(str(exc)) from exc
    channels = training_channels(
        settings,
        dataset=dataset_uri(data_bucket, request.execution_name),
        code_uri=request.code_uri,
        artifacts_bucket=artifacts_bucket,
    )
    config = {**settings.model_dump(), "images": images, "training_channels": channels}
    return PlanRunOutput(config=config, network=network(settings, request.vpc))
