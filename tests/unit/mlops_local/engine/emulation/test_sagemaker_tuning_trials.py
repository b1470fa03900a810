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
