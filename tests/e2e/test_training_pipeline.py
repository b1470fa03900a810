"""The real training-pipeline ASL end to end in the local runtime: happy path and failure paths.

One runtime is provisioned for the module; the tests run in file order because the later ones
build on the model the happy path deployed (a champion to keep serving when an update fails).
"""

from __future__ import annotations

import io
import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import traffic_shift

from mlops_local.executors.faults import FaultPlan, parse_fault_spec
from mlops_local.monitoring_runs import run_monitoring_now
from mlops_local.runtime import LocalRuntime
from mlops_local.scenarios import send_and_monitor
from mlops_local.synthetic_images import generate_dataset

pytestmark = pytest.mark.e2e

# Small data and a tiny tuning budget keep one execution around a minute on two cores. These tests
# check the orchestration (the path taken and its side effects), so the gate is opened wide: a
# two-epoch model on 40 images per class is not meant to pass the production thresholds (the
# training tests hold the model to the accuracy bar; the gate's rules have their own tests).
E2E_OVERRIDES = {
    "TuningMaxJobs": "2",
    "TuningMaxParallelJobs": "1",
    "TrainingEpochs": "2",
    "ImageSize": "64",
    "GateMinAccuracy": "0.0",
    "GateMinDefectRecall": "0.0",
    "GateChampionMargin": "0.9999",
    # The upload burst lands at once, so its run need not wait for a quiet period (five minutes by
    # default) before it starts.
    "TriggerQuietSeconds": "0",
}
# A minute before the suite's per-test limit (pytest-timeout, 600 s): an execution that does not end
# fails the test on its own wait, which names it, rather than by the limit.
EXECUTION_WAIT = 540


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("images")
    generate_dataset(root, images_per_class=40, image_size=64, seed=11)
    return root / "line-a"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory, dataset: Path) -> Iterator[LocalRuntime]:
    # Progress lines (jobs, endpoint switches) go to stdout, which pytest shows when a test fails.
    local = LocalRuntime(
        run_dir=tmp_path_factory.mktemp("run"),
        overrides=E2E_OVERRIDES,
        faults=FaultPlan(),
        on_progress=lambda message: print(f"[runtime] {message}", flush=True),
    )
    local.start()
    local.upload_directory(dataset, "line-a")
    _wait_for(lambda: len(local.executions()) >= 1, timeout=60)
    try:
        yield local
    finally:
        local.stop()


def _wait_for(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.5)


def _run(
    runtime: LocalRuntime, reason: str, overrides: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[str]]:
    execution_input: dict[str, Any] = {
        "trigger": "manual",
        "reason": reason,
        "requested_at": datetime.now(UTC).isoformat(),
    }
    if overrides:
        execution_input["overrides"] = overrides
    arn = runtime.start_execution(execution_input)
    described = runtime.wait_for_execution(arn, timeout=EXECUTION_WAIT)
    return described, [visit.name for visit in runtime.history(arn)]


def _failed_state(runtime: LocalRuntime, arn: str) -> str:
    """Why an execution failed, for an assertion message.

    A failed Task is not always the cause (the spot-capacity path fails Tune on purpose and catches
    it) and the failure Pass states carry no error of their own, so this lists the execution's
    error, every failed state, the last states visited and what the endpoint says about itself.
    """
    described = runtime.client("stepfunctions").describe_execution(executionArn=arn)
    visits = runtime.history(arn)
    cause = described.get("cause", "")[:1000]
    lines = [f"execution {described['status']}: {described.get('error')}: {cause}"]
    lines += [f"  failed {v.name}: {v.error}: {(v.cause or '')[:300]}" for v in visits if v.error]
    lines.append("  last states: " + " > ".join(visit.name for visit in visits[-8:]))
    try:
        endpoint = runtime.client("sagemaker").describe_endpoint(EndpointName=_endpoint_name(runtime))
        lines.append(f"  endpoint: {endpoint['EndpointStatus']} {endpoint.get('FailureReason', '')}")
    except Exception as error:  # a diagnostic must not hide the assertion
        lines.append(f"  endpoint: {error}")
    return "\n".join(lines)


def _endpoint_name(runtime: LocalRuntime) -> str:
    return str(runtime.outputs()["EndpointName"])


