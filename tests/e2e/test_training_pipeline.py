"""The real training-pipeline ASL end to end in the local runtime: happy path and failure paths.

One runtime is provisioned for the module; the tests run in file order because the later ones
build on the model the happy path deployed (a champion to keep serving when an update fails).
Nothing holds the triggers back: the dataset is uploaded as a user's ``aws s3 sync`` would, while
the SQS pollers run, and the real trigger (pending uploads, the quiet period, the one-run lease,
follow-up runs) decides when runs start. So a test that starts a run first waits, as a user
would, until the previous run's end has been processed; a run started while another holds the
lease is skipped (or, for manual and drift requests, queued), which is what the trigger does.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import torch
import traffic_shift
from backbones import imagenet_network

from mlops_common.adapters.ledger import COOLDOWN_SK, DRIFT_PK
from mlops_local.executors.faults import FaultPlan, parse_fault_spec
from mlops_local.monitoring_runs import run_monitoring_now
from mlops_local.runtime import LocalRuntime, Notification
from mlops_local.scenarios import send_and_monitor
from mlops_local.synthetic_images import generate_dataset, make_image
from tests.state_coverage import machine_edges

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
    # The shortest cooldown there is (AWS default: a day), so that the drift signal queued during a
    # run (test_drift_signal_during_a_run_is_queued_for_its_end) and the Model Monitor violations of
    # the last test each get a retraining: the last test starts after that cooldown has lapsed (it
    # waits if need be) and sends its second report well within a minute of its first.
    "DriftCooldownMinutes": "1",
    # The quiet period must outlast the longest gap between two start_pipeline batches of one
    # upload, or a run claims while the rest of the upload is still on its way. On AWS that gap is
    # the batching window (60 s) plus a batch's handling (seconds), well inside 300 s. Locally the
    # window shrinks with time_factor (1.2 s) but the handling does not: a 100-record batch takes
    # 1.5-2 s here (more on a busy machine), invocations run one at a time, and gaps of 3.5 s were
    # measured, so the runtime's 3 s let the first run claim 54 of 161 uploads. 8 s covers them.
    "TriggerQuietSeconds": "8",
    # Every deploy registers the live variant with Application Auto Scaling (EnsureMonitoring): one
    # to two instances, so that the target and policy can be checked after an update.
    "AutoscalingMaxInstanceCount": "2",
    # A stack with a VPC, as a compliance-bound plant deploys it: runs use it unless their input
    # says use_vpc=false (PlanRun refuses use_vpc on a stack without subnets, as AWS would refuse
    # the jobs), and the SageMaker role gets the network-interface permissions it needs there.
    "VpcSubnetIds": "subnet-0e2e0000000000001,subnet-0e2e0000000000002",
    "VpcSecurityGroupIds": "sg-0e2e0000000000001",
}
# A minute before the suite's per-test limit (pytest-timeout, 600 s): an execution that does not end
# fails the test on its own wait, which names it, rather than by the limit.
EXECUTION_WAIT = 540


# The upload's pace: 161 objects at 40 a second take about 4 s, several of the local batching
# windows of start_pipeline (TriggerBatchWindowSeconds 60 s x time_factor 0.02 = 1.2 s), so the
# trigger sees one upload arrive in several batches (and its run waits for the last of them).
UPLOAD_OBJECTS_PER_SECOND = 40
# A label folder made by mistake, with one valid image: far below MinImagesPerClass.
STRAY_LABEL = "typo"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("images")
    generate_dataset(root, images_per_class=40, image_size=64, seed=11)
    stray = root / "line-a" / STRAY_LABEL
    stray.mkdir()
    make_image("ok", size=64, seed=1234).save(stray / f"{STRAY_LABEL}-00000.jpg", quality=92)
    return root / "line-a"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory, dataset: Path) -> Iterator[LocalRuntime]:
    # Progress lines (jobs, endpoint switches) go to stdout, which pytest shows when a test fails.
    local = LocalRuntime(
        run_dir=tmp_path_factory.mktemp("run"),
        overrides=E2E_OVERRIDES,
        # The first run finds no spot capacity for its tuning job and tunes on demand.
        faults=FaultPlan.from_specs(["spot-capacity"]),
        on_progress=lambda message: print(f"[runtime] {message}", flush=True),
    )
    local.start()
    try:
        local.upload_directory(dataset, "line-a", objects_per_second=UPLOAD_OBJECTS_PER_SECOND)
        _wait_for(lambda: len(local.executions()) >= 1, timeout=60)
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module")
def during_runs() -> dict[str, Any]:
    """What a test did while its run held the lease, for the test after it to follow up (file order)."""
    return {}


def _wait_for(
    condition: Callable[[], Any], timeout: float, what: str = "condition", poll: float = 0.5
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not reached in {timeout:.0f} s"
        time.sleep(poll)


def _run(
    runtime: LocalRuntime,
    reason: str,
    overrides: dict[str, Any] | None = None,
    *,
    while_running: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Start a manual run once the previous one has ended, as a user would; wait for its end.

    One run at a time: a manual run started while another holds the lease is skipped (its request
    queued for that run's end), so wait until the previous run's end has been processed.
    ``while_running(arn)`` is called once this run's BeginRun has proceeded (it holds the lease).
    """
    runtime.wait_until_trained(timeout=EXECUTION_WAIT)
    execution_input: dict[str, Any] = {
        "trigger": "manual",
        "reason": reason,
        "requested_at": datetime.now(UTC).isoformat(),
    }
    if overrides:
        execution_input["overrides"] = overrides
    arn = runtime.start_execution(execution_input)
    if while_running is not None:
        _wait_for_state(runtime, arn, "PlanRun")
        while_running(arn)
    described = runtime.wait_for_execution(arn, timeout=EXECUTION_WAIT)
    return described, [visit.name for visit in runtime.history(arn)]


def _wait_for_state(runtime: LocalRuntime, arn: str, state: str, timeout: float = 120) -> None:
    """Wait until the execution has entered ``state``; fail with its story if it ends first."""
    sfn = runtime.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while not any(visit.name == state for visit in runtime.history(arn)):
        if sfn.describe_execution(executionArn=arn)["status"] != "RUNNING":
            # It may have entered the state just before it ended: look once more.
            if any(visit.name == state for visit in runtime.history(arn)):
                return
            raise AssertionError(f"ended before {state}:\n{_failed_state(runtime, arn)}")
        assert time.monotonic() < deadline, f"{arn} not in {state} after {timeout:.0f} s"
        time.sleep(0.2)


