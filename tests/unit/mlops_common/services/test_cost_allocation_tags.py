"""Every SageMaker resource the functions create carries the cost-allocation tags."""

from __future__ import annotations

from mlops_common.domain.cost_tags import EXECUTION_TAG, PROJECT, REQUIRED_TAGS
from mlops_common.models import DeployInput, MonitoringInput
from mlops_common.services.deploy_model import deploy_model
from mlops_common.services.ensure_monitoring import ensure_monitoring
from tests.unit.mlops_common.fakes import DEPLOY, MONITORING, FakeSageMaker, FakeScaling


def _deploy_and_monitor() -> FakeSageMaker:
    """A first deployment and its monitoring schedule: every create call the functions make."""
    sagemaker = FakeSageMaker()
    deployed = deploy_model(
        DeployInput(model_name="model-v1", execution_name="upload-20261112T1000-1a2b3c4d"),
        sagemaker=sagemaker,
        scaling=FakeScaling(),
        settings=DEPLOY,
    )
    ensure_monitoring(
        MonitoringInput(
            endpoint_name=deployed.endpoint_name,
            baseline_uri="s3://artifacts-bucket/monitoring/baseline/model-v1/",
            model_version="model-v1",
        ),
        sagemaker=sagemaker,
        scaling=FakeScaling(),
        settings=MONITORING,
    )
    return sagemaker


def test_every_create_call_carries_the_project_and_environment_tags() -> None:
    sagemaker = _deploy_and_monitor()

    creates = [call for call, _ in sagemaker.calls if call.startswith("create_")]
    assert sorted(creates) == ["create_endpoint", "create_endpoint_config", "create_monitoring_schedule"]
    for (call, name), tags in sagemaker.tags.items():
        values = {tag["Key"]: tag["Value"] for tag in tags}
        assert set(values) >= REQUIRED_TAGS, (call, name)
        assert (values["project"], values["environment"]) == (PROJECT, DEPLOY.environment), (call, name)
    assert {call for call, _ in sagemaker.tags} == set(creates)


def test_only_what_one_run_owns_is_tagged_with_its_execution() -> None:
    sagemaker = _deploy_and_monitor()

    owners = {
        call: {tag["Key"]: tag["Value"] for tag in tags}.get(EXECUTION_TAG)
        for (call, _), tags in sagemaker.tags.items()
    }
    assert owners == {
        "create_endpoint_config": "upload-20261112T1000-1a2b3c4d",
        "create_endpoint": None,  # the endpoint and the schedule outlive the run that created them
        "create_monitoring_schedule": None,
    }
