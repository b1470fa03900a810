"""Training jobs: script-mode contract, metrics, artefacts, spot interruption and failures."""

from __future__ import annotations

import io
import json
import tarfile
import threading
from typing import Any

import pytest

from mlops_local.engine.jobs import JobLog
from mlops_local.executors.faults import FaultRule
from mlops_local.executors.training import CAPACITY_ERROR, run_training_job, script_mode_environment
from tests.conftest import REPO_ROOT

from .conftest import BUCKET, STAND_INS


def read_model(s3: Any, uri: str) -> dict[str, Any]:
    key = uri.removeprefix(f"s3://{BUCKET}/")
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        member = tar.extractfile("model.json")
        assert member is not None
        return json.loads(member.read())


def test_script_mode_environment_of_a_training_job(tmp_path):
    environment = script_mode_environment(
        "job-1",
        {"train": tmp_path / "input/data/train", "validation": tmp_path / "input/data/validation"},
        model_dir=tmp_path / "model",
        output_data_dir=tmp_path / "output/data",
        checkpoint_dir=tmp_path / "checkpoints",
        hyperparameters={"epochs": "3", "optimizer": "adam"},
    )

    assert environment == {
        "TRAINING_JOB_NAME": "job-1",
        "SM_MODEL_DIR": str(tmp_path / "model"),
        "SM_OUTPUT_DATA_DIR": str(tmp_path / "output/data"),
        "SM_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
        "SM_HPS": json.dumps({"epochs": 3, "optimizer": "adam"}),
        "SM_CHANNELS": json.dumps(["train", "validation"]),
        "SM_CURRENT_HOST": "algo-1",
        "SM_HOSTS": json.dumps(["algo-1"]),
        "SM_CHANNEL_TRAIN": str(tmp_path / "input/data/train"),
        "SM_CHANNEL_VALIDATION": str(tmp_path / "input/data/validation"),
    }


def test_script_mode_environment_without_hyperparameters_holds_only_the_paths(tmp_path):
    environment = script_mode_environment(
        "run-by-hand",
        {"train": tmp_path / "train"},
        model_dir=tmp_path / "model",
        output_data_dir=tmp_path / "output",
        checkpoint_dir=tmp_path / "checkpoints",
    )

    assert environment == {
        "TRAINING_JOB_NAME": "run-by-hand",
        "SM_MODEL_DIR": str(tmp_path / "model"),
        "SM_OUTPUT_DATA_DIR": str(tmp_path / "output"),
        "SM_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
        "SM_CHANNEL_TRAIN": str(tmp_path / "train"),
    }


def test_completed_job_uploads_model_under_output_path(s3, make_context, training_request):
    result = run_training_job(training_request(), make_context())

    assert result.status == "Completed"
    uri = result.describe_fields["ModelArtifacts"]["S3ModelArtifacts"]
    assert uri == f"s3://{BUCKET}/models/job-1/output/model.tar.gz"
    model = read_model(s3, uri)
    assert model["samples"] == ["part-0.parquet", "part-1.parquet"]
    assert model["job"] == "job-1"


def test_script_sees_hyperparameters_without_sagemaker_ones(s3, make_context, training_request):
    result = run_training_job(training_request(), make_context())

    hps = read_model(s3, result.describe_fields["ModelArtifacts"]["S3ModelArtifacts"])["hps"]
    assert hps == {"epochs": 3, "learning_rate": 0.1, "epoch_seconds": 0.3}


def test_final_metrics_are_the_last_values_logged(make_context, training_request):
    result = run_training_job(training_request(), make_context())

    final = {item["MetricName"]: item["Value"] for item in result.describe_fields["FinalMetricDataList"]}
    history = result.describe_fields["LocalMetricHistory"]["validation:accuracy"]
    assert final["validation:accuracy"] == history[-1]["Value"]
    assert [point["Epoch"] for point in history] == [1, 2, 3, None]  # the closing best_epoch line


