"""Behaviour the batch inference definition promises."""

from __future__ import annotations


def test_without_an_approved_model_it_notifies_and_succeeds(batch_asl):
    states = batch_asl["States"]
    assert states["HasApprovedModel"]["Default"] == "NotifyNoModel"
    assert states[states["NotifyNoModel"]["Next"]]["Type"] == "Succeed"
    assert "No Approved model" in states["NotifyNoModel"]["Parameters"]["Message"]["reason"]


def test_scores_the_dated_input_prefix_into_the_dated_output_prefix(batch_asl):
    paths = batch_asl["States"]["BuildBatchPaths"]["Parameters"]
    assert "/batch/{}/input/" in paths["input_uri.$"]
    assert "/batch/{}/output/" in paths["output_uri.$"]
    transform = batch_asl["States"]["Transform"]
    assert transform["Resource"].endswith("sagemaker:createTransformJob.sync")
    assert (
        transform["Parameters"]["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri.$"]
        == "$.batch.input_uri"
    )


def test_the_date_comes_from_input_then_schedule_then_start_time(batch_asl):
    choice = batch_asl["States"]["ChooseBatchDate"]
    assert [c["Variable"] for c in choice["Choices"]] == ["$.input.date", "$.input.requested_at"]
    assert "$$.Execution.StartTime" in batch_asl["States"][choice["Default"]]["Parameters"]["date.$"]


def test_the_model_is_reused_for_the_same_package_version(batch_asl):
    name = batch_asl["States"]["NameBatchModel"]["Parameters"]["name.$"]
    assert "States.Hash($.champion.model_package_arn" in name
    assert batch_asl["States"]["ModelAlreadyExists"]["Choices"][0]["Next"] == "Transform"
