"""Event plumbing: S3 -> EventBridge -> SQS batching -> start function, partial failures, rules, schedules."""

from __future__ import annotations

import json
import time
from pathlib import Path

from mlops_local.runtime import LocalRuntime


def _start_invocations(runtime: LocalRuntime) -> list[int]:
    return [
        len(event["Records"])
        for logical_id, event, _ in runtime.provisioned.functions.invocations
        if logical_id == "StartPipelineFunction"
    ]


def _wait_for(condition, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


def _images(folder: Path, count: int, *, label: str = "ok", stem: str = "img") -> Path:
    for index in range(count):
        path = folder / label / f"{stem}-{index}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\xff\xd8 not really a jpeg")
    return folder


def test_a_burst_of_uploads_is_one_batch_and_one_execution(runtime: LocalRuntime, tmp_path: Path) -> None:
    runtime.upload_directory(_images(tmp_path / "burst", 12), "line-a")
    _wait_for(lambda: sum(_start_invocations(runtime)) == 12)
    assert _start_invocations(runtime) == [12]
    _wait_for(lambda: len(runtime.executions()) == 1)
    assert json.loads(
        runtime.client("stepfunctions").describe_execution(
            executionArn=runtime.executions()[0]["executionArn"]
        )["input"]
    ) == {"trigger": "upload", "objects": 12}


def test_uploads_outside_incoming_do_not_trigger(runtime: LocalRuntime) -> None:
    runtime.client("s3").put_object(
        Bucket=runtime.provisioned.ref("DataBucket"), Key="datasets/v1/x.parquet", Body=b"x"
    )
    time.sleep(1)
    assert _start_invocations(runtime) == []


def test_the_function_receives_the_aws_event_shape(runtime: LocalRuntime, tmp_path: Path) -> None:
    (tmp_path / "odd" / "ok").mkdir(parents=True)
    (tmp_path / "odd" / "ok" / "a b.jpg").write_bytes(b"x")
    runtime.upload_directory(tmp_path / "odd", "line-a")
    _wait_for(lambda: bool(_start_invocations(runtime)))
    _, event, _ = next(
        i for i in runtime.provisioned.functions.invocations if i[0] == "StartPipelineFunction"
    )
    record = event["Records"][0]
    assert record["eventSource"] == "aws:sqs"
    body = json.loads(record["body"])
    assert body["detail-type"] == "Object Created"
    assert body["detail"]["object"]["key"] == "incoming/line-a/ok/a+b.jpg"
    assert set(body["detail"]["object"]) == {"key", "size", "etag", "sequencer"}


def test_reported_failures_are_retried_then_moved_to_the_dlq(runtime: LocalRuntime, tmp_path: Path) -> None:
    runtime.upload_directory(_images(tmp_path / "mixed", 1, stem="reject"), "line-a")
    dlq = runtime.provisioned.ref("UploadEventsDLQ")
    sqs = runtime.client("sqs")

    def in_dlq() -> bool:
        attributes = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
        return attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"

    _wait_for(in_dlq)
    assert _start_invocations(runtime) == [1, 1]  # maxReceiveCount 2: delivered twice, then dead-lettered
    assert runtime.executions() == []


def test_a_rule_with_a_lambda_target_invokes_the_handler(runtime: LocalRuntime) -> None:
    detail = {
        "ProcessingJobName": "monitoring-1",
        "ProcessingJobStatus": "Completed",
        "ExitMessage": "CompletedWithViolations",
    }
    runtime.emit_event("aws.sagemaker", "SageMaker Processing Job State Change", detail, [])
    (delivery,) = runtime.router.deliveries if runtime.router else []
    rule_id, _, outcome = delivery
    assert rule_id == "FlakyFunctionDrift"
    assert outcome.payload["input"]["detail"] == detail


def test_put_events_reach_lambda_targets(runtime: LocalRuntime) -> None:
    runtime.client("events").put_events(
        Entries=[
            {
                "Source": "aws.sagemaker",
                "DetailType": "SageMaker Processing Job State Change",
                "Detail": json.dumps({"a": 1}),
            }
        ]
    )
    _wait_for(lambda: bool(runtime.router and runtime.router.deliveries))


def test_fire_schedule_starts_the_target_with_its_input(runtime: LocalRuntime) -> None:
    (logical_id,) = runtime.provisioned.schedules
    arn = runtime.fire_schedule(logical_id)
    described = runtime.wait_for_execution(arn)
    assert json.loads(described["input"]) == {"trigger": "schedule", "reason": "weekly retrain"}


def test_history_reports_states_and_the_caught_error(runtime: LocalRuntime) -> None:
    arn = runtime.start_execution({"raise": "DatasetNotUsable"})
    progress = []
    described = runtime.wait_for_execution(arn, on_progress=progress.append)
    assert described["status"] == "SUCCEEDED"
    visits = runtime.history(arn)
    assert [(v.name, v.type) for v in visits] == [("CallFlaky", "Task"), ("Rejected", "Pass")]
    assert visits[0].error == "DatasetNotUsable"
    assert progress[-1].status == "SUCCEEDED"


def test_retry_by_error_name_reruns_the_task(runtime: LocalRuntime) -> None:
    described = runtime.wait_for_execution(runtime.start_execution({"raise": "TransientError"}))
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"])["result"]["role"] == "flaky"


def test_invoke_runs_a_function_like_sam_local_invoke(runtime: LocalRuntime) -> None:
    outcome = runtime.invoke("FlakyFunction", {"raise": "DatasetNotUsable"})
    assert outcome.function_error == "Unhandled"
    assert outcome.payload["errorType"] == "DatasetNotUsable"
