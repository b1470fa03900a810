"""Provisioning from a SAM template: every resource created or accepted, names, substitutions."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from mlops_local.engine.moto_compat import WORKAROUNDS
from mlops_local.engine.provisioning import ACCEPTED_NOT_EMULATED, CREATORS, Provisioner, ProvisioningError
from mlops_local.engine.template import load_template
from mlops_local.runtime import LocalRuntime

from .conftest import FIXTURE_TEMPLATE

REPO_TEMPLATE = Path(__file__).parents[4] / "template.yaml"


def _client(service: str):
    return boto3.client(service, region_name="us-east-1")


@contextlib.contextmanager
def _embedded_aws() -> Iterator[None]:
    """moto with the one workaround provisioning itself needs (SAM's policies have no Version)."""
    iam_policies = WORKAROUNDS["iam_policy_without_version"]
    with mock_aws():
        iam_policies.apply()
        try:
            yield
        finally:
            iam_policies.undo()


def test_every_translated_resource_is_provisioned_or_accepted(runtime: LocalRuntime) -> None:
    translated = runtime.provisioned.template.cfn["Resources"]
    conditional_off = {"ProdOnlyQueue", "EmailSubscription"}  # their conditions are false in dev
    assert set(runtime.provisioned.resources) == set(translated) - conditional_off
    for logical_id, resource in runtime.provisioned.resources.items():
        assert resource.type == translated[logical_id]["Type"]
        assert resource.emulated == (resource.type in CREATORS)


def test_resources_exist_in_moto_under_their_physical_names(runtime: LocalRuntime) -> None:
    stack = runtime.provisioned
    buckets = {b["Name"] for b in runtime.client("s3").list_buckets()["Buckets"]}
    assert {stack.ref("DataBucket"), "fixture-artifacts-dev-123456789012"} <= buckets
    assert (
        runtime.client("glue").get_job(JobName=stack.ref("PrepareDatasetJob"))["Job"]["WorkerType"] == "G.1X"
    )
    group = runtime.client("sagemaker").describe_model_package_group(
        ModelPackageGroupName="fixture-models-dev"
    )
    assert group["ModelPackageGroupArn"] == stack.ref("ModelPackageGroup")
    assert runtime.client("dynamodb").describe_table(TableName=stack.ref("PipelineTable"))["Table"][
        "KeySchema"
    ]
    queue = runtime.client("sqs").get_queue_attributes(
        QueueUrl=stack.ref("UploadEventsQueue"), AttributeNames=["All"]
    )
    assert json.loads(queue["Attributes"]["RedrivePolicy"])["maxReceiveCount"] == 2
    alarm = runtime.client("cloudwatch").describe_alarms(AlarmNames=[stack.ref("EndpointErrorAlarm")])
    assert alarm["MetricAlarms"][0]["MetricName"] == "Invocation5XXErrors"


def test_definition_substitutions_are_applied(runtime: LocalRuntime) -> None:
    arn = runtime.provisioned.ref("TrainingPipelineStateMachine")
    definition = runtime.client("stepfunctions").describe_state_machine(stateMachineArn=arn)["definition"]
    assert "${" not in definition
    task = json.loads(definition)["States"]["CallFlaky"]
    assert task["Parameters"]["FunctionName"] == runtime.provisioned.attribute("FlakyFunction", "Arn")
    assert task["Retry"][0]["IntervalSeconds"] == 1


def test_functions_get_the_template_environment_handler_and_layer(runtime: LocalRuntime) -> None:
    function = runtime.provisioned.functions.find("StartPipelineFunction")
    assert function.handler == "app.lambda_handler"
    assert function.environment["DATA_BUCKET"] == runtime.provisioned.ref("DataBucket")
    assert function.environment["FUNCTION_ROLE"] == "start"
    assert [p.name for p in function.layer_dirs] == ["layer"]
    assert function.timeout_seconds == 30


def test_event_sources_and_schedules_come_from_the_template(runtime: LocalRuntime) -> None:
    (mapping,) = runtime.provisioned.event_source_mappings
    assert (mapping.batch_size, mapping.batching_window_seconds, mapping.report_batch_item_failures) == (
        100,
        60,
        True,
    )
    (schedule,) = runtime.provisioned.schedules.values()
    assert schedule.state == "DISABLED"
    assert json.loads(schedule.target_input or "{}")["trigger"] == "schedule"


def test_outputs_are_resolved(runtime: LocalRuntime) -> None:
    assert runtime.outputs() == {
        "DataBucketName": runtime.provisioned.ref("DataBucket"),
        "StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:fixture-training-dev",
        "Environment": "development",
    }


def test_an_unknown_resource_type_is_an_error(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n  Cluster:\n    Type: AWS::EKS::Cluster\n"
    )
    with _embedded_aws():
        provisioner = Provisioner(load_template(template), _client, stack_name="t")
        with pytest.raises(ProvisioningError, match=r"Cluster \(AWS::EKS::Cluster\)"):
            provisioner.provision()
        assert _client("s3").list_buckets()["Buckets"] == []  # nothing half-created


def test_accepted_types_are_listed_with_a_reason() -> None:
    assert all(reason for reason in ACCEPTED_NOT_EMULATED.values())
    assert not set(ACCEPTED_NOT_EMULATED) & set(CREATORS)


def test_prod_parameters_switch_conditions(tmp_path: Path) -> None:
    with _embedded_aws():
        template = load_template(FIXTURE_TEMPLATE, overrides={"EnvironmentName": "prod"})
        stack = Provisioner(template, _client, stack_name="t").provision()
        assert "ProdOnlyQueue" in stack.resources
        assert stack.outputs["Environment"] == "production"


@pytest.mark.skipif(
    not REPO_TEMPLATE.exists(), reason="the project's template.yaml is not in this checkout yet"
)
def test_the_project_template_provisions_completely() -> None:
    with _embedded_aws():
        template = load_template(REPO_TEMPLATE)
        stack = Provisioner(template, _client, stack_name="mlops-local").provision()
        created = set(stack.resources)
        translated = set(template.cfn["Resources"])
        skipped_by_condition = translated - created
        for logical_id in skipped_by_condition:
            assert "Condition" in template.cfn["Resources"][logical_id]
