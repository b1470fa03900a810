"""handle_drift under moto: violations, alarms, cooldown, the drift storm, bad reports."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mlops_common.adapters.ledger import Ledger
from mlops_common.adapters.notifications import Notifier
from mlops_common.adapters.pipeline import TrainingPipeline
from mlops_common.adapters.run_ledger import RunLedger
from mlops_common.adapters.s3 import ObjectStore
from mlops_common.adapters.sagemaker import SageMaker
from mlops_common.aws_events import parse_drift_event
from mlops_common.domain.errors import EventNotUnderstood
from mlops_common.observability import metrics
from mlops_common.services.handle_drift import DriftServices, handle_drift_event
from mlops_common.settings import HandleDriftSettings
from tests.conftest import load_event

from .conftest import Stack, handler_of

handler = handler_of("handle_drift")


def report_key(event: dict[str, Any]) -> str:
    uri = event["detail"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    return uri.split("/", 3)[3] + "/constraint_violations.json"


def violation_event(stack: Stack, event_id: str = "e-1", report: Any = None) -> dict[str, Any]:
    """A monitoring-job event whose report is in the artifacts bucket."""
    event = load_event("sagemaker_processing_job_violations")
    event["id"] = event_id
    body = json.dumps(report if report is not None else load_event("constraint_violations"))
    stack.client("s3").put_object(Bucket=stack.artifacts_bucket, Key=report_key(event), Body=body)
    return event


@pytest.fixture
def subscriber(stack: Stack) -> str:
    """An SQS queue subscribed to the topic, so notifications can be read back."""
    sqs = stack.client("sqs")
    queue_url = sqs.create_queue(QueueName="notifications-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    stack.client("sns").subscribe(TopicArn=stack.topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return str(queue_url)


def notifications(stack: Stack, queue_url: str) -> list[dict[str, Any]]:
    messages = stack.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_violations_start_a_retraining_and_say_what_drifted(
    stack: Stack, context: Any, subscriber: str
) -> None:
    outcome = handler(violation_event(stack), context)

    assert outcome["action"] == "started"
    assert outcome["execution_name"].startswith("drift-")
    assert [v["feature_name"] for v in outcome["violations"]] == ["brightness", "predicted_class"]
    (execution,) = stack.executions()
    assert execution["name"] == outcome["execution_name"]
    (note,) = notifications(stack, subscriber)
    assert "brightness [baseline_drift_check]: distance 0.3142 (threshold 0.1)" in note["Message"]


def test_report_location_comes_from_describe_processing_job_when_the_event_lacks_it(
    stack: Stack, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = violation_event(stack)
    output_config = event["detail"].pop("ProcessingOutputConfig")
    described = {
        "ProcessingJobName": "job",
        "ProcessingJobStatus": "Completed",
        "ProcessingOutputConfig": output_config,
    }
    monkeypatch.setattr(SageMaker, "describe_processing_job", lambda _self, _name: described)

    assert handler(event, context)["action"] == "started"


def test_job_without_violations_is_ignored(stack: Stack, context: Any) -> None:
    event = load_event("sagemaker_processing_job_violations")
    event["detail"]["ExitMessage"] = "Completed: Job completed successfully with no violations."
    assert handler(event, context)["action"] == "ignored"
    assert stack.executions() == []


def test_alarm_entering_alarm_starts_a_retraining(stack: Stack, context: Any) -> None:
    outcome = handler(load_event("cloudwatch_alarm_state_change"), context)
    assert outcome["action"] == "started"
    assert len(stack.executions()) == 1


@pytest.mark.parametrize(
    ("previous", "current"), [("ALARM", "ALARM"), ("ALARM", "OK"), ("OK", "INSUFFICIENT_DATA")]
)
def test_alarm_not_entering_alarm_is_ignored(stack: Stack, context: Any, previous: str, current: str) -> None:
    event = load_event("cloudwatch_alarm_state_change")
    event["detail"]["previousState"]["value"] = previous
    event["detail"]["state"]["value"] = current
    assert handler(event, context)["action"] == "ignored"
    assert stack.executions() == []


def test_second_signal_within_cooldown_starts_nothing(stack: Stack, context: Any) -> None:
    first = handler(violation_event(stack, "e-1"), context)
    stack.client("stepfunctions").stop_execution(executionArn=stack.executions()[0]["executionArn"])
    second = handler(load_event("cloudwatch_alarm_state_change"), context)
    assert (first["action"], second["action"]) == ("started", "cooldown")
    assert len(stack.executions()) == 1


def test_a_signal_during_a_run_is_queued_and_one_retraining_follows_the_run(
    stack: Stack, context: Any
) -> None:
    stack.client("stepfunctions").start_execution(stateMachineArn=stack.state_machine_arn, name="upload-run")
    assert stack.begin_run("upload-run")["action"] == "proceed"

    outcome = handler(violation_event(stack), context)

    assert (outcome["action"], outcome["execution_name"]) == ("queued", "upload-run")
    assert [e["name"] for e in stack.executions()] == ["upload-run"]
    ended = stack.end_run("upload-run")
    assert ended["action"] == "started"
    (retraining,) = stack.executions(status="RUNNING")
    assert retraining["name"].startswith("drift-")
    execution_input = json.loads(
        stack.client("stepfunctions").describe_execution(executionArn=retraining["executionArn"])["input"]
    )
    assert execution_input["trigger"] == "drift"
    assert "violation(s)" in execution_input["reason"]


def test_a_signal_of_another_stacks_schedule_is_ignored(stack: Stack, context: Any) -> None:
    event = violation_event(stack)
    event["detail"]["MonitoringScheduleArn"] = event["detail"]["MonitoringScheduleArn"].replace(
        "defect-classifier-dev", "another-model"
    )

    outcome = handler(event, context)

    assert outcome["action"] == "ignored"
    assert "is not this stack's" in outcome["reason"]
    assert stack.executions() == []


def test_another_alarm_is_ignored(stack: Stack, context: Any) -> None:
    event = load_event("cloudwatch_alarm_state_change")
    event["detail"]["alarmName"] = "billing-alarm"

    outcome = handler(event, context)

    assert outcome["action"] == "ignored"
    assert stack.executions() == []


def test_cooldown_expiry_allows_the_next_retraining(stack: Stack) -> None:
    settings = HandleDriftSettings()
    runs = RunLedger(stack.table)
    services = DriftServices(
        ledger=Ledger(stack.table),
        runs=runs,
        pipeline=TrainingPipeline(stack.state_machine_arn),
        sagemaker=SageMaker(),
        store=ObjectStore(),
        notifier=Notifier(stack.topic_arn),
    )
    event = parse_drift_event(load_event("cloudwatch_alarm_state_change"))
    now = datetime(2026, 11, 12, 14, 0, tzinfo=UTC)
    first = handle_drift_event(event, services=services, settings=settings, now=now)
    assert first.execution_name is not None
    runs.release_lease(first.execution_name)  # the run ended
    during = handle_drift_event(event, services=services, settings=settings, now=now + timedelta(minutes=59))
    after = handle_drift_event(event, services=services, settings=settings, now=now + timedelta(minutes=60))

    assert [first.action, during.action, after.action] == ["started", "cooldown", "started"]
    assert first.execution_name != after.execution_name
    assert len(stack.executions()) == 2


@pytest.fixture
def unpublished_metrics(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Threads sharing Powertools' Metrics, which Lambda never does, publish nothing.

    Metrics is per-process state and Lambda runs one invocation per process at a time. Threads
    here share it, and one thread's flush could empty the set between another's check and its
    serialisation ("Must contain at least one metric").
    """
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    yield
    metrics.clear_metrics()


