"""Was a failed spot job short of capacity? Judged from SageMaker's own words."""

from __future__ import annotations

import json

import pytest

from mlops_common.domain.training_failures import (
    MAX_CAUSE_BYTES,
    QUOTED_REASON_CHARACTERS,
    FailedJob,
    failed_job,
    failure_kind,
    is_quota_error,
    judge,
    no_job_verdict,
    quota_verdict,
)
from tests.sagemaker_failure_reasons import ALGORITHM, CAPACITY, TUNING_REASON

# More FailureReasons as SageMaker writes them.
# A spot instance reclaimed: the script got SIGTERM and did not resume (143 = 128 + SIGTERM).
SPOT_INTERRUPTED = (
    'AlgorithmError: ExecuteUserScriptError:\nExitCode 143\nErrorMessage ""\n'
    'Command "/opt/conda/bin/python3.11 train.py --epochs 2"'
)
INTERNAL = "InternalServerError: We encountered an internal error.  Please try again."
CLIENT = "ClientError: Data download failed:Could not download s3://data/datasets/v1/train/x.jpg"
TUNING = FailedJob("tuning", "1a2b3c4d-hpo-5e6f7a8b")
TRAINING = FailedJob("training", "upload-20261112T1000-1a2b3c4d-train-5e6f7a8b")


# --- one training job's reason ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        (CAPACITY, "capacity"),
        ("  " + CAPACITY, "capacity"),
        ("CapacityError: Insufficient capacity for ml.p3.2xlarge", "capacity"),
        (
            "Unable to provision requested ML compute capacity due to InsufficientInstanceCapacity error.",
            "capacity",
        ),
        ("ClientError: InsufficientInstanceCapacity for ml.g5.xlarge", "capacity"),
        (INTERNAL, "internal"),
        (ALGORITHM, "own"),
        (SPOT_INTERRUPTED, "own"),
        (CLIENT, "own"),
        # SageMaker's words for a tuning job name no cause: they are not a capacity error.
        (TUNING_REASON, "own"),
        # A script that prints the word does not make its failure a capacity error.
        ('AlgorithmError: ExecuteUserScriptError:\nErrorMessage "CapacityError in my code"', "own"),
        ("", "own"),
        (None, "own"),
    ],
)
def test_a_training_jobs_reason_is_capacity_internal_or_its_own(reason: str | None, kind: str) -> None:
    assert failure_kind(reason) == kind


def test_only_sagemakers_resource_limit_error_is_a_quota_error() -> None:
    assert is_quota_error("SageMaker.ResourceLimitExceededException")
    assert not is_quota_error("SageMaker.AmazonSageMakerException")
    assert not is_quota_error("States.TaskFailed")
    assert not is_quota_error("ResourceLimitExceeded")


# --- which job a cause describes ---------------------------------------------------------------


def test_a_tuning_jobs_description_names_the_tuning_job_not_its_best_training_job() -> None:
    cause = json.dumps(
        {
            "HyperParameterTuningJobName": TUNING.name,
            "HyperParameterTuningJobStatus": "Failed",
            "FailureReason": TUNING_REASON,
            "BestTrainingJob": {"TrainingJobName": f"{TUNING.name}-001-0c9d8e7f"},
            "TrainingJobDefinition": {"StaticHyperParameters": {"epochs": "2"}},
        }
    )
    assert failed_job(cause) == TUNING


def test_a_training_jobs_description_names_the_training_job() -> None:
    cause = json.dumps(
        {"TrainingJobName": TRAINING.name, "TrainingJobStatus": "Failed", "FailureReason": CAPACITY}
    )
    assert failed_job(cause) == TRAINING


@pytest.mark.parametrize(
    "cause",
    [
        "",
        "An error occurred (ValidationException) when calling the CreateTrainingJob operation: bad",
        "[1, 2]",
        '"a string"',
        json.dumps({"TrainingJobName": ""}),
        json.dumps({"TrainingJobName": 7}),
        json.dumps({"HyperParameterTuningJobName": None, "errorType": "Lambda.Unknown"}),
        "[" * 100 + "]" * 100,
    ],
)
def test_a_cause_that_describes_no_job_names_none(cause: str) -> None:
    assert failed_job(cause) is None


