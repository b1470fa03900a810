"""Tuning jobs: trials from the job's own ranges, limits, best job, early stopping, capacity errors."""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

import pytest

from mlops_local.executors import tuning
from mlops_local.executors.base import JobResult
from mlops_local.executors.faults import FaultRule
from mlops_local.executors.training import CAPACITY_ERROR, TrainingRun
from mlops_local.executors.tuning import (
    no_training_job_succeeded,
    parameter_spaces,
    run_tuning_job,
    trial_job_name,
)

OBJECTIVE = "validation:accuracy"


def tuning_request(definition: dict[str, Any], *, max_jobs: int, parallel: int, early_stopping: str = "Off"):
    """A CreateHyperParameterTuningJob request around a training job definition."""
    static = {k: v for k, v in definition["HyperParameters"].items() if k != "learning_rate"}
    training_definition = {
        k: v for k, v in definition.items() if k not in ("TrainingJobName", "HyperParameters")
    }
    training_definition["StaticHyperParameters"] = static
    return {
        "HyperParameterTuningJobName": "tune-20260101T0000",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": OBJECTIVE},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": max_jobs, "MaxParallelTrainingJobs": parallel},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {
                        "Name": "learning_rate",
                        "MinValue": "0.01",
                        "MaxValue": "1.0",
                        "ScalingType": "Logarithmic",
                    }
                ]
            },
            "TrainingJobEarlyStoppingType": early_stopping,
        },
        "TrainingJobDefinition": training_definition,
    }


