"""Batch transform jobs with the real model: one .out per object, refused objects counted."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest

from mlops_local.executors.transform import run_transform_job

from .conftest import BUCKET, REGION, png_bytes, upload_model

pytestmark = pytest.mark.slow


def test_transform_writes_out_files_and_counts_refused_objects(s3, make_context, real_models):
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_model(
        ModelName="model-v1",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
        PrimaryContainer={
            "Image": "pytorch-inference",
            "ModelDataUrl": upload_model(s3, real_models["model-v1"], "model-v1"),
        },
    )
    for name, body in {
        "a.png": png_bytes(90, green=45),
        "sub/b.png": png_bytes(180, green=90),
        "broken.png": b"not an image",
    }.items():
        s3.put_object(Bucket=BUCKET, Key=f"batch/run-1/input/{name}", Body=body)
    request = {
        "TransformJobName": "batch-run-1",
        "ModelName": "model-v1",
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/batch/run-1/input/"}
            },
            "ContentType": "image/png",
        },
        "TransformOutput": {
            "S3OutputPath": f"s3://{BUCKET}/batch/run-1/output",
            "Accept": "application/json",
        },
    }

    result = run_transform_job(request, make_context())

    assert result.status == "Completed"
    keys = sorted(
        item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="batch/run-1/output/")["Contents"]
    )
    assert keys == ["batch/run-1/output/a.png.out", "batch/run-1/output/sub/b.png.out"]
    body = json.loads(s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read())
    assert body["model_version"] == "model-v1"
    summary = result.describe_fields["LocalTransformSummary"]
    assert summary["Succeeded"] == 2
    assert [item["Key"] for item in summary["Failed"]] == ["batch/run-1/input/broken.png"]
    assert summary["Failed"][0]["StatusCode"] == "400"


def test_a_transform_job_reports_the_interval_it_is_billed_for(s3, make_context):
    boto3.client("sagemaker", region_name=REGION).create_model(
        ModelName="model-gone",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
        PrimaryContainer={"Image": "pytorch-inference", "ModelDataUrl": f"s3://{BUCKET}/models/gone.tar.gz"},
    )
    request = {
        "TransformJobName": "batch-run-2",
        "ModelName": "model-gone",
        "TransformInput": {"DataSource": {"S3DataSource": {"S3Uri": f"s3://{BUCKET}/batch/run-2/input/"}}},
        "TransformOutput": {"S3OutputPath": f"s3://{BUCKET}/batch/run-2/output"},
    }
    before = datetime.now(UTC)

    result = run_transform_job(request, make_context())

    assert result.status == "Failed"  # a job that fails is billed for its time too
    fields = result.describe_fields
    assert before <= fields["TransformStartTime"] < fields["TransformEndTime"] <= datetime.now(UTC)


def test_a_model_that_cannot_load_fails_in_sagemakers_words_and_logs_why(s3, make_context):
    boto3.client("sagemaker", region_name=REGION).create_model(
        ModelName="model-gone",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
        PrimaryContainer={"Image": "pytorch-inference", "ModelDataUrl": f"s3://{BUCKET}/models/gone.tar.gz"},
    )
    request = {
        "TransformJobName": "batch-run-3",
        "ModelName": "model-gone",
        "TransformInput": {"DataSource": {"S3DataSource": {"S3Uri": f"s3://{BUCKET}/batch/run-3/input/"}}},
        "TransformOutput": {"S3OutputPath": f"s3://{BUCKET}/batch/run-3/output"},
    }
    progress: list[str] = []

    result = run_transform_job(request, make_context(progress=progress.append))

    assert result.failure_reason == "AlgorithmError: See job logs for more information"
    assert any(f"s3://{BUCKET}/models/gone.tar.gz" in line for line in progress)
