"""Model Monitor executions with the real model, endpoint and analyzer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlops_local.executors.endpoint import EndpointHost
from mlops_local.executors.monitoring import run_monitoring_execution

from .conftest import BUCKET, CAPTURE, png_bytes, upload_model

pytestmark = pytest.mark.slow


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
        "ModelDataUrl": upload_model(s3, real_models["model-v1"], "model-v1"),
    }
    host.deploy("defects", "defects-config-1", [variant], CAPTURE)
    answers = [
        host.invoke("defects", png_bytes(shade, green=shade // 2), "image/png")
        for shade in range(100, 200, 4)
    ]
    baseline_rows = [answer.json()["predictions"][0]["features"] for answer in answers]
    host.flush_captures()  # capture is written after each answer: all of it is in S3 before it goes
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
            host.invoke("defects", png_bytes(shade, green=shade // 2), "image/png")
    host.flush_captures()  # as run_monitoring_now does before a run

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