@pytest.mark.slow
def test_tuning_runs_real_trials_and_reports_best_job(make_context, training_request):
    definition = training_request(epochs=2)
    definition["HyperParameters"]["epoch_seconds"] = "0.05"
    context = make_context()

    result = run_tuning_job(tuning_request(definition, max_jobs=3, parallel=2), context)

    assert result.status == "Completed"
    recorded = make_context.recorded
    assert len(recorded) == 3
    names = [request["TrainingJobName"] for request, _ in recorded]
    assert all(re.fullmatch(r"tune-20260101T0000-\d{3}-[0-9a-f]{8}", name) for name in names)
    objectives = {
        request["TrainingJobName"]: next(
            m["Value"] for m in job.describe_fields["FinalMetricDataList"] if m["MetricName"] == OBJECTIVE
        )
        for request, job in recorded
    }
    best = result.describe_fields["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == max(objectives.values())
    assert objectives[best["TrainingJobName"]] == max(objectives.values())
    assert 0.01 <= float(best["TunedHyperParameters"]["learning_rate"]) <= 1.0
    assert result.describe_fields["TrainingJobStatusCounters"]["Completed"] == 3


def fake_train(values: list[float], concurrency: dict[str, int], epochs: int = 3):
    """A stand-in for training.train that logs ``values`` per trial and tracks concurrent runs."""
    lock = threading.Lock()
    calls = iter(values)

    def train(request, ctx, *, epoch_hook=None, capacity_available=True, cpus=None) -> TrainingRun:
        with lock:
            value = next(calls)
            concurrency["now"] += 1
            concurrency["max"] = max(concurrency["max"], concurrency["now"])
        stopped = False
        for epoch in range(1, epochs + 1):
            time.sleep(0.02)
            if epoch_hook is not None and epoch_hook(epoch, {OBJECTIVE: value * epoch / epochs}):
                stopped = True
                break
        with lock:
            concurrency["now"] -= 1
        status = "Stopped" if stopped else "Completed"
        return TrainingRun(JobResult(status=status), {OBJECTIVE: value}, [], stopped_early=stopped)

    return train


@pytest.mark.parametrize(("parallel", "expected"), [(1, 1), (2, 2), (5, 2)])
def test_parallel_trials_never_exceed_limit_or_cores(
    monkeypatch, make_context, training_request, parallel, expected
):
    concurrency = {"now": 0, "max": 0}
    monkeypatch.setattr(tuning, "train", fake_train([0.5] * 6, concurrency))
    monkeypatch.setattr(tuning, "_available_cores", lambda: {0, 1})

    result = run_tuning_job(tuning_request(training_request(), max_jobs=6, parallel=parallel), make_context())

    assert result.status == "Completed"
    assert len(make_context.recorded) == 6
    assert concurrency["max"] == expected


def test_early_stopping_prunes_trials_below_the_median(monkeypatch, make_context, training_request):
    monkeypatch.setattr(tuning, "train", fake_train([0.9, 0.8, 0.1, 0.95], {"now": 0, "max": 0}))
    request = tuning_request(training_request(), max_jobs=4, parallel=1, early_stopping="Auto")

    result = run_tuning_job(request, make_context())

    statuses = [job.status for _, job in make_context.recorded]
    assert statuses == ["Completed", "Completed", "Stopped", "Completed"]
    assert result.describe_fields["TrainingJobStatusCounters"]["Stopped"] == 1
    assert result.describe_fields["BestTrainingJob"]["TrainingJobName"] == trial_job_name(
        "tune-20260101T0000", 4
    )


def test_spot_capacity_error_fails_the_tuning_job(make_context, faults, training_request):
    faults.add(FaultRule(kind="spot-capacity"))
    request = tuning_request(training_request(spot=True), max_jobs=2, parallel=1)

    result = run_tuning_job(request, make_context())

    assert result.status == "Failed"
    # As on AWS, the tuning job's own reason does not say why: its training jobs' reasons do.
    assert result.failure_reason == no_training_job_succeeded(2)
    assert "CapacityError" not in result.failure_reason
    assert [(job.status, job.failure_reason) for _, job in make_context.recorded] == [
        ("Failed", CAPACITY_ERROR),
        ("Failed", CAPACITY_ERROR),
    ]
    assert result.describe_fields["TrainingJobStatusCounters"]["RetryableError"] == 2


def test_each_trial_keeps_a_log_of_its_own_beside_its_job_file(make_context, training_request):
    context = make_context()
    request = tuning_request(training_request(epochs=1), max_jobs=2, parallel=1)

    run_tuning_job(request, context)

    for index in (1, 2):
        folder = context.workdir / trial_job_name("tune-20260101T0000", index)
        described = json.loads((folder / "job.json").read_text())
        assert (described["kind"], described["parent"], described["status"]) == (
            "training",
            "tune-20260101T0000",
            "Completed",
        )
        assert "epoch=1; " in (folder / "job.log").read_text()


def test_a_failed_tuning_job_says_only_what_sagemaker_says(monkeypatch, make_context, training_request):
    reason = (
        'AlgorithmError: ExecuteUserScriptError:\nExitCode 1\nErrorMessage "ValueError: no train channel"'
    )

    def failing_train(request, ctx, **options) -> TrainingRun:
        return TrainingRun(JobResult(status="Failed", failure_reason=reason), {}, [])

    monkeypatch.setattr(tuning, "train", failing_train)

    result = run_tuning_job(tuning_request(training_request(), max_jobs=2, parallel=1), make_context())

    assert result.failure_reason == (
        "No training job succeeded after 2 attempts. For additional details, please take a look at the "
        "training job failures by listing training jobs for the hyperparameter tuning job."
    )
    # Each training job keeps its own reason, where ListTrainingJobsForHyperParameterTuningJob reads it.
    assert [job.failure_reason for _, job in make_context.recorded] == [reason, reason]


def test_describe_holds_only_the_apis_fields(monkeypatch, make_context, training_request):
    monkeypatch.setattr(tuning, "train", fake_train([0.5, 0.6], {"now": 0, "max": 0}))

    result = run_tuning_job(tuning_request(training_request(), max_jobs=2, parallel=1), make_context())

    assert set(result.describe_fields) <= {
        "TrainingJobStatusCounters",
        "ObjectiveStatusCounters",
        "BestTrainingJob",
    }


def test_warm_start_enqueues_parent_best_parameters(monkeypatch, make_context, training_request):
    monkeypatch.setattr(tuning, "train", fake_train([0.5, 0.6], {"now": 0, "max": 0}))

    class FakeSageMaker:
        def describe_hyper_parameter_tuning_job(self, HyperParameterTuningJobName):
            return {"BestTrainingJob": {"TunedHyperParameters": {"learning_rate": "0.123"}}}

    request = tuning_request(training_request(), max_jobs=2, parallel=1)
    request["WarmStartConfig"] = {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "tune-old"}],
        "WarmStartType": "IdenticalDataAndAlgorithm",
    }

    run_tuning_job(request, make_context(client=lambda service: FakeSageMaker()))

    first_request = make_context.recorded[0][0]
    assert float(first_request["HyperParameters"]["learning_rate"]) == pytest.approx(0.123)


def test_parameter_ranges_cover_every_kind():
    spaces = parameter_spaces(
        {
            "IntegerParameterRanges": [{"Name": "batch_size", "MinValue": "16", "MaxValue": "64"}],
            "ContinuousParameterRanges": [
                {
                    "Name": "momentum",
                    "MinValue": "0.5",
                    "MaxValue": "0.99",
                    "ScalingType": "ReverseLogarithmic",
                }
            ],
            "CategoricalParameterRanges": [{"Name": "model", "Values": ["small_cnn", "resnet18"]}],
        }
    )
    import optuna

    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1)).ask()
    values = {space.name: space.suggest(trial) for space in spaces}

    assert 16 <= int(values["batch_size"]) <= 64
    assert 0.5 <= float(values["momentum"]) <= 0.99
    assert values["model"] in {"small_cnn", "resnet18"}
