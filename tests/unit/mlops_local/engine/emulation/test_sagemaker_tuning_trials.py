"""ListTrainingJobsForHyperParameterTuningJob: missing in moto; the emulation lists the trials run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mlops_local.engine.emulation import LocalServices
from mlops_local.engine.emulation.sagemaker_jobs import EMULATION as SAGEMAKER_JOBS
from mlops_local.engine.emulation.sagemaker_tuning_trials import EMULATION
from mlops_local.engine.jobs import ExecutionContext, JobResult
from tests.unit.mlops_local.engine.conftest import client, training_request


def _tuning_request(name: str) -> dict[str, Any]:
    definition = {k: v for k, v in training_request("unused").items() if k not in ("TrainingJobName",)}
    definition.pop("HyperParameters")
    definition["StaticHyperParameters"] = {"epochs": "3"}
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:macro_f1"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {"Name": "learning_rate", "MinValue": "0.001", "MaxValue": "0.1"}
                ]
            },
        },
        "TrainingJobDefinition": definition,
    }


def _fake_tuning(request: dict[str, Any], ctx: ExecutionContext) -> JobResult:
    """A stand-in tuner that records two trials."""
    for index, value in enumerate((0.9, 0.7), start=1):
        trial = training_request(
            f"{request['HyperParameterTuningJobName']}-{index:03d}-abcd1234", learning_rate="0.01", epochs="3"
        )
        metrics = [{"MetricName": "validation:macro_f1", "Value": value, "Timestamp": 0}]
        assert ctx.record_training_job is not None
        ctx.record_training_job(
            trial, JobResult("Completed", describe_fields={"FinalMetricDataList": metrics})
        )
    return JobResult("Completed")


def _assert_the_trials_are_listed() -> None:
    trials = client("sagemaker").list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="hpo"
    )["TrainingJobSummaries"]
    assert [t["TrainingJobName"] for t in trials] == ["hpo-001-abcd1234", "hpo-002-abcd1234"]
    assert [t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for t in trials] == [0.9, 0.7]
    assert trials[0]["TunedHyperParameters"] == {"learning_rate": "0.01"}


def test_stock_moto_cannot_list_the_trials_of_a_tuning_job(stock: None) -> None:
    sagemaker = client("sagemaker")
    sagemaker.create_hyper_parameter_tuning_job(**_tuning_request("hpo"))
    with pytest.raises(NotImplementedError):
        sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="hpo")


def test_the_emulation_alone_lists_the_trials_the_job_lifecycle_ran(
    apply: Callable[..., None], services: LocalServices
) -> None:
    apply(EMULATION)
    services.jobs._executors["tuning"] = _fake_tuning
    services.jobs.start("tuning", "hpo", _tuning_request("hpo"))
    assert services.jobs.wait_all(timeout=30)
    _assert_the_trials_are_listed()


def test_a_tuning_job_created_through_the_api_lists_its_trials(
    apply: Callable[..., None], services: LocalServices
) -> None:
    apply(SAGEMAKER_JOBS, EMULATION)
    services.jobs._executors["tuning"] = _fake_tuning
    client("sagemaker").create_hyper_parameter_tuning_job(**_tuning_request("hpo"))
    assert services.jobs.wait_all(timeout=30)
    _assert_the_trials_are_listed()


def test_an_unknown_tuning_job_is_not_found(apply: Callable[..., None]) -> None:
    apply(EMULATION)
    with pytest.raises(client("sagemaker").exceptions.ResourceNotFound):
        client("sagemaker").list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="x")


CAPACITY_ERROR = (
    "CapacityError: Unable to provision requested ML compute capacity. "
    "Please retry using a different ML instance type."
)


def _tuning_with_a_failed_trial(trials: int = 3) -> Callable[[dict[str, Any], ExecutionContext], JobResult]:
    """A stand-in tuner whose second trial found no capacity; the others report an objective."""

    def run(request: dict[str, Any], ctx: ExecutionContext) -> JobResult:
        assert ctx.record_training_job is not None
        for index in range(1, trials + 1):
            trial = training_request(
                f"{request['HyperParameterTuningJobName']}-{index:03d}-abcd1234", learning_rate="0.01"
            )
            if index == 2:
                ctx.record_training_job(trial, JobResult("Failed", CAPACITY_ERROR))
                continue
            metrics = [{"MetricName": "validation:macro_f1", "Value": index / 100, "Timestamp": 0}]
            ctx.record_training_job(
                trial, JobResult("Completed", describe_fields={"FinalMetricDataList": metrics})
            )
        return JobResult("Completed")

    return run


def _listed(**parameters: Any) -> dict[str, Any]:
    response: dict[str, Any] = client("sagemaker").list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="hpo", **parameters
    )
    return response


def _run_tuning(services: LocalServices, trials: int = 3) -> None:
    services.jobs._executors["tuning"] = _tuning_with_a_failed_trial(trials)
    services.jobs.start("tuning", "hpo", _tuning_request("hpo"))
    assert services.jobs.wait_all(timeout=30)


def test_status_equals_lists_only_the_failed_trials_with_their_reasons(
    apply: Callable[..., None], services: LocalServices
) -> None:
    apply(EMULATION)
    _run_tuning(services)

    (failed,) = _listed(StatusEquals="Failed")["TrainingJobSummaries"]

    assert (failed["TrainingJobName"], failed["TrainingJobStatus"]) == ("hpo-002-abcd1234", "Failed")
    assert failed["FailureReason"] == CAPACITY_ERROR
    assert [s["TrainingJobName"] for s in _listed(StatusEquals="Completed")["TrainingJobSummaries"]] == [
        "hpo-001-abcd1234",
        "hpo-003-abcd1234",
    ]


def test_sorting_by_objective_leaves_out_the_trials_without_one(
    apply: Callable[..., None], services: LocalServices
) -> None:
    apply(EMULATION)
    _run_tuning(services)

    listed = _listed(SortBy="FinalObjectiveMetricValue", SortOrder="Descending")["TrainingJobSummaries"]

    assert [s["TrainingJobName"] for s in listed] == ["hpo-003-abcd1234", "hpo-001-abcd1234"]


def test_trials_come_in_pages_of_ten_unless_asked_otherwise(
    apply: Callable[..., None], services: LocalServices
) -> None:
    apply(EMULATION)
    _run_tuning(services, trials=12)

    first = _listed()
    assert len(first["TrainingJobSummaries"]) == 10
    rest = _listed(NextToken=first["NextToken"])
    assert "NextToken" not in rest
    names = [s["TrainingJobName"] for s in first["TrainingJobSummaries"] + rest["TrainingJobSummaries"]]
    assert names == [f"hpo-{index:03d}-abcd1234" for index in range(1, 13)]
    pages = client("sagemaker").get_paginator("list_training_jobs_for_hyper_parameter_tuning_job")
    paged = pages.paginate(HyperParameterTuningJobName="hpo", PaginationConfig={"PageSize": 5})
    assert [len(page["TrainingJobSummaries"]) for page in paged] == [5, 5, 2]