@pytest.mark.usefixtures("atomic_dynamodb", "unpublished_metrics")
def test_drift_storm_of_50_concurrent_events_starts_exactly_one_run(stack: Stack, context: Any) -> None:
    events = [violation_event(stack, f"storm-{i}") for i in range(50)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(lambda e: handler(e, context), events))

    actions = [o["action"] for o in outcomes]
    assert actions.count("started") == 1
    assert set(actions) <= {"started", "cooldown", "queued"}
    assert len(stack.executions()) == 1


def test_every_log_line_carries_the_event_id(
    stack: Stack, context: Any, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    handler(violation_event(stack, "drift-event-7"), context)
    lines = log_lines()
    assert any(line["message"] == "retraining started" for line in lines)
    assert {line.get("correlation_id") for line in lines} == {"drift-event-7"}


def test_duplicate_delivery_of_one_event_returns_the_first_outcome(stack: Stack, context: Any) -> None:
    event = violation_event(stack, "same-id")
    first = handler(event, context)
    again = handler(event, context)
    assert first == again
    assert len(stack.executions()) == 1


@pytest.mark.parametrize("report", [{"violations": "oops"}, [1, 2], {"violations": [{"feature_name": "x"}]}])
def test_malformed_report_notifies_and_starts_nothing(
    stack: Stack, context: Any, subscriber: str, report: Any
) -> None:
    outcome = handler(violation_event(stack, report=report), context)
    assert outcome["action"] == "ignored"
    assert "unusable" in outcome["reason"]
    assert stack.executions() == []
    (note,) = notifications(stack, subscriber)
    assert "unusable" in note["Subject"]


def test_missing_report_notifies_and_starts_nothing(stack: Stack, context: Any, subscriber: str) -> None:
    event = load_event("sagemaker_processing_job_violations")  # no report uploaded
    outcome = handler(event, context)
    assert outcome["action"] == "ignored"
    assert stack.executions() == []
    assert len(notifications(stack, subscriber)) == 1


@pytest.mark.parametrize(
    "event",
    [
        {"detail-type": "Object Created", "id": "x", "source": "aws.s3", "detail": {}},
        {"id": "y", "hello": "world"},
        {
            "detail-type": "CloudWatch Alarm State Change",
            "id": "z",
            "source": "aws.cloudwatch",
            "time": "2026-11-12T14:02:41Z",
            "detail": {"alarmName": "a"},
        },
    ],
)
def test_foreign_or_malformed_event_is_a_clear_error_without_side_effects(
    stack: Stack, context: Any, event: dict[str, Any]
) -> None:
    with pytest.raises(EventNotUnderstood):
        handler(event, context)
    assert stack.executions() == []
    assert stack.ledger_items("drift") == []


def report_of(count: int) -> dict[str, Any]:
    """A Model Monitor report of ``count`` drifted features, as many as a wide model can have."""
    return {
        "violations": [
            {
                "feature_name": f"pixel_histogram_bin_{i:05d}",
                "constraint_check_type": "baseline_drift_check",
                "description": (
                    f"Baseline drift distance: {0.1 + i / 10**6:.6f} exceeds threshold: 0.1. The distribution"
                    " of this feature in the captured requests differs from the baseline computed on the"
                    " training dataset; compare the statistics of both in the monitoring report."
                ),
            }
            for i in range(count)
        ]
    }


@pytest.mark.parametrize(
    "body",
    ['{"violations": ' + "[" * 1_500 + "]" * 1_500 + "}", "[" * 100_000],
    ids=["nested-3KB", "nested-100KB"],
)
def test_a_deeply_nested_report_notifies_and_starts_nothing(
    stack: Stack, context: Any, subscriber: str, body: str
) -> None:
    event = load_event("sagemaker_processing_job_violations")
    stack.client("s3").put_object(Bucket=stack.artifacts_bucket, Key=report_key(event), Body=body)

    outcome = handler(event, context)

    assert outcome["action"] == "ignored"
    assert "nested deeper than" in outcome["reason"]
    assert stack.executions() == []
    (note,) = notifications(stack, subscriber)
    assert "unusable" in note["Subject"]


def test_a_report_of_1200_violations_is_kept_for_a_redelivery_of_its_event(
    stack: Stack, context: Any
) -> None:
    event = violation_event(stack, "many-violations", report=report_of(1_200))

    first = handler(event, context)
    again = handler(event, context)

    assert first == again
    assert (first["action"], first["violation_count"]) == ("started", 1_200)
    assert len(first["violations"]) == 20
    assert first["report_uri"].endswith("/constraint_violations.json")
    assert len(stack.executions()) == 1


def test_a_report_of_20000_violations_still_sends_its_notification(
    stack: Stack, context: Any, subscriber: str
) -> None:
    outcome = handler(violation_event(stack, report=report_of(20_000)), context)

    assert outcome["action"] == "started"
    (note,) = notifications(stack, subscriber)
    assert "the 20 largest of 20000" in note["Message"]
    assert f"Full report: {outcome['report_uri']}" in note["Message"]
    assert "pixel_histogram_bin_19999 [baseline_drift_check]: distance 0.119999" in note["Message"]


def test_a_distance_beyond_float_range_leaves_the_output_strict_json(stack: Stack, context: Any) -> None:
    report = load_event("constraint_violations")
    report["violations"][0]["description"] = "Baseline drift distance: 1e999 exceeds threshold: 0.1"

    outcome = handler(violation_event(stack, report=report), context)

    assert outcome["action"] == "started"
    assert outcome["violations"][1]["distance"] is None  # no distance, so listed after measured ones
    json.dumps(outcome, allow_nan=False)  # raises on NaN or Infinity


def test_an_event_nested_deeper_than_any_aws_event_is_not_understood(stack: Stack, context: Any) -> None:
    event = load_event("cloudwatch_alarm_state_change")
    nested: Any = "deep"
    for _ in range(5_000):
        nested = {"a": nested}
    event["detail"]["configuration"] = nested

    with pytest.raises(EventNotUnderstood, match="nested deeper"):
        handler(event, context)
    assert stack.executions() == []
