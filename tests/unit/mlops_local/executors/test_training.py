"""Training jobs: script-mode contract, metrics, artefacts, spot interruption and failures."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

from mlops_local.executors.faults import FaultRule
from mlops_local.executors.training import CAPACITY_ERROR, run_training_job

BUCKET = "artifacts"
STAND_INS = Path(__file__).resolve().parent / "stand_ins"


def read_model(s3: Any, uri: str) -> dict[str, Any]:
    key = uri.removeprefix(f"s3://{BUCKET}/")
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        member = tar.extractfile("model.json")
        assert member is not None
        return json.loads(member.read())


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


def test_job_without_code_in_request_uses_checkout(s3, make_context, training_request):
    request = training_request(epochs=1)
    del request["HyperParameters"]["sagemaker_submit_directory"]
    context = make_context(repo_root=STAND_INS)

    result = run_training_job(request, context)

    assert result.status == "Completed"
