"""The ClassifyTrainingFailure task's handler under moto.

moto has no ListTrainingJobsForHyperParameterTuningJob and completes every training job at once:
the listing is answered on the handler's client (``serve``, after botocore validated the request)
and a failed training job is moto's record of it, failed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends
from pydantic import ValidationError

from tests.conftest import REPO_ROOT

from .conftest import REGION, Stack, handler_of
from .test_deployment_tasks import serve

classify_training_failure = handler_of("classify_training_failure")

CAPACITY = (
    "CapacityError: Unable to provision requested ML compute capacity. "
    "Please retry using a different ML instance type."
)
ALGORITHM = 'AlgorithmError: ExecuteUserScriptError:\nExitCode 1\nErrorMessage "ValueError: no train channel"'
TRAINING_JOB = "upload-20261112T1000-1a2b3c4d-train-5e6f7a8b"


def sample() -> dict[str, Any]:
    """The sample event: a failed tuning job's .sync failure, as the ASL passes it."""
    event: dict[str, Any] = json.loads(
        (REPO_ROOT / "events" / "classify_training_failure.json").read_text(encoding="utf-8")
    )
    return event


def training_jobs(reasons: list[str]) -> list[dict[str, Any]]:
    """Serve the tuning job's failed training jobs, one per reason; the validated requests."""
    tuning_job = json.loads(sample()["failure"]["Cause"])["HyperParameterTuningJobName"]
    summaries = [
        {
            "TrainingJobName": f"{tuning_job}-{index:03d}-0c9d8e7f",
            "TrainingJobStatus": "Failed",
            "FailureReason": r,
        }
        for index, r in enumerate(reasons, start=1)
    ]
    return serve(
        "ListTrainingJobsForHyperParameterTuningJob", lambda body: {"TrainingJobSummaries": summaries}
    )


def failed_training_job(stack: Stack, name: str, reason: str) -> None:
    stack.client("sagemaker").create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": "pytorch-training:2.5", "TrainingInputMode": "File"},
        RoleArn="arn:aws:iam::123456789012:role/sagemaker-execution",
        OutputDataConfig={"S3OutputPath": f"s3://{stack.artifacts_bucket}/models"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
        EnableManagedSpotTraining=True,
    )
    job = sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].training_jobs[name]
    job.training_job_status, job.failure_reason = "Failed", reason


def test_a_tuning_job_whose_training_jobs_found_no_capacity_is_a_capacity_failure(
    stack: Stack, context: Any, log_lines: Any
) -> None:
    requests = training_jobs([CAPACITY, CAPACITY])

    result = classify_training_failure(sample(), context)

    assert result["capacity"] is True
    assert (result["job_kind"], result["job_name"]) == ("tuning", "1a2b3c4d-hpo-5e6f7a8b")
    assert (result["failed_training_jobs"], result["capacity_failures"]) == (2, 2)
    assert [request["StatusEquals"] for request in requests] == ["Failed"]
    (line,) = [line for line in log_lines() if line["message"] == "training failure classified"]
    assert line["capacity"] is True


def test_a_tuning_job_whose_script_failed_is_not_a_capacity_failure(stack: Stack, context: Any) -> None:
    training_jobs([ALGORITHM])

    result = classify_training_failure(sample(), context)

    assert result["capacity"] is False
    assert "ValueError: no train channel" in result["reason"]


def test_a_training_job_is_read_from_sagemaker(stack: Stack, context: Any) -> None:
    failed_training_job(stack, TRAINING_JOB, CAPACITY)
    cause = json.dumps({"TrainingJobName": TRAINING_JOB, "TrainingJobStatus": "Failed"})

    result = classify_training_failure({"failure": {"Error": "States.TaskFailed", "Cause": cause}}, context)

    assert (result["capacity"], result["job_kind"], result["job_name"]) == (True, "training", TRAINING_JOB)


def test_an_input_the_asl_does_not_build_is_rejected(stack: Stack, context: Any) -> None:
    with pytest.raises(ValidationError):
        classify_training_failure({"failure": {"Cause": "x"}}, context)
    with pytest.raises(ValidationError):
        classify_training_failure({**sample(), "tuning_job_name": "x"}, context)
