"""The sample events under ``events/`` (``sam local invoke -e``, ``mlops-local invoke -e``) run.

A sample is named after the function it is for: ``events/<function>.json`` or
``events/<function>_<case>.json``. Each one runs through its handler on the mocked stack, with
what the handler reads (a document, a model) put where the event says it is, and must be
handled: not rejected, not ignored, no failed batch item.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, load_event

from .conftest import Stack, handler_of
from .test_deployment_tasks import serve

SAMPLES = sorted((REPO_ROOT / "events").glob("*.json"))
FUNCTIONS = sorted(app.parent.name for app in (REPO_ROOT / "functions").glob("*/app.py"))


def function_of(sample: Path) -> str | None:
    """The function a sample is for: the longest function name its file name starts with."""
    names = [name for name in FUNCTIONS if sample.stem == name or sample.stem.startswith(f"{name}_")]
    return max(names, key=len, default=None)


def _s3_location(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _put_json(stack: Stack, uri: str, document: Any) -> None:
    bucket, key = _s3_location(uri)
    stack.client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(document))


def _dataset_stats(stack: Stack, event: dict[str, Any]) -> None:
    uri = f"s3://{stack.data_bucket}/datasets/{event['dataset_version']}/stats.json"
    _put_json(stack, uri, load_event("stats"))


def _evaluation(stack: Stack, event: dict[str, Any]) -> None:
    _put_json(stack, event["evaluation_uri"], load_event("evaluation"))


def _model(stack: Stack, event: dict[str, Any]) -> None:
    stack.client("sagemaker").create_model(
        ModelName=event["model_name"],
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker-execution",
        PrimaryContainer={"Image": "pytorch-inference:2.5"},
    )


def _monitoring_schedule(stack: Stack, event: dict[str, Any]) -> None:
    # moto has no monitoring-schedule API: answer it on the handler's client (see test_deployment_tasks).
    serve(
        "DescribeMonitoringSchedule", lambda body: {"MonitoringScheduleName": body["MonitoringScheduleName"]}
    )
    serve("UpdateMonitoringSchedule", lambda body: {"MonitoringScheduleArn": "arn:x"})


def _failed_training_jobs(stack: Stack, event: dict[str, Any]) -> None:
    # moto has no ListTrainingJobsForHyperParameterTuningJob: answer it on the handler's client.
    tuning_job = json.loads(event["failure"]["Cause"])["HyperParameterTuningJobName"]
    reason = (
        "CapacityError: Unable to provision requested ML compute capacity. "
        "Please retry using a different ML instance type."
    )
    summary = {"TrainingJobName": f"{tuning_job}-001-0c9d8e7f", "TrainingJobStatus": "Failed"}
    serve(
        "ListTrainingJobsForHyperParameterTuningJob",
        lambda body: {"TrainingJobSummaries": [summary | {"FailureReason": reason}]},
    )


def _violations_report(stack: Stack, event: dict[str, Any]) -> None:
    for output in event["detail"].get("ProcessingOutputConfig", {}).get("Outputs", []):
        uri = output["S3Output"]["S3Uri"].rstrip("/") + "/constraint_violations.json"
        _put_json(stack, uri, load_event("constraint_violations"))


# What each function reads besides the event, put where the event says it is.
GIVEN: dict[str, Callable[[Stack, dict[str, Any]], None]] = {
    "check_dataset": _dataset_stats,
    "classify_training_failure": _failed_training_jobs,
    "evaluate_model": _evaluation,
    "deploy_model": _model,
    "ensure_monitoring": _monitoring_schedule,
    "handle_drift": _violations_report,
}


def test_there_are_sample_events() -> None:
    assert SAMPLES


def test_every_sample_event_is_named_after_a_function() -> None:
    assert [sample.name for sample in SAMPLES if function_of(sample) is None] == []


@pytest.mark.parametrize("sample", SAMPLES, ids=[sample.name for sample in SAMPLES])
def test_the_sample_event_is_handled_by_its_function(stack: Stack, context: Any, sample: Path) -> None:
    function = function_of(sample)
    assert function is not None
    event = json.loads(sample.read_text(encoding="utf-8"))
    GIVEN.get(function, lambda stack, event: None)(stack, event)

    result = handler_of(function)(event, context)

    assert result.get("batchItemFailures", []) == []
    assert result.get("action") != "ignored", result.get("reason")


# Values the state machine derives from one another, as its samples must.


def test_the_deploy_sample_names_the_model_after_its_execution() -> None:
    # DeployOrReport: $run.execution_name & '-' & <8 hex of a UUID>
    event = json.loads((REPO_ROOT / "events" / "deploy_model.json").read_text(encoding="utf-8"))
    assert re.fullmatch(rf"{re.escape(event['execution_name'])}-[0-9a-f]{{8}}", event["model_name"])


def test_the_monitoring_sample_baseline_is_its_model_versions() -> None:
    # EnsureMonitoring: both come from $model.training_job_name.
    event = json.loads((REPO_ROOT / "events" / "ensure_monitoring.json").read_text(encoding="utf-8"))
    assert event["baseline_uri"].endswith(f"/monitoring/baseline/{event['model_version']}/")