def _assignments(runtime: LocalRuntime, arn: str) -> list[tuple[str, dict[str, Any]]]:
    """(state, the workflow variables it assigned) for each state the execution left, in order."""
    sfn = runtime.client("stepfunctions")
    assigned: list[tuple[str, dict[str, Any]]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        for event in page["events"]:
            exited = event.get("stateExitedEventDetails")
            if exited is not None:
                values = exited.get("assignedVariables") or {}
                assigned.append((exited["name"], {name: json.loads(v) for name, v in values.items()}))
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    return assigned


def _assigned(runtime: LocalRuntime, arn: str, state: str, variable: str) -> Any:
    """The value ``state`` last assigned to ``variable`` in an execution."""
    values = [
        assigned[variable]
        for name, assigned in _assignments(runtime, arn)
        if name == state and variable in assigned
    ]
    assert values, f"{arn} has not left {state} (or it assigns no {variable})"
    return values[-1]


def _variables_before(runtime: LocalRuntime, arn: str, state: str) -> dict[str, Any]:
    """Every workflow variable as it stood when the execution first entered ``state``."""
    variables: dict[str, Any] = {}
    names = [visit.name for visit in runtime.history(arn)]
    left = names[: names.index(state)]
    for (name, assigned), expected in zip(_assignments(runtime, arn), left, strict=False):
        assert name == expected, (name, expected)
        variables |= assigned
    return variables


def _scheduled(runtime: LocalRuntime, arn: str, state: str) -> dict[str, Any]:
    """The request ``state``'s task last sent (its TaskScheduled parameters)."""
    events = runtime.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)[
        "events"
    ]
    current, sent = None, []
    for event in events:
        if "stateEnteredEventDetails" in event:
            current = event["stateEnteredEventDetails"]["name"]
        if event["type"] == "TaskScheduled" and current == state:
            sent.append(json.loads(event["taskScheduledEventDetails"]["parameters"]))
    assert sent, f"{state} scheduled no task in {arn}"
    return dict(sent[-1])


def _begin(runtime: LocalRuntime, arn: str) -> dict[str, Any]:
    """What the execution's last BeginRun decided (``$begin``: action, uploads, since, until)."""
    return dict(_assigned(runtime, arn, "BeginRun", "begin"))


def _dataset_file(runtime: LocalRuntime, execution_name: str, name: str) -> str:
    body = runtime.client("s3").get_object(
        Bucket=runtime.provisioned.ref("DataBucket"), Key=f"datasets/{execution_name}/{name}"
    )["Body"]
    return str(body.read().decode("utf-8"))


def _stats(runtime: LocalRuntime, execution_name: str) -> dict[str, Any]:
    return dict(json.loads(_dataset_file(runtime, execution_name, "stats.json")))


def _trigger(execution: dict[str, Any]) -> str:
    """``upload``, ``drift``, ``manual``...: the first part of the execution's name."""
    return str(execution["name"]).split("-", 1)[0]


def _follow_up(runtime: LocalRuntime, known: set[str]) -> dict[str, Any]:
    """The execution that started after ``known`` (run_ended starts it when the holder's end is seen)."""
    started: list[dict[str, Any]] = []

    def one_started() -> bool:
        started[:] = [e for e in runtime.executions() if e["executionArn"] not in known]
        return bool(started)

    _wait_for(one_started, timeout=60, what="a follow-up run")
    return started[0]


def _stop_and_release(runtime: LocalRuntime, arn: str) -> list[dict[str, Any]]:
    """Stop a follow-up (the tests need its start, not its training) and wait for its lease to go."""
    runtime.stop_execution(arn, error="E2E.Stopped", cause="the test checked how it began")
    assert runtime.wait_for_execution(arn, timeout=EXECUTION_WAIT)["status"] == "ABORTED"
    return runtime.wait_until_trained(timeout=EXECUTION_WAIT)


def _drift_delivery(runtime: LocalRuntime, rule: str) -> dict[str, Any]:
    """What handle_drift answered to the last event of ``rule`` (action, execution_name, reason)."""
    assert runtime.router is not None
    outcomes = [outcome for logical_id, _, outcome in runtime.router.deliveries if logical_id == rule]
    assert outcomes, f"no event of {rule} was delivered"
    return dict(outcomes[-1].payload)


def _drift_alarm_name(runtime: LocalRuntime) -> str:
    """The template's DriftAlarm, by the name handle_drift compares with."""
    return runtime.provisioned.functions.find("HandleDriftFunction").environment["DRIFT_ALARM_NAME"]


def _wait_for_drift_cooldown(runtime: LocalRuntime) -> None:
    """Wait until the drift cooldown claimed earlier in the module (DriftCooldownMinutes) has lapsed."""
    item = (
        runtime.client("dynamodb")
        .get_item(
            TableName=runtime.provisioned.ref("PipelineTable"),
            Key={"pk": {"S": DRIFT_PK}, "sk": {"S": COOLDOWN_SK}},
        )
        .get("Item")
    )
    if item is not None:
        expires_at = int(item["expires_at"]["N"])
        assert expires_at - time.time() <= 61, f"the drift cooldown lasts until {expires_at}"
        time.sleep(max(0.0, expires_at - time.time() + 0.5))


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


def _failure_notification(runtime: LocalRuntime, execution_name: str) -> Notification:
    """The failure notification of ``execution_name`` (notify_failure publishes it after the run ends)."""
    found: list[Notification] = []

    def published() -> bool:
        found[:] = [n for n in runtime.notifications() if n.subject.endswith(f": {execution_name}")]
        return bool(found)

    _wait_for(published, timeout=60, what=f"the failure notification of {execution_name}")
    return found[-1]


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


def test_a_batch_run_before_any_approved_model_says_so_and_succeeds(runtime: LocalRuntime) -> None:
    arn = runtime.start_execution({}, state_machine="BatchInferenceStateMachine")
    described = runtime.wait_for_execution(arn, timeout=EXECUTION_WAIT)
    visited = [visit.name for visit in runtime.history(arn)]
    assert described["status"] == "SUCCEEDED", _failed_state(runtime, arn)
    assert visited == ["ResolveChampion", "HasApprovedModel", "NotifyNoModel", "NoApprovedModel"]
    # No date asked for, none scheduled: the day the execution started.
    output = json.loads(described["output"])
    assert output["outcome"] == "batch_skipped"
    assert output["batch"]["date"] == described["startDate"].astimezone(UTC).strftime("%Y-%m-%d")
    assert "MessageId" in output["notification"]


