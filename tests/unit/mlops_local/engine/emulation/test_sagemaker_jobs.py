"""SageMaker jobs: moto completes them at creation; the emulation runs them through the job lifecycle."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from mlops_local.engine.emulation import LocalServices
from mlops_local.engine.emulation.sagemaker_jobs import EMULATION
from mlops_local.engine.jobs import ExecutionContext, JobResult
from mlops_local.engine.moto_compat.sagemaker_sync_unsupported import WORKAROUND as SAGEMAKER_SYNC
from tests.unit.mlops_local.engine.conftest import TRAINING, client, run_state_machine, task, training_request

SYNC_TRAINING = task("arn:aws:states:::sagemaker:createTrainingJob.sync", TRAINING)


def test_stock_training_job_is_completed_at_once_and_names_may_repeat(stock: None) -> None:
    sagemaker = client("sagemaker")
    sagemaker.create_training_job(**training_request("dup"))
    sagemaker.create_training_job(**training_request("dup"))
    assert sagemaker.describe_training_job(TrainingJobName="dup")["TrainingJobStatus"] == "Completed"


def test_stock_moto_cannot_stop_a_job(stock: None) -> None:
    client("sagemaker").create_training_job(**training_request("j"))
    with pytest.raises(NotImplementedError):
        client("sagemaker").stop_training_job(TrainingJobName="j")


def test_the_emulation_alone_keeps_a_job_in_progress_until_its_executor_returns(
    apply: Callable[..., None], services: LocalServices
) -> None:
    apply(EMULATION)
    sagemaker = client("sagemaker")
    sagemaker.create_training_job(**training_request("live"))
    assert sagemaker.describe_training_job(TrainingJobName="live")["TrainingJobStatus"] == "InProgress"
    assert services.jobs.wait_all(timeout=30)
    assert sagemaker.describe_training_job(TrainingJobName="live")["TrainingJobStatus"] == "Completed"


def test_the_emulation_alone_refuses_a_repeated_name(apply: Callable[..., None]) -> None:
    apply(EMULATION)
    client("sagemaker").create_training_job(**training_request("same"))
    with pytest.raises(client("sagemaker").exceptions.ResourceInUse):
        client("sagemaker").create_training_job(**training_request("same"))


def test_the_emulation_alone_stops_a_job(apply: Callable[..., None], services: LocalServices) -> None:
    apply(EMULATION)
    sagemaker = client("sagemaker")
    sagemaker.create_training_job(**training_request("stopped"))
    sagemaker.stop_training_job(TrainingJobName="stopped")
    assert sagemaker.describe_training_job(TrainingJobName="stopped")["TrainingJobStatus"] == "Stopping"
    assert services.jobs.wait_all(timeout=30)
    assert sagemaker.describe_training_job(TrainingJobName="stopped")["TrainingJobStatus"] == "Stopped"


def test_sync_outputs_the_final_describe(apply: Callable[..., None]) -> None:
    apply(SAGEMAKER_SYNC, EMULATION)
    described = run_state_machine(SYNC_TRAINING, {"name": "j1", "hp": {"epochs": "1"}})
    assert described["status"] == "SUCCEEDED"
    job = json.loads(described["output"])
    assert job["TrainingJobStatus"] == "Completed"
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == "s3://artifacts/models/j1/output/model.tar.gz"
    assert job["AlgorithmSpecification"]["MetricDefinitions"][0]["Name"] == "validation:accuracy"


def test_a_failed_job_is_states_task_failed_with_describe_as_cause(apply: Callable[..., None]) -> None:
    apply(SAGEMAKER_SYNC, EMULATION)
    described = run_state_machine(SYNC_TRAINING, {"name": "j2", "hp": {"fail": "true"}})
    assert described["error"] == "States.TaskFailed"
    cause = json.loads(described["cause"])
    assert (cause["TrainingJobStatus"], cause["FailureReason"]) == (
        "Failed",
        "AlgorithmError: the training script exited with status 1",
    )


def test_a_rejected_create_is_named_after_the_sagemaker_exception(apply: Callable[..., None]) -> None:
    apply(SAGEMAKER_SYNC, EMULATION)
    run_state_machine(SYNC_TRAINING, {"name": "same", "hp": {}})
    described = run_state_machine(SYNC_TRAINING, {"name": "same", "hp": {}})
    assert described["error"] == "SageMaker.ResourceInUseException"
    assert "Error Code: ResourceInUse" in described["cause"]


def test_describe_answers_in_the_apis_fields_only(
    apply: Callable[..., None], services: LocalServices
) -> None:
    # What an executor reports for the runtime's own use stays out of the answer.
    def training_with_local_fields(request: dict[str, Any], ctx: ExecutionContext) -> JobResult:
        return JobResult(
            "Completed",
            describe_fields={"BillableTimeInSeconds": 3, "LocalSpotSummary": {"Interruptions": 1}},
        )

    apply(EMULATION)
    services.jobs._executors["training"] = training_with_local_fields
    sagemaker = client("sagemaker")
    sagemaker.create_training_job(**training_request("plain"))
    assert services.jobs.wait_all(timeout=30)

    described = sagemaker.describe_training_job(TrainingJobName="plain")

    assert described["BillableTimeInSeconds"] == 3
    assert not [field for field in described if field.startswith("Local")]
    assert services.jobs.get("training", "plain").describe_fields["LocalSpotSummary"] == {"Interruptions": 1}
