"""classify_training_failure with the real SageMaker adapter on moto: tuning and training failures
as SageMaker reports them, answered from the training jobs' own FailureReason.

moto runs no job (a created training job is Completed at once) and has no
ListTrainingJobsForHyperParameterTuningJob: a test fails a job by setting moto's record of it, and
answers the listing from a ``before-call`` hook on the adapter's client, after botocore has
validated the request against SageMaker's API model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from mlops_common.adapters.sagemaker import SageMaker
from mlops_common.models import ClassifyTrainingFailureInput
from mlops_common.services.classify_training_failure import classify_training_failure
from tests.sagemaker_failure_reasons import ALGORITHM, CAPACITY, TUNING_REASON

REGION = "us-east-1"
TUNING_JOB = "1a2b3c4d-hpo-5e6f7a8b"
TRAINING_JOB = "upload-20261112T1000-1a2b3c4d-train-5e6f7a8b"


@pytest.fixture
def sagemaker(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.client("sagemaker", region_name=REGION)


def training_job(client: Any, name: str, status: str = "Failed", reason: str | None = None) -> None:
    """A training job that ended ``status`` with ``reason``, as SageMaker would report it."""
    client.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": "pytorch-training:2.5", "TrainingInputMode": "File"},
        RoleArn="arn:aws:iam::123456789012:role/sagemaker",
        OutputDataConfig={"S3OutputPath": "s3://artifacts/models"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
        EnableManagedSpotTraining=True,
    )
    job = sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].training_jobs[name]
    job.training_job_status = status
    job.failure_reason = reason


def summary(name: str, reason: str | None) -> dict[str, Any]:
    """A HyperParameterTrainingJobSummary of a failed training job of the tuning job."""
    item: dict[str, Any] = {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:123456789012:training-job/{name}",
        "TuningJobName": TUNING_JOB,
        "CreationTime": "2026-11-12T10:00:00Z",
        "TrainingJobStatus": "Failed",
        "TunedHyperParameters": {"learning_rate": "0.001"},
        "ObjectiveStatus": "Failed",
    }
    if reason is not None:
        item["FailureReason"] = reason
    return item


def list_trials(client: Any, pages: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Answer ListTrainingJobsForHyperParameterTuningJob with ``pages``; the requests, validated."""
    requests: list[dict[str, Any]] = []

    def hook(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        body = json.loads(params["body"])
        requests.append(body)
        index = int(body.get("NextToken", 0))
        page: dict[str, Any] = {"TrainingJobSummaries": pages[index]}
        if index + 1 < len(pages):
            page["NextToken"] = str(index + 1)
        return type("Http", (), {"status_code": 200, "headers": {}, "text": ""})(), page

    client.meta.events.register("before-call.sagemaker.ListTrainingJobsForHyperParameterTuningJob", hook)
    return requests


def caught(error: str, cause: str) -> ClassifyTrainingFailureInput:
    """The Catch's error output, as the ASL passes it."""
    return ClassifyTrainingFailureInput.model_validate({"failure": {"Error": error, "Cause": cause}})


def tuning_failure() -> ClassifyTrainingFailureInput:
    described = {
        "HyperParameterTuningJobName": TUNING_JOB,
        "HyperParameterTuningJobStatus": "Failed",
        "FailureReason": TUNING_REASON,
        "TrainingJobStatusCounters": {"Completed": 0, "InProgress": 0, "NonRetryableError": 2},
    }
    return caught("States.TaskFailed", json.dumps(described))


def training_failure(reason: str) -> ClassifyTrainingFailureInput:
    described = {"TrainingJobName": TRAINING_JOB, "TrainingJobStatus": "Failed", "FailureReason": reason}
    return caught("States.TaskFailed", json.dumps(described))


def test_a_tuning_job_whose_training_jobs_found_no_capacity_is_a_capacity_failure(sagemaker: Any) -> None:
    requests = list_trials(
        sagemaker,
        [[summary(f"{TUNING_JOB}-001-0c9d8e7f", CAPACITY), summary(f"{TUNING_JOB}-002-1d2e3f4a", CAPACITY)]],
    )

    result = classify_training_failure(tuning_failure(), sagemaker=SageMaker(sagemaker))

    assert result.capacity is True
    assert (result.job_kind, result.job_name) == ("tuning", TUNING_JOB)
    assert (result.failed_training_jobs, result.capacity_failures) == (2, 2)
    (request,) = requests
    assert request["HyperParameterTuningJobName"] == TUNING_JOB
    assert request["StatusEquals"] == "Failed"


def test_a_summary_without_its_reason_is_completed_by_the_training_jobs_description(sagemaker: Any) -> None:
    trial = f"{TUNING_JOB}-001-0c9d8e7f"
    training_job(sagemaker, trial, reason=CAPACITY)
    list_trials(sagemaker, [[summary(trial, None)]])

    result = classify_training_failure(tuning_failure(), sagemaker=SageMaker(sagemaker))

    assert (result.capacity, result.capacity_failures) == (True, 1)


def test_mixed_training_jobs_over_several_pages_are_not_a_capacity_failure(sagemaker: Any) -> None:
    requests = list_trials(
        sagemaker,
        [
            [summary(f"{TUNING_JOB}-001-0c9d8e7f", CAPACITY)],
            [summary(f"{TUNING_JOB}-002-1d2e3f4a", ALGORITHM)],
        ],
    )

    result = classify_training_failure(tuning_failure(), sagemaker=SageMaker(sagemaker))

    assert result.capacity is False
    assert (result.failed_training_jobs, result.capacity_failures) == (2, 1)
    assert "ValueError: no train channel" in result.reason
    assert [request.get("NextToken") for request in requests] == [None, "1"]


def test_a_tuning_job_with_no_failed_training_job_is_not_a_capacity_failure(sagemaker: Any) -> None:
    list_trials(sagemaker, [[]])

    result = classify_training_failure(tuning_failure(), sagemaker=SageMaker(sagemaker))

    assert (result.capacity, result.failed_training_jobs) == (False, 0)


def test_a_training_job_is_judged_by_its_reason_as_sagemaker_reports_it(sagemaker: Any) -> None:
    training_job(sagemaker, TRAINING_JOB, reason=CAPACITY)

    # The cause's copy of the reason is not what decides: SageMaker's description is.
    result = classify_training_failure(training_failure("anything"), sagemaker=SageMaker(sagemaker))

    assert result.capacity is True
    assert (result.job_kind, result.job_name, result.failed_training_jobs) == ("training", TRAINING_JOB, 1)


def test_a_training_job_that_failed_on_its_own_is_not_a_capacity_failure(sagemaker: Any) -> None:
    training_job(sagemaker, TRAINING_JOB, reason=ALGORITHM)

    result = classify_training_failure(training_failure(ALGORITHM), sagemaker=SageMaker(sagemaker))

    assert result.capacity is False
    assert "failed for a reason of their own" in result.reason


def test_a_stopped_training_job_is_not_a_capacity_failure(sagemaker: Any) -> None:
    training_job(sagemaker, TRAINING_JOB, status="Stopped")

    result = classify_training_failure(training_failure(""), sagemaker=SageMaker(sagemaker))

    assert (result.capacity, result.failed_training_jobs) == (False, 0)


def test_a_create_refused_over_a_quota_is_a_capacity_failure_without_asking_sagemaker(sagemaker: Any) -> None:
    cause = (
        "The account-level service limit 'ml.m5.xlarge for spot training job usage' is 0 Instances, with "
        "current utilization of 0 Instances and a request delta of 1 Instances. (Service: AmazonSageMaker; "
        "Status Code: 400; Error Code: ResourceLimitExceeded; Request ID: r1; Proxy: null)"
    )
    requests = list_trials(sagemaker, [[]])

    result = classify_training_failure(
        caught("SageMaker.ResourceLimitExceededException", cause), sagemaker=SageMaker(sagemaker)
    )

    assert result.capacity is True
    assert (result.job_kind, result.job_name) == (None, None)
    assert requests == []


def test_a_failure_that_names_no_job_is_not_a_capacity_failure(sagemaker: Any) -> None:
    cause = "Rate exceeded (Service: AmazonSageMaker; Status Code: 400; Error Code: ThrottlingException)"

    result = classify_training_failure(
        caught("SageMaker.AmazonSageMakerException", cause), sagemaker=SageMaker(sagemaker)
    )

    assert result.capacity is False
    assert result.job_name is None