def test_upload_burst_starts_one_execution(runtime: LocalRuntime, dataset: Path) -> None:
    # The upload spanned several batches of start_pipeline; the trigger still started one run, which
    # waited for the upload to settle and claimed all of it: no fraction, no follow-up.
    uploaded = len([path for path in dataset.rglob("*") if path.is_file()])
    executions = runtime.wait_until_trained(timeout=EXECUTION_WAIT)
    assert [_trigger(e) for e in executions] == ["upload"]
    batches = [
        event
        for logical_id, event, _ in runtime.provisioned.functions.invocations
        if logical_id == "StartPipelineFunction"
    ]
    assert len(batches) >= 2, f"the upload reached start_pipeline in {len(batches)} batch(es)"
    (run,) = executions
    visited = [visit.name for visit in runtime.history(run["executionArn"])]
    assert "WaitForUploadsToSettle" in visited, visited[:8]
    begin = _begin(runtime, run["executionArn"])
    assert (begin["action"], begin["uploads"], begin["since"]) == ("proceed", uploaded, "")
    # Every uploaded object is in exactly this run's accounting, as new.
    stats = _stats(runtime, run["name"])
    assert stats["accounting"]["uploaded"] == uploaded
    assert (
        stats["uploads"]["new"],
        stats["uploads"]["previously_covered"],
        stats["uploads"]["after_snapshot"],
    ) == (uploaded, 0, 0)
    state = runtime.trigger_state()
    assert (state["pending_uploads"], state["lease"], state["queued_retraining"]) == (0, None, None)
    assert datetime.fromisoformat(state["covered_until"]) == datetime.fromisoformat(begin["until"])


def test_happy_path_trains_registers_and_deploys(runtime: LocalRuntime, dataset: Path) -> None:
    first = runtime.executions()[0]
    described = runtime.wait_for_execution(first["executionArn"], timeout=EXECUTION_WAIT)
    visited = [visit.name for visit in runtime.history(first["executionArn"])]
    assert described["status"] == "SUCCEEDED", _failed_state(runtime, first["executionArn"])
    assert visited[:2] == ["BeginRun", "RunDecision"]
    tuned = visited.index("Tune")
    assert visited[tuned : tuned + 5] == [
        "Tune",
        "ClassifyTrainingFailure",
        "IsCapacityError",
        "Tune",
        "Evaluate",
    ]
    output = json.loads(described["output"])
    assert (output["outcome"], output["capacity"]["EnableManagedSpotTraining"]) == ("deployed", False)
    assert runtime.faults.fired_count("spot-capacity") == 1
    for state in (
        "PrepareDataset",
        "CheckDataset",
        "Tune",
        "Evaluate",
        "Gate",
        "RegisterModel",
        "Deploy",
        "CheckEndpointStatus",
        "EnsureMonitoring",
        "Notify",
        "PipelineSucceeded",
    ):
        assert state in visited
    s3 = runtime.client("s3")
    listed = s3.list_objects_v2(
        Bucket=runtime.provisioned.ref("DataBucket"), Prefix=f"datasets/{first['name']}/"
    )
    assert any(obj["Key"].endswith("manifest.json") for obj in listed.get("Contents", []))
    # The stray one-image label folder is excluded with its reason; the run went on without it.
    stats = _stats(runtime, first["name"])
    assert stats["labels"] == ["crack", "dent", "ok", "scratch"]
    assert list(stats["excluded_labels"]) == [STRAY_LABEL]
    excluded = stats["excluded_labels"][STRAY_LABEL]
    assert (excluded["usable"], excluded["objects"]) == (1, 1)
    assert excluded["reason"].startswith(f"excluded_label: label '{STRAY_LABEL}' excluded: 1 usable image")
    quarantined = [
        json.loads(line) for line in _dataset_file(runtime, first["name"], "quarantine.jsonl").splitlines()
    ]
    assert [row["reason"] for row in quarantined if row["key"].split("/")[-2] == STRAY_LABEL] == [
        excluded["reason"]
    ]
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
    # Plain on-demand training with Debugger rules: their verdicts come with the model.
    overrides = {"use_tuning": False, "use_spot": False, "use_vpc": False, "use_debugger_rules": True}
    described, visited = _run(runtime, "update that cannot be deployed", overrides=overrides)
    assert described["status"] == "FAILED"
    assert "DebugRuleConfigurations" in _scheduled(runtime, described["executionArn"], "Train")
    assert _assigned(runtime, described["executionArn"], "Train", "model")["debugger_rules"]
    assert visited[-3:] == ["CheckEndpointStatus", "RevokeApproval", "DeploymentFailed"]
    assert described["error"] == "DeploymentRolledBack"
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


@pytest.fixture(scope="module")
def redriven_run(runtime: LocalRuntime) -> dict[str, Any]:
    """One batch-only run (DeployEndpoint=false) whose Glue job fails once; the operator redrives it
    and its spot tuning then finds no capacity. Three paths, one pipeline run's worth of work.
    """
    endpoint_before = runtime.client("sagemaker").describe_endpoint(EndpointName=_endpoint_name(runtime))
    runtime.faults.add(parse_fault_spec("glue-failure"))
    runtime.faults.add(parse_fault_spec("spot-capacity"))
    try:
        failed, visited = _run(
            runtime, "batch-only, the Glue job fails once", overrides={"deploy_endpoint": False}
        )
        arn = failed["executionArn"]
        notification = (
            _failure_notification(runtime, failed["name"]).json() if failed["status"] == "FAILED" else {}
        )
        # The operator runs the notification's command once the failed run's end has been processed.
        runtime.wait_until_trained(timeout=EXECUTION_WAIT)
        command = (notification.get("redrive") or {}).get("command") or ""
        if command:
            runtime.redrive_execution(command.rsplit(" ", 1)[-1])
        redriven = runtime.wait_for_execution(arn, timeout=EXECUTION_WAIT)
        after = [visit.name for visit in runtime.history(arn)]
        runtime.wait_until_trained(timeout=EXECUTION_WAIT)
    finally:
        runtime.faults.rules.clear()
    return {
        "failed": failed,
        "visited_before_redrive": visited,
        "notification": notification,
        "command": command,
        "redriven": redriven,
        "visited": after,
        "endpoint_before": endpoint_before,
    }


def test_a_failed_glue_run_notifies_its_logs_and_a_redrive_command(
    runtime: LocalRuntime, redriven_run: dict[str, Any]
) -> None:
    failed, message = redriven_run["failed"], redriven_run["notification"]
    assert failed["status"] == "FAILED", _failed_state(runtime, failed["executionArn"])
    assert redriven_run["visited_before_redrive"][-1] == "PrepareDataset"
    run_id = message["failed_work"]["job"]
    assert message["failed_state"] == "PrepareDataset"
    assert "injected failure" in message["cause"]
    glue_error_log = message["failed_work"]["logs"][1]
    assert (glue_error_log["group"], glue_error_log["stream_prefix"]) == ("/aws-glue/jobs/error", run_id)
    assert run_id in glue_error_log["console_url"]
    assert (
        redriven_run["command"]
        == f"aws stepfunctions redrive-execution --execution-arn {failed['executionArn']}"
    )


