"""Parsing what AWS sends into typed events: SQS batches message by message, drift signals by kind."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from mlops_common.aws_events import (
    AlarmStateChange,
    ProcessingJobStateChange,
    parse_drift_event,
    parse_upload_batch,
)
from mlops_common.domain.errors import EventNotUnderstood

LoadEvent = Callable[[str], Any]


def batch(load_event: LoadEvent, *bodies: Any) -> dict[str, Any]:
    template = load_event("sqs_batch")["Records"][0]
    records = [
        {**template, "messageId": f"msg-{i}", "body": body if isinstance(body, str) else json.dumps(body)}
        for i, body in enumerate(bodies)
    ]
    return {"Records": records}


def test_each_message_carries_its_upload_or_its_problem(load_event: LoadEvent) -> None:
    foreign = load_event("s3_object_created")
    foreign["detail-type"] = "Object Deleted"
    good, not_json, other, not_an_event = parse_upload_batch(
        batch(load_event, load_event("s3_object_created"), "not json {", foreign, {"a": 1})
    )

    assert good.message_id == "msg-0"
    assert good.upload is not None
    assert good.upload.detail.object.key == "incoming/line-a/scratch/img-0001.jpg"
    assert good.problem is None
    for message in (not_json, other, not_an_event):
        assert message.upload is None
        assert message.problem


def test_moto_etag_spelling_is_accepted(load_event: LoadEvent) -> None:
    event = load_event("s3_object_created")
    event["detail"]["object"]["eTag"] = event["detail"]["object"].pop("etag")
    (message,) = parse_upload_batch(batch(load_event, event))
    assert message.upload is not None
    assert message.upload.detail.object.etag == "b1946ac92492d2347c6235b4d2611184"


@pytest.mark.parametrize("event", [{}, {"Records": "x"}, {"Records": [{"messageId": "m"}]}, []])
def test_anything_but_an_sqs_batch_is_not_understood(event: Any) -> None:
    with pytest.raises(EventNotUnderstood, match="not an SQS event"):
        parse_upload_batch(event)


def test_drift_events_are_told_apart_by_detail_type(load_event: LoadEvent) -> None:
    job = parse_drift_event(load_event("sagemaker_processing_job_violations"))
    alarm = parse_drift_event(load_event("cloudwatch_alarm_state_change"))
    assert isinstance(job, ProcessingJobStateChange)
    assert job.detail.processing_job_name.startswith("model-monitoring-")
    assert isinstance(alarm, AlarmStateChange)
    assert alarm.detail.state.value == "ALARM"


def test_another_kind_of_event_is_named_in_the_error(load_event: LoadEvent) -> None:
    with pytest.raises(EventNotUnderstood, match="does not handle detail-type 'Object Created'"):
        parse_drift_event(load_event("s3_object_created"))


def test_a_malformed_event_of_a_known_kind_is_not_understood(load_event: LoadEvent) -> None:
    event = load_event("cloudwatch_alarm_state_change")
    del event["detail"]["state"]
    with pytest.raises(EventNotUnderstood, match="malformed CloudWatch Alarm State Change"):
        parse_drift_event(event)