def test_spot_interruption_resumes_from_checkpoint(s3, make_context, faults, training_request):
    faults.add(FaultRule(kind="spot-interruption", after_epoch=1))

    result = run_training_job(training_request(spot=True), make_context())

    assert result.status == "Completed"
    assert faults.fired_count("spot-interruption") == 1
    statuses = [item["Status"] for item in result.describe_fields["SecondaryStatusTransitions"]]
    assert statuses.count("Training") == 2
    assert "Interrupted" in statuses
    model = read_model(s3, result.describe_fields["ModelArtifacts"]["S3ModelArtifacts"])
    assert model["history"] == [1, 2, 3]  # every epoch trained exactly once across both attempts
    assert result.describe_fields["LocalSpotSummary"]["Interruptions"] == 1


def test_a_stopped_job_gets_sigterm_and_ends_stopped_before_its_last_epoch(make_context, training_request):
    stop = threading.Event()

    def stop_after_the_first_epoch(message: str) -> None:
        if "epoch=1;" in message:
            stop.set()  # as StopTrainingJob does

    result = run_training_job(
        training_request(epochs=20), make_context(stop_requested=stop, echo=stop_after_the_first_epoch)
    )

    assert result.status == "Stopped"
    statuses = [item["Status"] for item in result.describe_fields["SecondaryStatusTransitions"]]
    assert statuses[-1] == "Stopped"
    epochs = [point["Epoch"] for point in result.describe_fields["LocalMetricHistory"]["validation:accuracy"]]
    assert max(epochs) < 20  # the script saved at its next epoch's end and left


def test_spot_capacity_error_fails_like_sagemaker(s3, make_context, faults, training_request):
    faults.add(FaultRule(kind="spot-capacity"))

    result = run_training_job(training_request(spot=True), make_context())

    assert result.status == "Failed"
    assert result.failure_reason == CAPACITY_ERROR
    assert faults.fired_count("spot-capacity") == 1


def test_spot_capacity_fault_spares_on_demand_jobs(s3, make_context, faults, training_request):
    faults.add(FaultRule(kind="spot-capacity"))

    result = run_training_job(training_request(spot=False), make_context())

    assert result.status == "Completed"
    assert faults.fired_count("spot-capacity") == 0


def test_training_failure_reports_the_script_error(s3, make_context, faults, training_request):
    faults.add(FaultRule(kind="training-failure"))

    result = run_training_job(training_request(), make_context())

    assert result.status == "Failed"
    assert result.failure_reason is not None
    assert result.failure_reason.startswith("AlgorithmError: ExecuteUserScriptError:")
    assert "FileNotFoundError" in result.failure_reason


def test_training_job_logs_the_scripts_traceback(s3, make_context, faults, training_request):
    faults.add(FaultRule(kind="training-failure"))
    log = JobLog(make_context().workdir / "job.log")

    run_training_job(training_request(epochs=1), make_context(log=log))
    log.close()

    lines = [line[13:] for line in log.path.read_text().splitlines()]
    assert "Traceback (most recent call last):" in lines
    assert lines[-1].startswith("FileNotFoundError: [Errno 2] No such file or directory:")


def test_a_failed_training_job_shows_its_whole_reason_as_progress(s3, make_context, faults, training_request):
    faults.add(FaultRule(kind="training-failure"))
    progress: list[str] = []

    run_training_job(training_request(epochs=1), make_context(progress=progress.append))

    assert progress[-1].startswith(
        "job-1: failed: AlgorithmError: ExecuteUserScriptError: ExitCode 1 ErrorMessage"
    )
    assert "FileNotFoundError" in progress[-1]


def test_training_job_logs_its_metric_lines(s3, make_context, training_request):
    log = JobLog(make_context().workdir / "job.log")

    run_training_job(training_request(epochs=2), make_context(log=log))
    log.close()

    lines = [line[13:] for line in log.path.read_text().splitlines()]
    assert [line for line in lines if line.startswith("epoch=")] == [
        "epoch=1; train:loss=0.5000; validation:accuracy=0.5000;",
        "epoch=2; train:loss=0.3333; validation:accuracy=0.6667;",
    ]


