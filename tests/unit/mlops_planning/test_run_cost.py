"""A run priced from what its jobs report: billable seconds x instances x the price table."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_planning.cost_model import load_price_table
from mlops_planning.run_cost import RunJobs, job_sizes_from_run, price_run
from tests.conftest import load_event

PRICES = load_price_table("us-east-1")
M5_XLARGE_TRAINING = PRICES.usd("sagemaker.training.ml.m5.xlarge")
M5_XLARGE_PROCESSING = PRICES.usd("sagemaker.processing.ml.m5.xlarge")
DPU_HOUR = PRICES.usd("glue.spark.dpu_hour")


def training_job(
    name: str,
    billable: int,
    training: int,
    *,
    spot: bool = True,
    instances: int = 1,
    instance_type: str = "ml.m5.xlarge",
) -> dict[str, Any]:
    """The fields of a DescribeTrainingJob response the bill reads."""
    return {
        "TrainingJobName": name,
        "ResourceConfig": {"InstanceType": instance_type, "InstanceCount": instances, "VolumeSizeInGB": 30},
        "EnableManagedSpotTraining": spot,
        "TrainingTimeInSeconds": training,
        "BillableTimeInSeconds": billable,
    }


def recorded_run() -> RunJobs:
    """A local training run's Describe responses: one Glue run, three tuning trials, the evaluation."""
    return RunJobs.model_validate(load_event("training_run_jobs")["jobs"])


def test_a_runs_cost_is_its_jobs_billable_time_times_the_price_table() -> None:
    jobs = recorded_run()

    cost = price_run(jobs, PRICES)

    training = (
        sum(
            job["BillableTimeInSeconds"] * job["ResourceConfig"]["InstanceCount"]
            for job in jobs.training_jobs
        )
        * PRICES.usd(f"sagemaker.training.{jobs.training_jobs[0]['ResourceConfig']['InstanceType']}")
        / 3600
    )
    glue = jobs.glue_job_runs[0]
    glue_usd = max(glue["ExecutionTime"], 60) * glue["NumberOfWorkers"] * DPU_HOUR / 3600  # G.1X: 1 DPU each
    assert cost.line("Tuning and training").usd == pytest.approx(training)
    assert cost.line("Glue data preparation").usd == pytest.approx(glue_usd)
    assert cost.per_run_usd == pytest.approx(
        training + glue_usd + cost.line("Evaluation (processing job)").usd, abs=1e-4
    )


def test_the_recorded_runs_training_line_is_not_zero() -> None:
    cost = price_run(recorded_run(), PRICES)

    line = cost.line("Tuning and training")
    assert (line.jobs, line.quantity > 0, line.usd > 0) == (3, True, True)


def test_a_processing_job_is_billed_from_its_start_to_its_end() -> None:
    job = {
        "ProcessingJobName": "evaluate-1",
        "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2}},
        "ProcessingStartTime": "2026-11-12T10:00:00Z",
        "ProcessingEndTime": "2026-11-12T10:05:00Z",
    }

    cost = price_run(RunJobs(processing_jobs=[job]), PRICES)

    assert cost.per_run_usd == pytest.approx(round(300 * 2 * M5_XLARGE_PROCESSING / 3600, 4))


def test_a_transform_job_is_billed_from_its_start_to_its_end() -> None:
    job = {
        "TransformJobName": "batch-1",
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "TransformStartTime": 1762941600.0,  # epoch seconds, as the API's JSON carries them
        "TransformEndTime": 1762941600.0 + 1800,
    }

    cost = price_run(RunJobs(transform_jobs=[job]), PRICES)

    assert cost.line("Batch transform").usd == pytest.approx(
        0.5 * PRICES.usd("sagemaker.transform.ml.m5.large")
    )