def test_a_redriven_run_resumes_at_the_failed_state_and_keeps_what_succeeded(
    runtime: LocalRuntime, redriven_run: dict[str, Any]
) -> None:
    redriven, before = redriven_run["redriven"], redriven_run["visited_before_redrive"]
    assert redriven["status"] == "SUCCEEDED", _failed_state(runtime, redriven["executionArn"])
    assert (redriven["executionArn"], redriven["redriveCount"]) == (redriven_run["failed"]["executionArn"], 1)
    after = redriven_run["visited"]
    # What succeeded is kept, not rerun: the history goes on from the failed state.
    assert after[: len(before)] == before
    rerun = after[len(before) :]
    assert rerun[0] == "PrepareDataset"
    assert "BeginRun" not in rerun


def test_spot_capacity_error_falls_back_to_on_demand(
    runtime: LocalRuntime, redriven_run: dict[str, Any]
) -> None:
    visited = redriven_run["visited"]
    assert "IsCapacityError" in visited
    assert visited.count("Tune") >= 2
    assert json.loads(redriven_run["redriven"]["output"])["capacity"]["EnableManagedSpotTraining"] is False
    assert redriven_run["redriven"]["status"] == "SUCCEEDED"
    assert runtime.faults.fired_count("spot-capacity") >= 1


def test_batch_only_run_approves_the_model_and_leaves_the_endpoint_alone(
    runtime: LocalRuntime, redriven_run: dict[str, Any]
) -> None:
    # DeployEndpoint=false for one run: the model is approved for Batch Transform, nothing is deployed.
    sagemaker = runtime.client("sagemaker")
    visited = redriven_run["visited"]
    assert redriven_run["redriven"]["status"] == "SUCCEEDED"
    assert "Notify" in visited
    assert "Deploy" not in visited
    assert json.loads(redriven_run["redriven"]["output"])["outcome"] == "approved"
    endpoint = sagemaker.describe_endpoint(EndpointName=_endpoint_name(runtime))
    assert endpoint["EndpointConfigName"] == redriven_run["endpoint_before"]["EndpointConfigName"]
    newest = sagemaker.list_model_packages(
        ModelPackageGroupName=str(runtime.outputs()["ModelPackageGroupName"]),
        SortBy="CreationTime",
        SortOrder="Descending",
    )["ModelPackageSummaryList"][0]
    assert newest["ModelApprovalStatus"] == "Approved"


def _signal_drift(runtime: LocalRuntime, during_runs: dict[str, Any], arn: str) -> None:
    """The drift alarm fires while ``arn`` holds the lease, and again: queued once, then the cooldown."""
    alarm = _drift_alarm_name(runtime)
    known = {e["executionArn"] for e in runtime.executions()}
    runtime.set_alarm_state(alarm, "ALARM", "e2e: prediction confidence drifted")
    first = _drift_delivery(runtime, "DriftAlarmRule")
    state = runtime.trigger_state()
    runtime.set_alarm_state(alarm, "OK", "e2e: confidence back")
    runtime.set_alarm_state(alarm, "ALARM", "e2e: prediction confidence drifted again")
    second = _drift_delivery(runtime, "DriftAlarmRule")
    runtime.set_alarm_state(alarm, "OK", "e2e: confidence back")
    during_runs["drift"] = {"run": arn, "known": known, "first": first, "second": second, "state": state}


def test_training_failure_notifies_and_does_not_deploy(
    runtime: LocalRuntime, during_runs: dict[str, Any]
) -> None:
    before = runtime.client("sagemaker").describe_endpoint(EndpointName=_endpoint_name(runtime))
    runtime.faults.add(parse_fault_spec("training-failure:count=all"))
    # While this run trains, drift is signalled (the next test follows it up).
    during = partial(_signal_drift, runtime, during_runs)
    try:
        described, visited = _run(runtime, "training script crashes", while_running=during)
    finally:
        runtime.faults.rules.clear()
    assert described["status"] == "FAILED"
    assert visited[-1] == "TrainingFailed"
    assert "Deploy" not in visited
    after = runtime.client("sagemaker").describe_endpoint(EndpointName=_endpoint_name(runtime))
    assert after["EndpointConfigName"] == before["EndpointConfigName"]
    # The notification comes from outside the machine and names the tuning job's logs; the run
    # ended in a Fail state, so it offers no redrive that would only fail there again.
    message = _failure_notification(runtime, described["name"]).json()
    assert (message["failed_state"], message["failed_work"]["state"]) == ("TrainingFailed", "Tune")
    # A champion exists, so the run tuned warm-started from the champion's tuning job.
    assert "WarmStartConfig" in _scheduled(runtime, described["executionArn"], "Tune")
    assert message["failed_work"]["logs"][0]["group"] == "/aws/sagemaker/TrainingJobs"
    assert message["redrive"]["command"] is None


def test_drift_signal_during_a_run_is_queued_for_its_end(
    runtime: LocalRuntime, during_runs: dict[str, Any]
) -> None:
    # A drift signal that finds a run holding the lease is queued, not a second concurrent run; a
    # storm of signals queues one; the run's end starts exactly one drift retraining (run_ended).
    during = during_runs.get("drift")
    if during is None:
        pytest.skip("follows up the drift signalled during test_training_failure_...'s run")
    host = runtime.client("stepfunctions").describe_execution(executionArn=during["run"])
    assert (during["first"]["action"], during["first"]["execution_name"]) == ("queued", host["name"])
    assert during["second"]["action"] == "cooldown", during["second"]
    queued = during["state"]["queued_retraining"]
    assert queued is not None
    assert queued["trigger"] == "drift"
    assert "entered ALARM" in queued["reason"]
    follow_up = _follow_up(runtime, during["known"])
    arn = follow_up["executionArn"]
    try:
        _wait_for_state(runtime, arn, "PlanRun")
        answered = runtime.trigger_state()["queued_retraining"]
    finally:
        executions = _stop_and_release(runtime, arn)
    assert _trigger(follow_up) == "drift"
    described = runtime.client("stepfunctions").describe_execution(executionArn=arn)
    assert json.loads(described["input"])["trigger"] == "drift"
    assert answered is None  # the retraining's BeginRun answered the queued request
    assert [e["executionArn"] for e in executions if e["executionArn"] not in during["known"]] == [arn]