def _predict(runtime: LocalRuntime, image_path: Path) -> dict[str, Any]:
    host = runtime._host
    request = urllib.request.Request(
        host.url(_endpoint_name(runtime)) + "/invocations",
        data=image_path.read_bytes(),
        headers={"Content-Type": "image/png" if image_path.suffix == ".png" else "image/jpeg"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.load(io.TextIOWrapper(response)))


def test_upload_burst_starts_one_execution(runtime: LocalRuntime) -> None:
    assert len(runtime.executions()) == 1


def test_happy_path_trains_registers_and_deploys(runtime: LocalRuntime, dataset: Path) -> None:
    first = runtime.executions()[0]
    described = runtime.wait_for_execution(first["executionArn"], timeout=EXECUTION_WAIT)
    visited = [visit.name for visit in runtime.history(first["executionArn"])]
    assert described["status"] == "SUCCEEDED", _failed_state(runtime, first["executionArn"])
    for state in (
        "PrepareDataset",
        "CheckDataset",
        "Tune",
        "Evaluate",
        "Gate",
        "RegisterModel",
        "Deploy",
        "VerifyDeployment",
        "EnsureMonitoring",
        "PipelineSucceeded",
    ):
        assert state in visited
    s3 = runtime.client("s3")
    listed = s3.list_objects_v2(
        Bucket=runtime.provisioned.ref("DataBucket"), Prefix=f"datasets/{first['name']}/"
    )
    assert any(obj["Key"].endswith("manifest.json") for obj in listed.get("Contents", []))
    packages = runtime.client("sagemaker").list_model_packages(
        ModelPackageGroupName=str(runtime.outputs()["ModelPackageGroupName"])
    )["ModelPackageSummaryList"]
    assert [p["ModelApprovalStatus"] for p in packages] == ["Approved"]
    endpoint = runtime.client("sagemaker").describe_endpoint(EndpointName=_endpoint_name(runtime))
    assert endpoint["EndpointStatus"] == "InService"
    image = next(p for p in sorted(dataset.rglob("*")) if p.is_file())
    assert _predict(runtime, image)["predictions"][0]["label"]


def test_endpoint_update_failure_keeps_the_old_model_and_fails(runtime: LocalRuntime, dataset: Path) -> None:
    before = runtime.client("sagemaker").describe_endpoint(EndpointName=_endpoint_name(runtime))
    runtime.faults.add(parse_fault_spec("endpoint-update-failure"))
    described, visited = _run(runtime, "update that cannot be deployed")
    assert described["status"] == "FAILED"
    assert "DeploymentRolledBack" in visited
    after = runtime.client("sagemaker").describe_endpoint(EndpointName=_endpoint_name(runtime))
    assert runtime.faults.fired_count("endpoint-update-failure") == 1, after.get("FailureReason")
    assert "injected fault" in after["FailureReason"]
    assert (after["EndpointStatus"], after["EndpointConfigName"]) == (
        "InService",
        before["EndpointConfigName"],
    )
    image = next(p for p in sorted(dataset.rglob("*")) if p.is_file())
    assert _predict(runtime, image)["model_version"]
    # The model that never went live is no longer Approved: the champion is still the served one.
    packages = runtime.client("sagemaker").list_model_packages(
        ModelPackageGroupName=str(runtime.outputs()["ModelPackageGroupName"]), SortBy="CreationTime"
    )["ModelPackageSummaryList"]
    assert [p["ModelApprovalStatus"] for p in packages] == ["Approved", "Rejected"]


def test_spot_capacity_error_falls_back_to_on_demand(runtime: LocalRuntime) -> None:
    runtime.faults.add(parse_fault_spec("spot-capacity"))
    described, visited = _run(runtime, "spot capacity shortage")
    assert "TuneOnDemand" in visited
    assert visited.count("Tune") + visited.count("TuneWarmStart") >= 2
    assert described["status"] == "SUCCEEDED", _failed_state(runtime, described["executionArn"])
    assert runtime.faults.fired_count("spot-capacity") >= 1


def test_batch_only_run_approves_the_model_and_leaves_the_endpoint_alone(runtime: LocalRuntime) -> None:
    # DeployEndpoint=false for one run: the model is approved for Batch Transform, nothing is deployed.
    sagemaker = runtime.client("sagemaker")
    before = sagemaker.describe_endpoint(EndpointName=_endpoint_name(runtime))["EndpointConfigName"]
    described, visited = _run(runtime, "batch-only stack", overrides={"deploy_endpoint": False})
    assert described["status"] == "SUCCEEDED", _failed_state(runtime, described["executionArn"])
    assert "NotifyApproved" in visited
    assert "Deploy" not in visited
    assert sagemaker.describe_endpoint(EndpointName=_endpoint_name(runtime))["EndpointConfigName"] == before
    newest = sagemaker.list_model_packages(
        ModelPackageGroupName=str(runtime.outputs()["ModelPackageGroupName"]),
        SortBy="CreationTime",
        SortOrder="Descending",
    )["ModelPackageSummaryList"][0]
    assert newest["ModelApprovalStatus"] == "Approved"


def test_training_failure_notifies_and_does_not_deploy(runtime: LocalRuntime) -> None:
    before = runtime.client("sagemaker").describe_endpoint(EndpointName=_endpoint_name(runtime))
    runtime.faults.add(parse_fault_spec("training-failure:count=all"))
    try:
        described, visited = _run(runtime, "training script crashes")
    finally:
        runtime.faults.rules.clear()
    assert described["status"] == "FAILED"
    assert "NotifyFailure" in visited
    assert "Deploy" not in visited
    after = runtime.client("sagemaker").describe_endpoint(EndpointName=_endpoint_name(runtime))
    assert after["EndpointConfigName"] == before["EndpointConfigName"]


def test_scheduled_batch_inference_scores_the_day_with_the_approved_model(
    runtime: LocalRuntime, dataset: Path
) -> None:
    s3 = runtime.client("s3")
    bucket = runtime.provisioned.ref("ArtifactsBucket")
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    images = [p for p in sorted(dataset.rglob("*")) if p.is_file()][:3]
    for image in images:
        s3.put_object(Bucket=bucket, Key=f"batch/{day}/input/{image.name}", Body=image.read_bytes())

    arn = runtime.fire_schedule("BatchInferenceSchedule")
    described = runtime.wait_for_execution(arn, timeout=EXECUTION_WAIT)

    visited = [visit.name for visit in runtime.history(arn)]
    assert described["status"] == "SUCCEEDED", _failed_state(runtime, arn)
    assert "Transform" in visited
    assert "BatchSucceeded" in visited
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"batch/{day}/output/").get("Contents", [])
    outputs = sorted(obj["Key"].rsplit("/", 1)[-1] for obj in listed)
    assert outputs == sorted(f"{image.name}.out" for image in images)
    body = s3.get_object(Bucket=bucket, Key=listed[0]["Key"])["Body"].read()
    assert json.loads(body)["predictions"][0]["label"] in {"ok", "scratch", "dent", "crack"}