def test_job_without_code_in_request_uses_checkout(s3, make_context, training_request):
    request = training_request(epochs=1)
    del request["HyperParameters"]["sagemaker_submit_directory"]
    context = make_context(project_root=STAND_INS)

    result = run_training_job(request, context)

    assert result.status == "Completed"


@pytest.mark.slow
def test_real_training_code_resumes_after_spot_interruption(
    s3, make_context, faults, real_dataset, code_bundle
):
    """The packaged training/ code, on a contract-shaped dataset, interrupted after epoch 1 of 3."""
    code_uri = code_bundle(REPO_ROOT / "training", "code/real/sourcedir.tar.gz")
    for split in ("train", "validation"):
        s3.upload_file(
            str(real_dataset / split / "part-00000.parquet"),
            BUCKET,
            f"datasets/real/{split}/part-00000.parquet",
        )
    metrics = [{"Name": "validation:macro_f1", "Regex": r"validation:macro_f1=([0-9.]+);"}]
    request = {
        "TrainingJobName": "real-spot-1",
        "AlgorithmSpecification": {"TrainingInputMode": "File", "MetricDefinitions": metrics},
        "HyperParameters": {"epochs": "3", "batch_size": "8", "patience": "5",
                            "sagemaker_program": json.dumps("train.py"),
                            "sagemaker_submit_directory": json.dumps(code_uri)},
        "InputDataConfig": [
            {"ChannelName": split, "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
             "S3Uri": f"s3://{BUCKET}/datasets/real/{split}/"}}} for split in ("train", "validation")
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/models"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600, "MaxWaitTimeInSeconds": 1200},
        "EnableManagedSpotTraining": True,
        "CheckpointConfig": {"S3Uri": f"s3://{BUCKET}/checkpoints/real-spot-1"},
    }  # fmt: skip
    faults.add(FaultRule(kind="spot-interruption", after_epoch=1))

    result = run_training_job(request, make_context())

    assert result.status == "Completed", result.failure_reason
    epochs = [
        p["Epoch"] for p in result.describe_fields["LocalMetricHistory"]["validation:macro_f1"] if p["Epoch"]
    ]
    assert sorted(set(epochs)) == [1, 2, 3]
    assert len(epochs) == 3  # no epoch trained twice: the restart resumed from the checkpoint
    assert result.describe_fields["LocalSpotSummary"]["Interruptions"] == 1
    body = s3.get_object(Bucket=BUCKET, Key="models/real-spot-1/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert {"model.pt", "metrics.json", "code/inference.py"} <= set(tar.getnames())


def test_an_on_demand_job_is_billed_from_its_start_on_the_instance_to_its_end(make_context, training_request):
    fields = run_training_job(training_request(spot=False), make_context()).describe_fields

    downloading = next(t for t in fields["SecondaryStatusTransitions"] if t["Status"] == "Downloading")
    assert fields["TrainingStartTime"] == downloading["StartTime"]  # the instance is up, "Starting" is over
    span = (fields["TrainingEndTime"] - fields["TrainingStartTime"]).total_seconds()
    assert fields["TrainingTimeInSeconds"] == max(1, round(span))
    assert fields["BillableTimeInSeconds"] == fields["TrainingTimeInSeconds"]


def test_an_interrupted_spot_job_bills_every_attempt_and_no_more_than_its_training_time(
    make_context, faults, training_request
):
    faults.add(FaultRule(kind="spot-interruption", after_epoch=1))

    fields = run_training_job(training_request(spot=True), make_context()).describe_fields

    attempts = sum(
        (t["EndTime"] - t["StartTime"]).total_seconds()
        for t in fields["SecondaryStatusTransitions"]
        if t["Status"] == "Training"
    )
    assert round(attempts) <= fields["BillableTimeInSeconds"] <= fields["TrainingTimeInSeconds"]


def test_a_job_that_found_no_capacity_bills_nothing(make_context, faults, training_request):
    faults.add(FaultRule(kind="spot-capacity"))

    fields = run_training_job(training_request(spot=True), make_context()).describe_fields

    assert (fields["TrainingTimeInSeconds"], fields["BillableTimeInSeconds"]) == (0, 0)
