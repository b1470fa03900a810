"""ensure_monitoring's use case with fake schedules: create once, then point it at each new baseline."""

from __future__ import annotations

from mlops_common.models import MonitoringInput
from mlops_common.services.ensure_monitoring import ensure_monitoring
from tests.unit.mlops_common.fakes import MONITORING, FakeSageMaker


def request(version: str) -> MonitoringInput:
    return MonitoringInput(
        endpoint_name="defect-classifier",
        baseline_uri=f"s3://artifacts-bucket/monitoring/baseline/{version}/",
        model_version=version,
    )


def test_schedule_is_created_then_updated_with_the_new_baseline() -> None:
    sagemaker = FakeSageMaker()
    first = ensure_monitoring(request("v1"), sagemaker=sagemaker, settings=MONITORING)
    second = ensure_monitoring(request("v2"), sagemaker=sagemaker, settings=MONITORING)

    assert (first.action, second.action) == ("create", "update")
    config = sagemaker.schedules[second.schedule_name]["MonitoringJobDefinition"]
    assert config["BaselineConfig"]["StatisticsResource"]["S3Uri"].endswith("/v2/statistics.json")
    assert config["RoleArn"] == MONITORING.sagemaker_role_arn