def test_a_pretrained_backbone_fine_tunes_weights_from_its_channel_and_scaling_follows_the_update(
    runtime: LocalRuntime, dataset: Path
) -> None:
    """MobileNetV3-Small with (random) weights uploaded as an operator would, read by the training
    job through its pretrained channel under network isolation; the run updates the endpoint, which
    then serves the backbone, and the live variant is registered for autoscaling."""
    buffer = io.BytesIO()
    torch.manual_seed(0)
    torch.save(imagenet_network("mobilenet_v3_small").state_dict(), buffer)
    weights = buffer.getvalue()
    key = "pretrained/mobilenet_v3_small-e2e00000.pth"
    bucket = runtime.provisioned.ref("ArtifactsBucket")
    runtime.client("s3").put_object(Bucket=bucket, Key=key, Body=weights)
    overrides = {
        "model_architecture": "mobilenet_v3_small",
        "pretrained_weights_key": key,
        "use_tuning": False,
        "use_spot": False,
        "use_vpc": False,
        "use_debugger_rules": False,
    }
    described, visited = _run(runtime, "fine-tune a pretrained backbone", overrides=overrides)
    assert described["status"] == "SUCCEEDED", _failed_state(runtime, described["executionArn"])
    assert {"Train", "Evaluate", "Gate", "Deploy", "EnsureMonitoring"} <= set(visited)

    # The job read the weights as data: a pretrained channel, network isolation still on.
    assert runtime.jobs is not None
    job = next(r.request for r in runtime.jobs.records("training") if r.name.startswith(described["name"]))
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]}
    assert channels["pretrained"] == f"s3://{bucket}/{key}"
    assert job["EnableNetworkIsolation"] is True
    assert job["HyperParameters"]["model"] == "mobilenet_v3_small"
    assert job["AlgorithmSpecification"]["TrainingImage"].endswith("-cpu-amzn2023-sagemaker")
    # ... and loaded exactly that file (train.py records its digest in metrics.json).
    sagemaker = runtime.client("sagemaker")
    trained = sagemaker.describe_training_job(TrainingJobName=job["TrainingJobName"])
    artifact_bucket, _, artifact_key = trained["ModelArtifacts"]["S3ModelArtifacts"][5:].partition("/")
    artifact = runtime.client("s3").get_object(Bucket=artifact_bucket, Key=artifact_key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(artifact)) as archive:
        member = archive.extractfile("metrics.json")
        assert member is not None
        metrics = json.loads(member.read())
    assert metrics["pretrained_weights"]["sha256"] == hashlib.sha256(weights).hexdigest()

    # The endpoint was updated to the backbone and serves it.
    deployed = _assigned(runtime, described["executionArn"], "Deploy", "deployment")
    assert (deployed["action"], deployed["autoscaling"]) == ("update", "kept")
    image = next(p for p in sorted(dataset.rglob("*")) if p.is_file())
    assert _predict(runtime, image)["predictions"][0]["label"]

    # After the update the live variant is a scalable target with its target-tracking policy.
    monitoring = _assigned(runtime, described["executionArn"], "EnsureMonitoring", "monitoring")
    assert monitoring["autoscaling"] == "registered"
    resource = f"endpoint/{_endpoint_name(runtime)}/variant/AllTraffic"
    scaling = runtime.client("application-autoscaling")
    targets = scaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in targets["ScalableTargets"]] == [(1, 2)]
    policies = scaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)
    [policy] = policies["ScalingPolicies"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert (
        tracking["PredefinedMetricSpecification"]["PredefinedMetricType"]
        == "SageMakerVariantInvocationsPerInstance"
    )
    assert tracking["TargetValue"] == 70.0
    assert (tracking["ScaleInCooldown"], tracking["ScaleOutCooldown"]) == (300, 300)


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
    output = json.loads(described["output"])
    assert (output["outcome"], output["batch"]["date"]) == ("batch_succeeded", day)
    assert output["transform"]["status"] == "Completed"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"batch/{day}/output/").get("Contents", [])
    outputs = sorted(obj["Key"].rsplit("/", 1)[-1] for obj in listed)
    assert outputs == sorted(f"{image.name}.out" for image in images)
    body = s3.get_object(Bucket=bucket, Key=listed[0]["Key"])["Body"].read()
    assert json.loads(body)["predictions"][0]["label"] in {"ok", "scratch", "dent", "crack"}


def test_a_batch_rerun_for_a_requested_date_reuses_the_model_of_the_approved_version(
    runtime: LocalRuntime,
) -> None:
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    arn = runtime.start_execution({"date": day}, state_machine="BatchInferenceStateMachine")
    described = runtime.wait_for_execution(arn, timeout=EXECUTION_WAIT)
    visited = [visit.name for visit in runtime.history(arn)]
    assert described["status"] == "SUCCEEDED", _failed_state(runtime, arn)
    assert json.loads(described["output"])["batch"]["date"] == day
    # The earlier run created this package version's model: the create fails, the model is reused.
    assert visited[visited.index("CreateBatchModel") + 1 :][:2] == ["ModelAlreadyExists", "Transform"]


def test_a_batch_run_whose_role_cannot_create_the_model_fails_with_the_refusal(runtime: LocalRuntime) -> None:
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    with _without_action(runtime, "BatchInferenceRole", "sagemaker:CreateModel") as role_name:
        arn = runtime.start_execution({"date": day}, state_machine="BatchInferenceStateMachine")
        described = runtime.wait_for_execution(arn, timeout=EXECUTION_WAIT)
    visited = [visit.name for visit in runtime.history(arn)]
    assert described["status"] == "FAILED"
    # Not an existing model: CreateModel's own error and cause, not a reuse.
    assert visited[-3:] == ["CreateBatchModel", "ModelAlreadyExists", "CreateBatchModelFailed"]
    assert described["error"] == "SageMaker.AmazonSageMakerException"
    assert f"assumed-role/{role_name}/" in described["cause"]
    assert "is not authorized to perform: sagemaker:CreateModel" in described["cause"]


def _upload_during(runtime: LocalRuntime, folder: Path, during_runs: dict[str, Any], arn: str) -> None:
    """A few images land while ``arn`` holds the lease: they wait, counted, for the follow-up run."""
    known = {e["executionArn"] for e in runtime.executions()}
    # S3 and its events tell time in whole seconds: an upload within the second of the run's claim
    # belongs to the claimed snapshot (start_pipeline counts it as covered). Upload after it.
    claimed_at = datetime.fromisoformat(_begin(runtime, arn)["until"])
    next_second = claimed_at.replace(microsecond=0) + timedelta(seconds=1)
    time.sleep(max(0.0, (next_second - datetime.now(UTC)).total_seconds() + 0.05))
    keys = runtime.upload_directory(folder, "line-b")
    _wait_for(
        lambda: runtime.trigger_state()["pending_uploads"] >= len(keys),
        timeout=60,
        what="the uploads counted as pending",
        poll=0.2,
    )
    during_runs["upload"] = {
        "run": arn,
        "keys": keys,
        "known": known,
        "state": runtime.trigger_state(),
        "status": runtime.client("stepfunctions").describe_execution(executionArn=arn)["status"],
    }