def test_the_spot_saving_is_the_one_the_jobs_report() -> None:
    # DescribeTrainingJob's own example: 100 billable seconds of 500 trained is an 80% saving.
    cost = price_run(RunJobs(training_jobs=[training_job("trial-1", 100, 500)]), PRICES)

    assert cost.spot_saving == pytest.approx(0.8)
    assert cost.on_demand_usd == pytest.approx(round(500 * M5_XLARGE_TRAINING / 3600, 4))


def test_gpu_spot_training_is_billed_at_the_gpu_rate_with_its_own_saving() -> None:
    g5 = PRICES.usd("sagemaker.training.ml.g5.xlarge")
    job = training_job("gpu-trial", 1200, 1800, instance_type="ml.g5.xlarge")

    cost = price_run(RunJobs(training_jobs=[job]), PRICES)

    assert cost.line("Tuning and training").usd == pytest.approx(1200 * g5 / 3600, abs=1e-4)
    assert cost.on_demand_usd == pytest.approx(round(1800 * g5 / 3600, 4))
    assert cost.spot_saving == pytest.approx(1 - 1200 / 1800, abs=1e-4)


def test_the_spot_saving_of_several_jobs_is_weighted_by_their_on_demand_cost() -> None:
    jobs = [
        training_job("small", 50, 100),  # 50% on 100 instance-seconds
        training_job("large", 90, 900, instances=2),  # 90% on 1800 instance-seconds
    ]

    cost = price_run(RunJobs(training_jobs=jobs), PRICES)

    assert cost.spot_saving == pytest.approx(1 - (50 + 180) / (100 + 1800), abs=1e-4)


def test_on_demand_training_reports_no_spot_saving() -> None:
    cost = price_run(RunJobs(training_jobs=[training_job("train-1", 600, 600, spot=False)]), PRICES)

    assert cost.spot_saving is None
    assert cost.per_run_usd == cost.on_demand_usd == pytest.approx(round(600 * M5_XLARGE_TRAINING / 3600, 4))


@pytest.mark.parametrize(
    ("run", "dpu_seconds"),
    [
        ({"ExecutionTime": 30, "WorkerType": "G.1X", "NumberOfWorkers": 2}, 60 * 2),  # 1-minute minimum
        ({"ExecutionTime": 300, "WorkerType": "G.2X", "NumberOfWorkers": 5}, 300 * 10),
        ({"ExecutionTime": 300, "MaxCapacity": 10.0}, 3000),
        ({"ExecutionTime": 300, "WorkerType": "G.1X", "NumberOfWorkers": 10, "DPUSeconds": 1234.0}, 1234),
    ],
)
def test_a_glue_run_is_billed_its_dpu_seconds(run: dict[str, Any], dpu_seconds: float) -> None:
    cost = price_run(RunJobs(glue_job_runs=[{"JobName": "prepare", "Id": "jr_1", **run}]), PRICES)

    assert cost.line("Glue data preparation").usd == pytest.approx(dpu_seconds * DPU_HOUR / 3600)


def test_a_job_the_price_table_cannot_price_is_listed_not_guessed() -> None:
    jobs = [training_job("exotic", 600, 600, instance_type="ml.x99.mega"), training_job("usual", 600, 600)]

    cost = price_run(RunJobs(training_jobs=jobs), PRICES)

    assert cost.per_run_usd == pytest.approx(round(600 * M5_XLARGE_TRAINING / 3600, 4))
    assert len(cost.unpriced) == 1
    assert "ml.x99.mega" in cost.unpriced[0]


def test_a_run_sizes_the_planning_estimate_with_its_own_durations() -> None:
    jobs = RunJobs(
        training_jobs=[training_job("a", 100, 200), training_job("b", 300, 400)],
        glue_job_runs=[{"ExecutionTime": 90, "WorkerType": "G.1X", "NumberOfWorkers": 2}],
    )

    sizes = job_sizes_from_run(jobs, state_transitions_per_run=30)

    assert (sizes.training_seconds, sizes.glue_seconds, sizes.state_transitions_per_run) == (300.0, 90.0, 30)