def test_scheduled_retraining_starts_the_training_pipeline(runtime: LocalRuntime) -> None:
    arn = runtime.fire_schedule("RetrainSchedule")
    try:
        described = runtime.client("stepfunctions").describe_execution(executionArn=arn)
        assert json.loads(described["input"])["trigger"] == "schedule"
        assert described["stateMachineArn"] == runtime.provisioned.ref("TrainingPipelineStateMachine")
    finally:
        runtime.stop_execution(arn)
        runtime.wait_for_execution(arn, timeout=EXECUTION_WAIT)


def test_drift_violations_start_exactly_one_retraining(runtime: LocalRuntime, dataset: Path) -> None:
    schedules = runtime.client("sagemaker").list_monitoring_schedules()["MonitoringScheduleSummaries"]
    schedule = schedules[0]["MonitoringScheduleName"]
    images = [p for p in sorted(dataset.rglob("*")) if p.is_file()][:60]
    known = {e["executionArn"] for e in runtime.executions()}

    darker = partial(traffic_shift.darker, factor=0.4)
    first = send_and_monitor(runtime, _endpoint_name(runtime), schedule, images, shift=darker)
    second = run_monitoring_now(runtime, schedule)  # inside the cooldown window
    runtime.wait_until_idle(timeout=30)

    assert first.traffic.statuses == [200] * len(images), first.traffic.first_error
    assert first.monitoring.exit_message.startswith("CompletedWithViolations")
    assert second.exit_message.startswith("CompletedWithViolations")
    started = [e for e in runtime.executions() if e["executionArn"] not in known]
    assert [e["name"].split("-", 1)[0] for e in started] == ["drift"]
    runtime.stop_execution(started[0]["executionArn"])
