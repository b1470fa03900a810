"""SageMaker training, tuning, processing and transform jobs that run (through the job lifecycle)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from moto.core.responses import EmptyResult
from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from mlops_local.engine.emulation.registry import Emulation, LocalServices
from mlops_local.engine.jobs import LOCAL_CHILD_TAG, JobLifecycle
from mlops_local.engine.patching import Patches, replace

_CREATE_KINDS: Final[dict[str, tuple[str, str, str]]] = {
    # response method -> (job kind, name parameter, backend collection)
    "create_training_job": ("training", "TrainingJobName", "training_jobs"),
    "create_hyper_parameter_tuning_job": (
        "tuning",
        "HyperParameterTuningJobName",
        "hyper_parameter_tuning_jobs",
    ),
    "create_processing_job": ("processing", "ProcessingJobName", "processing_jobs"),
    "create_transform_job": ("transform", "TransformJobName", "transform_jobs"),
}
_DESCRIBE_KINDS: Final[dict[str, str]] = {
    "describe_training_job": "training",
    "describe_hyper_parameter_tuning_job": "tuning",
    "describe_processing_job": "processing",
    "describe_transform_job": "transform",
}
# What an executor reports for the runtime's own use (``LocalSpotSummary``, ``LocalMetricData``...)
# is not part of the answer: no field of DescribeTrainingJob, DescribeHyperParameterTuningJob,
# DescribeProcessingJob or DescribeTransformJob starts with "Local" at its top level.
LOCAL_FIELD_PREFIX: Final = "Local"
_STOP_KINDS: Final[dict[str, tuple[str, str]]] = {
    "stop_training_job": ("training", "TrainingJobName"),
    "stop_hyper_parameter_tuning_job": ("tuning", "HyperParameterTuningJobName"),
    "stop_processing_job": ("processing", "ProcessingJobName"),
    "stop_transform_job": ("transform", "TransformJobName"),
}


def _create_job(
    jobs: JobLifecycle, original: Callable[..., Any], kind: str, name_parameter: str, collection: str
) -> Callable[..., Any]:
    def create(response_self: SageMakerResponse) -> Any:
        request = json.loads(response_self.body)
        name = request[name_parameter]
        if name in getattr(response_self.sagemaker_backend, collection):
            raise ResourceInUseException(
                f"{name_parameter} {name} already exists: "
                "names must be unique within an AWS account and region"
            )
        result = original(response_self)
        tags = {t.get("Key"): t.get("Value") for t in request.get("Tags") or []}
        if LOCAL_CHILD_TAG not in tags:
            jobs.start(kind, name, request)
        return result

    return create


def _describe_job(jobs: JobLifecycle, original: Callable[..., Any], kind: str) -> Callable[..., Any]:
    def describe(backend_self: SageMakerModelBackend, *args: Any, **kwargs: Any) -> dict[str, Any]:
        # moto's responses pass the name positionally for some jobs and by keyword for others
        # (``hyper_parameter_tuning_job_name=``).
        name = args[0] if args else next(iter(kwargs.values()))
        described = jobs.describe(kind, name, original(backend_self, *args, **kwargs))
        return {key: value for key, value in described.items() if not key.startswith(LOCAL_FIELD_PREFIX)}

    return describe


def _stop_job(jobs: JobLifecycle, kind: str, name_parameter: str) -> Callable[..., Any]:
    def stop(response_self: SageMakerResponse) -> Any:
        name = response_self._get_param(name_parameter)
        if not jobs.stop(kind, name):
            raise ValidationError(message=f"Could not find job {name}")
        return EmptyResult()

    return stop


def _patches(services: LocalServices) -> Patches:
    jobs = services.jobs
    for method, (kind, name_parameter, collection) in _CREATE_KINDS.items():
        original = getattr(SageMakerResponse, method)
        yield replace(
            SageMakerResponse, method, _create_job(jobs, original, kind, name_parameter, collection)
        )
    for method, kind in _DESCRIBE_KINDS.items():
        original = getattr(SageMakerModelBackend, method)
        yield replace(SageMakerModelBackend, method, _describe_job(jobs, original, kind))
    for method, (kind, name_parameter) in _STOP_KINDS.items():
        yield replace(SageMakerResponse, method, _stop_job(jobs, kind, name_parameter), create=True)


EMULATION = Emulation(
    name="sagemaker_jobs",
    moto_does=(
        "stores a created job as Completed at once with placeholder results (a fake BestTrainingJob, "
        "MetricDefinitions replaced by test:dcg), accepts duplicate training job names, has no Stop*Job"
    ),
    aws_does=(
        "the job is InProgress until it ends; Describe echoes the request and reports the job's outcome "
        "in the API's fields only; "
        "names are unique (ResourceInUse); Stop*Job stops it"
    ),
    patches=_patches,
)
