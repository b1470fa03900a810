"""Behaviour the batch inference definition promises (its expressions evaluated by a JSONata engine)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.asl import evaluate, jsonata, request

START_TIME = "2026-12-04T06:00:00.000Z"
CONTEXT = {"Execution": {"Name": "batch-20261204", "Id": "arn:exec", "StartTime": START_TIME}}


def _assigned(state: dict[str, Any], name: str, states: dict[str, Any]) -> Any:
    return evaluate(jsonata(state["Assign"][name]) or "", {"states": states})


def test_the_machine_names_its_steps_and_decisions_only(batch_asl):
    states = batch_asl["States"]
    assert batch_asl["QueryLanguage"] == "JSONata"
    assert len(states) <= 10
    assert not [name for name, state in states.items() if state["Type"] == "Pass"]


def test_without_an_approved_model_it_notifies_and_succeeds(batch_asl):
    states = batch_asl["States"]
    assert states["HasApprovedModel"]["Choices"][0]["Condition"] == "{% $champion.has_champion %}"
    assert states["HasApprovedModel"]["Default"] == "NotifyNoModel"
    assert states[states["NotifyNoModel"]["Next"]]["Type"] == "Succeed"
    assert "No Approved model" in request(states["NotifyNoModel"])["Message"]["reason"]


@pytest.mark.parametrize(
    ("execution_input", "day"),
    [
        ({"date": "2026-11-30", "requested_at": "2026-12-01T00:00:00Z"}, "2026-11-30"),
        ({"requested_at": "2026-12-01T00:00:00Z"}, "2026-12-01"),
        ({}, "2026-12-04"),
    ],
    ids=["the input's date", "the schedule's time", "the start time"],
)
def test_the_date_comes_from_input_then_schedule_then_start_time(batch_asl, execution_input, day):
    first = batch_asl["States"][batch_asl["StartAt"]]
    batch = _assigned(first, "batch", {"input": execution_input, "context": CONTEXT})
    assert batch == {
        "date": day,
        "input_uri": f"s3://${{ArtifactsBucket}}/batch/{day}/input/",
        "output_uri": f"s3://${{ArtifactsBucket}}/batch/{day}/output/",
    }


def test_scores_the_dated_input_prefix_into_the_dated_output_prefix(batch_asl):
    transform = batch_asl["States"]["Transform"]
    assert transform["Resource"].endswith("sagemaker:createTransformJob.sync")
    arguments = request(transform)
    assert arguments["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == "{% $batch.input_uri %}"
    assert arguments["TransformOutput"]["S3OutputPath"] == "{% $batch.output_uri %}"


def test_the_model_is_named_by_its_package_version_and_reused(batch_asl):
    states = batch_asl["States"]
    (rule,) = states["HasApprovedModel"]["Choices"]
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/defects/3"
    named = evaluate(jsonata(rule["Assign"]["model_name"]) or "", {"champion": {"model_package_arn": arn}})
    assert named == "batch-" + hashlib.md5(arn.encode()).hexdigest()
    assert request(states["CreateBatchModel"])["ModelName"] == request(states["Transform"])["ModelName"]
    (reuse,) = states["ModelAlreadyExists"]["Choices"]
    assert reuse["Next"] == "Transform"
    error = {"Error": "SageMaker.AmazonSageMakerException", "Cause": "Cannot create already existing model"}
    assert evaluate(jsonata(reuse["Condition"]) or "", {"create_model_error": error}) is True
    refused = {**error, "Cause": "User: ... is not authorized to perform: sagemaker:CreateModel"}
    assert evaluate(jsonata(reuse["Condition"]) or "", {"create_model_error": refused}) is False