def test_scheduled_retraining_starts_the_training_pipeline(
    runtime: LocalRuntime, during_runs: dict[str, Any], tmp_path: Path
) -> None:
    runtime.wait_until_trained(timeout=EXECUTION_WAIT)  # or its run is skipped: another holds the lease
    arn = runtime.fire_schedule("RetrainSchedule")
    try:
        described = runtime.client("stepfunctions").describe_execution(executionArn=arn)
        assert json.loads(described["input"])["trigger"] == "schedule"
        assert described["stateMachineArn"] == runtime.provisioned.ref("TrainingPipelineStateMachine")
        # While it runs, another line uploads a few images (the next test follows them up).
        _wait_for_state(runtime, arn, "PlanRun")
        # A tick that comes while this run holds the lease is skipped: the next tick comes anyway.
        tick = runtime.fire_schedule("RetrainSchedule")
        skipped = runtime.wait_for_execution(tick, timeout=EXECUTION_WAIT)
        assert skipped["status"] == "SUCCEEDED"
        assert [visit.name for visit in runtime.history(tick)][-2:] == ["RunDecision", "RunSkipped"]
        assert described["name"] in json.loads(skipped["output"])["begin"]["reason"]
        generate_dataset(tmp_path, images_per_class=1, sources=("line-b",), image_size=64, seed=23)
        _upload_during(runtime, tmp_path / "line-b", during_runs, arn)
    finally:
        runtime.stop_execution(arn)
        runtime.wait_for_execution(arn, timeout=EXECUTION_WAIT)


def test_upload_during_a_run_is_claimed_by_one_follow_up_run(
    runtime: LocalRuntime, during_runs: dict[str, Any]
) -> None:
    # The previous test's run was stopped; its end started the follow-up on its own (run_ended),
    # whose BeginRun claims exactly the uploads that came during the run, and nothing else.
    during = during_runs.get("upload")
    if during is None:
        pytest.skip("follows up the uploads made during test_scheduled_retraining_...'s run")
    follow_up = _follow_up(runtime, during["known"])
    arn = follow_up["executionArn"]
    try:
        _wait_for_state(runtime, arn, "PlanRun")
        begin = _begin(runtime, arn)
        claimed = runtime.trigger_state()
    finally:
        executions = _stop_and_release(runtime, arn)
    host = runtime.client("stepfunctions").describe_execution(executionArn=during["run"])
    assert during["status"] == "RUNNING"
    assert during["state"]["lease"]["holder"] == host["name"]
    assert during["state"]["pending_uploads"] == len(during["keys"])
    assert _trigger(follow_up) == "upload"
    described = runtime.client("stepfunctions").describe_execution(executionArn=arn)
    assert json.loads(described["input"])["trigger"] == "upload"
    assert (begin["action"], begin["uploads"]) == ("proceed", len(during["keys"]))
    # Its snapshot starts where the ended run's ended.
    since, host_until = begin["since"], _begin(runtime, during["run"])["until"]
    assert datetime.fromisoformat(since) == datetime.fromisoformat(host_until)
    assert claimed["pending_uploads"] == 0
    assert [e["executionArn"] for e in executions if e["executionArn"] not in during["known"]] == [arn]


def test_drift_violations_start_exactly_one_retraining(runtime: LocalRuntime, dataset: Path) -> None:
    schedules = runtime.client("sagemaker").list_monitoring_schedules()["MonitoringScheduleSummaries"]
    schedule = schedules[0]["MonitoringScheduleName"]
    images = [p for p in sorted(dataset.rglob("*")) if p.is_file()][:60]
    # No run holds the lease (so the retraining starts at once, not queued) and the cooldown that
    # the drift signal of an earlier test claimed has lapsed.
    runtime.wait_until_trained(timeout=EXECUTION_WAIT)
    _wait_for_drift_cooldown(runtime)
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
    assert runtime.router is not None
    answers = [
        outcome.payload["action"]
        for rule, _, outcome in runtime.router.deliveries
        if rule == "MonitoringViolationRule"
    ]
    assert answers == ["started", "cooldown"]


def test_a_role_missing_one_statement_fails_the_run_naming_the_role_and_action(runtime: LocalRuntime) -> None:
    """IAM is enforced per role: drop the statement that lets the pipeline invoke its functions."""
    iam = runtime.client("iam")
    role = runtime.provisioned.ref("TrainingPipelineRole")
    policies = {
        name: iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    }
    name, document = next(
        (name, document)
        for name, document in policies.items()
        if any("lambda:InvokeFunction" in json.dumps(s.get("Action")) for s in document["Statement"])
    )
    reduced = {
        **document,
        "Statement": [
            s for s in document["Statement"] if "lambda:InvokeFunction" not in json.dumps(s.get("Action"))
        ],
    }
    iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(reduced))
    try:
        described, visited = _run(runtime, "a role lost one statement")
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))
    assert described["status"] == "FAILED"
    assert visited[-1] == "BeginRun"
    begin_run = runtime.provisioned.ref("BeginRunFunction")
    expected = (
        f"assumed-role/{role}/StepFunctions is not authorized to perform: lambda:InvokeFunction on resource: "
        f"arn:aws:lambda:us-east-1:123456789012:function:{begin_run}"
    )
    assert expected in described["cause"]
    message = _failure_notification(runtime, described["name"]).json()
    assert (message["failed_state"], message["error"]) == ("BeginRun", "Lambda.AccessDeniedException")
    assert expected in message["cause"]


