"""Batch transform and Model Monitor executions with the real model, endpoint and analyzer."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from mlops_local.executors.endpoint import EndpointHost
from mlops_local.executors.monitoring import run_monitoring_execution
from mlops_local.executors.transform import run_transform_job

pytestmark = pytest.mark.slow
BUCKET = "artifacts"


def png_bytes(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), (shade, shade // 2, shade)).save(buffer, format="PNG")
    return buffer.getvalue()


def upload_model(s3: Any, archive: Path) -> str:
    s3.upload_file(str(archive), BUCKET, "models/model-v1/output/model.tar.gz")
    return f"s3://{BUCKET}/models/model-v1/output/model.tar.gz"


def test_transform_writes_out_files_and_counts_refused_objects(s3, make_context, real_models):
    import boto3

    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    sagemaker.create_model(
        ModelName="model-v1",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
        PrimaryContainer={
            "Image": "pytorch-inference",
            "ModelDataUrl": upload_model(s3, real_models["model-v1"]),
        },
    )
    for name, body in {
        "a.png": png_bytes(90),
        "sub/b.png": png_bytes(180),
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


class CaptureConfigOnly:
    """DescribeEndpoint as the embedded AWS answers it, reduced to what monitoring reads."""

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
        return {
            "EndpointName": EndpointName,
            "EndpointConfigName": "defects-config-1",
            "DataCaptureConfig": {"DestinationS3Uri": f"s3://{BUCKET}/capture"},
        }


@pytest.fixture
def monitored_endpoint(s3, tmp_path, real_models):
    """A live endpoint with capture on, a baseline from its answers to normal traffic, and a schedule."""
    from model_monitor_format import write_baseline

    host = EndpointHost(s3, tmp_path / "endpoints", progress=lambda message: None, seed=3)
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": "model-v1",
        "ModelDataUrl": upload_model(s3, real_models["model-v1"]),
    }
    capture = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": f"s3://{BUCKET}/capture",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
    }
    host.deploy("defects", "defects-config-1", [variant], capture)
    baseline_rows = [
        host.invoke("defects", png_bytes(shade), "image/png").json()["predictions"][0]["features"]
        for shade in range(100, 200, 4)
    ]
    s3.delete_objects(
        Bucket=BUCKET,
        Delete={
            "Objects": [
                {"Key": o["Key"]} for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="capture/")["Contents"]
            ]
        },
    )
    statistics, constraints = write_baseline(baseline_rows, tmp_path / "baseline")
    s3.upload_file(str(statistics), BUCKET, "monitoring/baseline/model-v1/statistics.json")
    s3.upload_file(str(constraints), BUCKET, "monitoring/baseline/model-v1/constraints.json")
    schedule = {
        "MonitoringScheduleName": "defects-data-quality",
        "EndpointName": "defects",
        "MonitoringScheduleConfig": {
            "MonitoringType": "DataQuality",
            "MonitoringJobDefinition": {
                "BaselineConfig": {
                    "StatisticsResource": {
                        "S3Uri": f"s3://{BUCKET}/monitoring/baseline/model-v1/statistics.json"
                    },
                    "ConstraintsResource": {
                        "S3Uri": f"s3://{BUCKET}/monitoring/baseline/model-v1/constraints.json"
                    },
                },
                "MonitoringInputs": [
                    {"EndpointInput": {"EndpointName": "defects", "LocalPath": "/opt/ml/processing/input"}}
                ],
                "MonitoringOutputConfig": {
                    "MonitoringOutputs": [
                        {
                            "S3Output": {
                                "S3Uri": f"s3://{BUCKET}/monitoring/reports",
                                "LocalPath": "/opt/ml/processing/output",
                            }
                        }
                    ]
                },
                "MonitoringAppSpecification": {"ImageUri": "model-monitor"},
            },
        },
    }
    yield host, schedule
    host.stop_all()


def test_monitoring_finds_drift_in_captured_traffic(s3, make_context, monitored_endpoint):
    host, schedule = monitored_endpoint
    for _ in range(3):
        for shade in range(0, 40, 2):  # far darker than the baseline traffic
            host.invoke("defects", png_bytes(shade), "image/png")

    result = run_monitoring_execution(schedule, make_context(client=lambda service: CaptureConfigOnly()))

    assert result.status == "Completed"
    assert result.describe_fields["ExitMessage"].startswith("CompletedWithViolations")
    report_prefix = result.describe_fields["LocalReportUri"].removeprefix(f"s3://{BUCKET}/")
    assert report_prefix.startswith("monitoring/reports/defects/defects-data-quality/")
    violations_key = f"{report_prefix}/constraint_violations.json"
    violations = json.loads(s3.get_object(Bucket=BUCKET, Key=violations_key)["Body"].read())["violations"]
    assert any(v["feature_name"] == "brightness" for v in violations)
    metric_names = {datum["MetricName"] for datum in result.describe_fields["LocalMetricData"]["MetricData"]}
    assert "feature_baseline_drift_brightness" in metric_names


def test_monitoring_without_capture_fails_with_reason(s3, make_context, monitored_endpoint):
    _, schedule = monitored_endpoint

    result = run_monitoring_execution(schedule, make_context(client=lambda service: CaptureConfigOnly()))

    assert result.status == "Failed"
    assert "no usable captured records" in (result.failure_reason or "")