def test_a_cause_larger_than_step_functions_allows_is_not_read() -> None:
    cause = json.dumps({"TrainingJobName": TRAINING.name, "pad": "x" * MAX_CAUSE_BYTES})
    assert failed_job(cause) is None


# --- the verdict -------------------------------------------------------------------------------


def test_every_trial_short_of_capacity_means_capacity() -> None:
    verdict = judge(TUNING, [CAPACITY, CAPACITY])
    assert verdict.capacity is True
    assert (verdict.failed_training_jobs, verdict.capacity_failures) == (2, 2)
    assert verdict.reason == f"tuning job {TUNING.name}: 2 of 2 failed training jobs could not get capacity"


def test_capacity_beside_sagemaker_internal_errors_is_still_capacity() -> None:
    verdict = judge(TUNING, [INTERNAL, CAPACITY, INTERNAL])
    assert verdict.capacity is True
    assert (verdict.failed_training_jobs, verdict.capacity_failures) == (3, 1)


def test_a_spot_interruption_the_job_did_not_survive_is_not_capacity() -> None:
    verdict = judge(TRAINING, [SPOT_INTERRUPTED])
    assert verdict.capacity is False
    assert (verdict.failed_training_jobs, verdict.capacity_failures) == (1, 0)
    assert "ExitCode 143" in verdict.reason


def test_an_algorithm_error_is_not_capacity_and_is_quoted_on_one_line() -> None:
    verdict = judge(TRAINING, [ALGORITHM])
    assert verdict.capacity is False
    assert verdict.reason == (
        f"training job {TRAINING.name}: 1 of 1 failed training jobs failed for a reason of their own, "
        "which on-demand capacity does not fix: " + " ".join(ALGORITHM.split())
    )


def test_internal_errors_alone_are_not_capacity() -> None:
    verdict = judge(TUNING, [INTERNAL, INTERNAL])
    assert verdict.capacity is False
    assert (
        verdict.reason == f"tuning job {TUNING.name}: its training jobs failed with SageMaker internal errors"
    )


def test_mixed_trials_with_one_failing_on_its_own_are_not_capacity() -> None:
    # A trial that got instances and failed would fail on demand too.
    verdict = judge(TUNING, [CAPACITY, ALGORITHM, CAPACITY])
    assert verdict.capacity is False
    assert (verdict.failed_training_jobs, verdict.capacity_failures) == (3, 2)
    assert "1 of 3 failed training jobs failed for a reason of their own" in verdict.reason


def test_a_trial_without_a_reason_is_not_taken_for_capacity() -> None:
    verdict = judge(TUNING, [CAPACITY, None])
    assert verdict.capacity is False
    assert verdict.reason.endswith("does not fix: no reason given")


def test_no_failed_training_job_is_not_capacity() -> None:
    verdict = judge(TUNING, [])
    assert verdict.capacity is False
    assert (verdict.failed_training_jobs, verdict.capacity_failures) == (0, 0)
    assert verdict.reason == f"tuning job {TUNING.name}: no training job of it failed"


def test_a_long_reason_is_clipped() -> None:
    verdict = judge(TRAINING, ["AlgorithmError: " + "x" * 1000])
    quoted = verdict.reason.split("does not fix: ", 1)[1]
    assert len(quoted) == QUOTED_REASON_CHARACTERS
    assert quoted.endswith("…")


def test_a_quota_refusal_is_capacity_with_sagemakers_message() -> None:
    message = (
        "The account-level service limit 'ml.m5.xlarge for spot training job usage' is 0 Instances, with "
        "current utilization of 0 Instances and a request delta of 1 Instances. (Service: AmazonSageMaker; "
        "Status Code: 400; Error Code: ResourceLimitExceeded; Request ID: 1; Proxy: null)"
    )
    verdict = quota_verdict(message)
    assert verdict.capacity is True
    assert verdict.reason.startswith(
        "SageMaker refused the job over a quota: The account-level service limit"
    )


def test_a_failure_naming_no_job_is_not_capacity() -> None:
    verdict = no_job_verdict("SageMaker.AmazonSageMakerException")
    assert verdict.capacity is False
    assert verdict.reason == "SageMaker.AmazonSageMakerException: the cause names no training or tuning job"