def test_plain_training_in_a_vpc_with_debugger_falls_back_to_on_demand_and_a_rejected_model_stays_out(
    runtime: LocalRuntime,
) -> None:
    """One run through the branches the default configuration never takes.

    Plain training (no tuning) in the VPC with Debugger rules (for accounts that still have
    Debugger), whose spot job cannot get capacity; then a gate that rejects: the model is registered
    Rejected and never deployed.
    """
    before = runtime.client("sagemaker").describe_endpoint(EndpointName=_endpoint_name(runtime))
    functions = runtime.provisioned.functions
    # As `aws lambda update-function-configuration` would: a bar no model can reach.
    saved = functions.update_environment("EvaluateModelFunction", {"GATE_MIN_ACCURACY": "1.5"})
    runtime.faults.add(parse_fault_spec("spot-capacity"))
    overrides = {"use_tuning": False, "use_vpc": True, "use_debugger_rules": True, "use_spot": True}
    try:
        described, visited = _run(runtime, "plain training in the VPC, rejected", overrides=overrides)
    finally:
        functions.update_environment("EvaluateModelFunction", saved)
        runtime.faults.rules.clear()
    assert described["status"] == "SUCCEEDED", _failed_state(runtime, described["executionArn"])
    path = ["PlanRun", "Train", "ClassifyTrainingFailure", "IsCapacityError", "Train", "Evaluate"]
    trained = visited.index("Train")
    assert visited[trained - 3 : trained + 5] == [
        "ResolveChampion",
        "PrepareTraining",
        "ChooseTrainingPath",
        *path[1:],
    ]
    # The rules' verdicts come with the trained model (offline: from train.py's own diagnostics).
    assert _assigned(runtime, described["executionArn"], "Train", "model")["debugger_rules"]
    assert visited[-5:] == ["Gate", "RegisterModel", "DeployOrReport", "Notify", "PipelineSucceeded"]
    assert json.loads(described["output"])["outcome"] == "rejected"
    assert runtime.jobs is not None
    spot, on_demand = (record.request for record in runtime.jobs.records("training")[-2:])
    for request in (spot, on_demand):
        assert request["VpcConfig"] == {
            "Subnets": E2E_OVERRIDES["VpcSubnetIds"].split(","),
            "SecurityGroupIds": [E2E_OVERRIDES["VpcSecurityGroupIds"]],
        }
        assert request["DebugRuleConfigurations"]
    assert spot["EnableManagedSpotTraining"] is True
    assert not on_demand.get("EnableManagedSpotTraining")  # the on-demand retry
    trained = runtime.client("sagemaker").describe_training_job(TrainingJobName=on_demand["TrainingJobName"])
    verdicts = {
        s["RuleConfigurationName"]: s["RuleEvaluationStatus"] for s in trained["DebugRuleEvaluationStatuses"]
    }
    assert set(verdicts) == {"LossNotDecreasing", "Overfit"}
    assert set(verdicts.values()) <= {"NoIssuesFound", "IssuesFound"}
    packages = runtime.client("sagemaker").list_model_packages(
        ModelPackageGroupName=runtime.provisioned.ref("ModelPackageGroup"),
        SortBy="CreationTime",
        SortOrder="Descending",
    )["ModelPackageSummaryList"]
    assert packages[0]["ModelApprovalStatus"] == "Rejected"
    after = runtime.client("sagemaker").describe_endpoint(EndpointName=_endpoint_name(runtime))
    assert after["EndpointConfigName"] == before["EndpointConfigName"]


def test_an_invalid_configuration_fails_before_any_job(runtime: LocalRuntime) -> None:
    jobs_before = len(runtime.jobs.records()) if runtime.jobs else 0
    overrides = {"use_spot": True, "max_wait_seconds": 600, "max_runtime_seconds": 3600}
    described, visited = _run(runtime, "spot wait shorter than the runtime", overrides=overrides)
    assert described["status"] == "FAILED"
    # The planner fails the run at its own task, naming the setting and both values.
    assert visited[-1] == "PlanRun"
    assert described["error"] == "InvalidConfiguration"
    assert "MaxWaitSeconds greater than MaxRuntimeSeconds" in described["cause"]
    assert "max_wait_seconds=600, max_runtime_seconds=3600" in described["cause"]
    # The notification names the refusal and offers no redrive: it keeps the same input.
    message = _failure_notification(runtime, described["name"]).json()
    assert message["failed_state"] == "PlanRun"
    assert message["redrive"]["command"] is None
    assert (len(runtime.jobs.records()) if runtime.jobs else 0) == jobs_before


def test_a_plain_training_job_that_fails_on_its_own_is_not_retried_on_demand(runtime: LocalRuntime) -> None:
    runtime.faults.add(parse_fault_spec("training-failure"))
    overrides = {"use_tuning": False, "use_spot": True, "use_vpc": False, "use_debugger_rules": True}
    try:
        described, visited = _run(runtime, "plain training crashes", overrides=overrides)
    finally:
        runtime.faults.rules.clear()
    assert described["status"] == "FAILED"
    assert visited[-4:] == ["Train", "ClassifyTrainingFailure", "IsCapacityError", "TrainingFailed"], visited
    assert visited.count("Train") == 1


def test_plain_training_in_the_vpc_deploys_a_model_in_the_vpc_after_the_polling_budget(
    runtime: LocalRuntime,
) -> None:
    """Plain training in the VPC finds no spot capacity and trains on demand; its model goes live,
    but the run, with a polling budget shorter than the container's start, fails EndpointNotReady
    meanwhile (the endpoint may still go InService: it does)."""
    endpoint_name = _endpoint_name(runtime)
    runtime.faults.add(parse_fault_spec("endpoint-slow-start:seconds=6"))
    runtime.faults.add(parse_fault_spec("spot-capacity"))
    overrides = {
        "use_tuning": False,
        "use_spot": True,
        "use_debugger_rules": False,
        "use_vpc": True,
        "endpoint_poll_seconds": 1,
        # Two polls (2 s) cover the update's bakes (2 x CanaryWaitSeconds = 2 s: Deploy refuses an
        # update that outlasts the polling) but not the container's slow start.
        "endpoint_max_polls": 2,
    }
    try:
        described, visited = _run(runtime, "on-demand plain training in the VPC", overrides=overrides)
    finally:
        runtime.faults.rules.clear()
    assert described["status"] == "FAILED", _failed_state(runtime, described["executionArn"])
    for state in ("ClassifyTrainingFailure", "IsCapacityError", "CreateModel"):
        assert state in visited, visited
    assert visited.count("Train") == 2  # no spot capacity, then on demand
    assert _assigned(runtime, described["executionArn"], "Train", "model")["debugger_rules"] == []
    assert visited[-3:] == ["DescribeEndpoint", "CheckEndpointStatus", "EndpointNotReady"]
    assert (described["error"], described["cause"]) == (
        "EndpointNotReady",
        f"Endpoint {endpoint_name} still Updating after 2 polls",
    )
    sagemaker = runtime.client("sagemaker")
    _wait_for(
        lambda: sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointStatus"] == "InService",
        timeout=120,
        what="the endpoint InService",
    )
    config = sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]
    variant_model = sagemaker.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]
    assert "VpcConfig" in sagemaker.describe_model(ModelName=variant_model["ModelName"])
    assert runtime.jobs is not None
    trained = [r.request for r in runtime.jobs.records("training") if r.name.startswith(described["name"])]
    assert len(trained) == 2, [r.name for r in runtime.jobs.records("training")]
    spot, on_demand = trained
    assert spot["EnableManagedSpotTraining"] is True
    assert not on_demand.get("EnableManagedSpotTraining")
    for training in trained:
        assert "VpcConfig" in training
        assert "DebugRuleConfigurations" not in training


@contextmanager
def _without_action(runtime: LocalRuntime, role_logical_id: str, action: str) -> Iterator[str]:
    """The role's inline policies without ``action`` (the rest of each statement kept); restored after."""
    iam = runtime.client("iam")
    role = runtime.provisioned.ref(role_logical_id)
    saved = {
        name: iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    }
    changed = 0
    for name, document in saved.items():
        statements = []
        for statement in document["Statement"]:
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            if action not in actions:
                statements.append(statement)
                continue
            changed += 1
            if len(actions) > 1:
                statements.append({**statement, "Action": [a for a in actions if a != action]})
        iam.put_role_policy(
            RoleName=role, PolicyName=name, PolicyDocument=json.dumps({**document, "Statement": statements})
        )
    assert changed, f"no statement of {role} names {action}"
    try:
        yield role
    finally:
        for name, document in saved.items():
            iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))


def _replay_from(
    runtime: LocalRuntime, state: str, variables: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Run the training pipeline from ``state`` with the workflow variables an earlier run held there.

    A deployment-side failure needs a model that passed the gate; replaying from that state (as a
    redrive resumes at a state, variables kept) runs the real states, functions and roles without
    training again. The replay is its own state machine (a Pass state that assigns the variables,
    then the pipeline's definition from ``state`` on, under its role), so no run-end handling reacts
    to it.
    """
    sfn = runtime.client("stepfunctions")
    pipeline = sfn.describe_state_machine(
        stateMachineArn=runtime.provisioned.ref("TrainingPipelineStateMachine")
    )
    definition = json.loads(pipeline["definition"])
    reachable, pending = set(), [state]
    while pending:
        name = pending.pop()
        if name not in reachable:
            reachable.add(name)
            pending += [to for (source, to) in machine_edges(definition) if source == name]
    replay = {
        "QueryLanguage": definition["QueryLanguage"],
        "StartAt": "RestoreVariables",
        "States": {
            "RestoreVariables": {"Type": "Pass", "Assign": variables, "Next": state},
            **{n: s for n, s in definition["States"].items() if n in reachable},
        },
    }
    machine = sfn.create_state_machine(
        name=f"replay-from-{state}-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(replay),
        roleArn=pipeline["roleArn"],
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    described = runtime.wait_for_execution(arn, timeout=EXECUTION_WAIT)
    return described, [visit.name for visit in runtime.history(arn)]


def _last_run_through(runtime: LocalRuntime, state: str, **config: Any) -> str:
    """The newest execution that entered ``state`` with a plan of these ``config`` settings."""
    for execution in runtime.executions():  # newest first
        arn = str(execution["executionArn"])
        if state not in [visit.name for visit in runtime.history(arn)]:
            continue
        planned = _assigned(runtime, arn, "PlanRun", "plan")["config"]
        if all(planned.get(name) == value for name, value in config.items()):
            return arn
    raise AssertionError(f"no run entered {state} with {config}")


@pytest.mark.parametrize(
    ("use_vpc", "role", "action", "failed_task"),
    [
        (False, "TrainingPipelineRole", "sagemaker:CreateModel", "CreateModel"),
        (True, "TrainingPipelineRole", "sagemaker:CreateModel", "CreateModel"),
        (False, "DeployModelFunctionRole", "sagemaker:CreateEndpointConfig", "Deploy"),
    ],
)
def test_a_model_that_cannot_be_deployed_is_revoked_and_the_endpoint_keeps_serving(
    runtime: LocalRuntime, use_vpc: bool, role: str, action: str, failed_task: str
) -> None:
    """Each deployment task's Catch, replayed from the decision to deploy with the VPC run's variables."""
    sagemaker = runtime.client("sagemaker")
    source = _last_run_through(runtime, "CreateModel", use_vpc=True)
    variables = _variables_before(runtime, source, "DeployOrReport")
    variables["plan"]["config"] = {**variables["plan"]["config"], "use_vpc": use_vpc}
    before = sagemaker.describe_endpoint(EndpointName=_endpoint_name(runtime))
    with _without_action(runtime, role, action) as role_name:
        described, visited = _replay_from(runtime, "DeployOrReport", variables)
    assert described["status"] == "FAILED"
    assert visited[-3:] == [failed_task, "RevokeApproval", "DeploymentFailed"], visited
    assert f"assumed-role/{role_name}/" in described["cause"]
    assert f"is not authorized to perform: {action}" in described["cause"]
    package = sagemaker.describe_model_package(
        ModelPackageName=variables["registration"]["model_package_arn"]
    )
    assert package["ModelApprovalStatus"] == "Rejected"
    after = sagemaker.describe_endpoint(EndpointName=_endpoint_name(runtime))
    assert (after["EndpointStatus"], after["EndpointConfigName"]) == (
        before["EndpointStatus"],
        before["EndpointConfigName"],
    )


def test_an_endpoint_that_cannot_be_created_fails_the_run_and_revokes_the_approval(
    runtime: LocalRuntime,
) -> None:
    """The endpoint was deleted out of band; the next run creates it again and its container never
    passes the health check: the endpoint ends Failed and the model does not stay Approved."""
    sagemaker = runtime.client("sagemaker")
    endpoint_name = _endpoint_name(runtime)
    _wait_for(
        lambda: sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointStatus"] == "InService",
        timeout=120,
        what="the endpoint InService",
    )
    sagemaker.delete_endpoint(EndpointName=endpoint_name)
    # Its container takes a few seconds to fail: the run polls it Creating first, then Failed.
    runtime.faults.add(parse_fault_spec("endpoint-slow-start:seconds=5"))
    runtime.faults.add(parse_fault_spec("endpoint-update-failure"))
    runtime.faults.add(parse_fault_spec("spot-capacity"))
    overrides = {"use_tuning": False, "use_spot": True, "use_debugger_rules": False, "use_vpc": False}
    try:
        described, visited = _run(runtime, "an endpoint that cannot start", overrides=overrides)
    finally:
        runtime.faults.rules.clear()
    assert described["status"] == "FAILED"
    assert visited.count("Train") == 2  # no spot capacity, then on demand
    assert visited[-3:] == ["CheckEndpointStatus", "RevokeApproval", "DeploymentFailed"]
    assert visited[visited.index("Deploy") :].count("WaitForEndpoint") >= 2
    assert described["error"] == "EndpointFailed"
    assert described["cause"] == f"Endpoint {endpoint_name} is Failed"
    endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    assert endpoint["EndpointStatus"] == "Failed"
    assert "failed its health check" in endpoint["FailureReason"]
    newest = sagemaker.list_model_packages(
        ModelPackageGroupName=runtime.provisioned.ref("ModelPackageGroup"),
        SortBy="CreationTime",
        SortOrder="Descending",
    )["ModelPackageSummaryList"][0]
    assert newest["ModelApprovalStatus"] == "Rejected"
