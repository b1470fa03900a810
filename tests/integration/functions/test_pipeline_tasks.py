"""The state machine's Lambda tasks under moto: CheckDataset, ResolveChampion, Gate."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from moto import mock_aws
from pydantic import ValidationError

from mlops_common.domain.errors import DatasetNotUsable
from mlops_common.services.evaluate_model import EvaluationUnreadable
from mlops_local.engine.moto_compat.jsonata_not_evaluated import WORKAROUND as JSONATA
from tests.conftest import REPO_ROOT, load_event

from .conftest import MODEL_PACKAGE_GROUP, Stack, handler_of

check_dataset = handler_of("check_dataset")
resolve_champion = handler_of("resolve_champion")
evaluate_model = handler_of("evaluate_model")

VERSION = "upload-20261112T1000-1a2b3c4d"


def put_json(stack: Stack, bucket: str, key: str, document: Any) -> None:
    stack.client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(document))


# --- CheckDataset ------------------------------------------------------------------------------


def test_usable_dataset_returns_its_uris(stack: Stack, context: Any) -> None:
    put_json(stack, stack.data_bucket, f"datasets/{VERSION}/stats.json", load_event("stats"))
    result = check_dataset({"dataset_version": VERSION}, context)
    base = f"s3://{stack.data_bucket}/datasets/{VERSION}/"
    assert (result["dataset_uri"], result["train_uri"], result["test_uri"]) == (
        base,
        base + "train/",
        base + "test/",
    )
    assert result["labels"] == ["crack", "dent", "ok", "scratch"]
    assert result["classes"]["dent"] == {"train": 140, "validation": 30, "test": 30}


def test_unusable_dataset_raises_with_every_reason(stack: Stack, context: Any) -> None:
    stats = load_event("stats")
    stats["classes"]["dent"]["test"] = 0
    stats["accounting"]["uploaded"] = 1
    put_json(stack, stack.data_bucket, f"datasets/{VERSION}/stats.json", stats)
    with pytest.raises(DatasetNotUsable) as caught:
        check_dataset({"dataset_version": VERSION}, context)
    assert type(caught.value).__name__ == "DatasetNotUsable"  # the name the ASL catches
    assert len(caught.value.reasons) == 2


def test_every_log_line_carries_the_execution_name(
    stack: Stack, context: Any, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    # The ASL passes the execution name as the dataset version.
    put_json(stack, stack.data_bucket, f"datasets/{VERSION}/stats.json", load_event("stats"))
    check_dataset({"dataset_version": VERSION}, context)
    lines = log_lines()
    assert any(line["message"] == "dataset usable" for line in lines)
    assert {line.get("correlation_id") for line in lines} == {VERSION}


def test_missing_stats_is_not_usable(stack: Stack, context: Any) -> None:
    with pytest.raises(DatasetNotUsable, match="does not exist"):
        check_dataset({"dataset_version": VERSION}, context)


NESTED_3KB = '{"labels": ' + "[" * 1_500 + "]" * 1_500 + "}"


def test_deeply_nested_stats_is_not_usable(stack: Stack, context: Any) -> None:
    stack.client("s3").put_object(
        Bucket=stack.data_bucket, Key=f"datasets/{VERSION}/stats.json", Body=NESTED_3KB
    )
    with pytest.raises(DatasetNotUsable, match="nested deeper than"):
        check_dataset({"dataset_version": VERSION}, context)


@pytest.mark.parametrize("event", [{}, {"dataset_version": "../etc"}, {"dataset_version": "v1", "x": 1}])
def test_malformed_check_dataset_input_is_rejected(stack: Stack, context: Any, event: Any) -> None:
    with pytest.raises(ValidationError):
        check_dataset(event, context)


# --- ResolveChampion -------------------------------------------------------------------------


# The training pipeline's own RegisterModel state, run on moto's Step Functions engine: packages
# carry the metadata the pipeline writes, not a test's idea of it.
REGISTER_MODEL = json.loads((REPO_ROOT / "statemachines" / "training_pipeline.asl.json").read_text())[
    "States"
]["RegisterModel"]
REGISTER_SUBSTITUTIONS = {
    "Partition": "aws",
    "ModelPackageGroupName": MODEL_PACKAGE_GROUP,
}


def register_package(stack: Stack, status: str, version: str, tuning_job: str = "none") -> str:
    """Register model ``version`` (its training job) as the pipeline does; the package's ARN."""
    variables = {
        "run": {"execution_name": f"upload-{version}"},
        "model": {
            "training_job_name": version,
            "tuning_job_name": tuning_job,
            "model_data_url": f"s3://a/models/{version}/model.tar.gz",
        },
        "plan": {
            "config": {
                "endpoint_instance_type": "ml.m5.large",
                "transform_instance_type": "ml.m5.large",
                "images": {"inference": "pytorch-inference:2.6.0-cpu-py312-ubuntu22.04-sagemaker"},
            }
        },
        "evaluation": {"evaluation_uri": f"s3://a/evaluation/{version}/evaluation.json"},
        # The package is Approved when the gate passed, Rejected otherwise.
        "gate": {
            "passed": status == "Approved",
            "challenger": {"accuracy": 0.97, "macro_f1": 0.96, "min_defect_recall": 0.95},
        },
    }
    state = {key: value for key, value in REGISTER_MODEL.items() if key != "Next"}
    registered = {"Type": "Pass", "Output": {"registration": "{% $registration %}"}, "End": True}
    machine = {
        "QueryLanguage": "JSONata",
        "StartAt": "RunSoFar",
        "States": {
            # The workflow variables the run holds when it reaches RegisterModel.
            "RunSoFar": {"Type": "Pass", "Assign": variables, "Next": "RegisterModel"},
            "RegisterModel": {**state, "Next": "Registered"},
            "Registered": registered,
        },
    }
    definition = json.dumps(machine)
    for name, value in REGISTER_SUBSTITUTIONS.items():
        definition = definition.replace(f"${{{name}}}", value)
    assert "${" not in definition, "RegisterModel uses a substitution this test does not provide"
    # A nested mock shares the outer one's resources; its config lasts until the outer mock stops.
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        JSONATA.apply()
        try:
            sfn = stack.client("stepfunctions")
            arn = sfn.create_state_machine(
                name=f"register-{version}",
                definition=definition,
                roleArn="arn:aws:iam::123456789012:role/states",
            )["stateMachineArn"]
            execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
            deadline = time.monotonic() + 60
            while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
                assert time.monotonic() < deadline, "RegisterModel did not finish"
                time.sleep(0.05)
        finally:
            JSONATA.undo()
    assert described["status"] == "SUCCEEDED", described.get("cause")
    return str(json.loads(described["output"])["registration"]["model_package_arn"])


def test_no_group_and_no_endpoint_means_no_champion(stack: Stack, context: Any) -> None:
    assert resolve_champion({}, context) == {
        "has_champion": False,
        "model_package_arn": None,
        "model_data_url": None,
        "model_version": None,
        "previous_tuning_job": None,
        "endpoint_exists": False,
        "endpoint_config_name": None,
    }


def test_latest_approved_package_is_the_champion(stack: Stack, context: Any) -> None:
    stack.client("sagemaker").create_model_package_group(ModelPackageGroupName=MODEL_PACKAGE_GROUP)
    register_package(stack, "Approved", "v1")
    approved = register_package(stack, "Approved", "v2")
    register_package(stack, "Rejected", "v3")

    result = resolve_champion({}, context)

    assert result["has_champion"] is True
    assert result["model_package_arn"] == approved
    assert result["model_version"] == "v2"
    assert result["model_data_url"] == "s3://a/models/v2/model.tar.gz"


def test_the_champions_tuning_job_is_reported_for_the_warm_start(stack: Stack, context: Any) -> None:
    stack.client("sagemaker").create_model_package_group(ModelPackageGroupName=MODEL_PACKAGE_GROUP)
    register_package(stack, "Approved", "v1-hpo-3", tuning_job="v1-hpo")
    assert resolve_champion({}, context)["previous_tuning_job"] == "v1-hpo"


def test_live_endpoint_and_its_config_are_reported(stack: Stack, context: Any) -> None:
    sagemaker = stack.client("sagemaker")
    sagemaker.create_model(
        ModelName="m1",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sm",
        PrimaryContainer={"Image": "img"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="cfg-1",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "m1",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName="defect-classifier-dev", EndpointConfigName="cfg-1")
    result = resolve_champion({}, context)
    assert (result["endpoint_exists"], result["endpoint_config_name"]) == (True, "cfg-1")


# --- Gate ------------------------------------------------------------------------------------


def test_gate_reads_the_evaluation_and_passes(stack: Stack, context: Any) -> None:
    put_json(stack, stack.artifacts_bucket, "evaluation/run-1/evaluation.json", load_event("evaluation"))
    decision = evaluate_model(
        {"evaluation_uri": f"s3://{stack.artifacts_bucket}/evaluation/run-1/evaluation.json"}, context
    )
    assert decision["passed"] is True
    assert all(reason.startswith("PASS") for reason in decision["reasons"])
    assert decision["champion"]["model_version"].startswith("schedule-")


def test_gate_fails_and_says_why(stack: Stack, context: Any) -> None:
    evaluation = load_event("evaluation")
    evaluation["challenger"]["per_class"]["crack"]["recall"] = 0.4
    put_json(stack, stack.artifacts_bucket, "evaluation/run-2/evaluation.json", evaluation)
    decision = evaluate_model(
        {"evaluation_uri": f"s3://{stack.artifacts_bucket}/evaluation/run-2/evaluation.json"}, context
    )
    assert decision["passed"] is False
    assert "FAIL recall[crack] 0.4000 < 0.8500" in decision["reasons"]


@pytest.mark.parametrize("document", ["not json", json.dumps({"labels": ["a"]}), NESTED_3KB])
def test_unreadable_evaluation_is_a_clear_error(stack: Stack, context: Any, document: str) -> None:
    stack.client("s3").put_object(Bucket=stack.artifacts_bucket, Key="evaluation/bad.json", Body=document)
    with pytest.raises(EvaluationUnreadable):
        evaluate_model({"evaluation_uri": f"s3://{stack.artifacts_bucket}/evaluation/bad.json"}, context)


def test_gate_rejects_a_foreign_event(stack: Stack, context: Any) -> None:
    with pytest.raises(ValidationError):
        evaluate_model(load_event("s3_object_created"), context)


def test_a_missing_evaluation_is_a_clear_error(stack: Stack, context: Any) -> None:
    with pytest.raises(EvaluationUnreadable, match="does not exist"):
        evaluate_model({"evaluation_uri": f"s3://{stack.artifacts_bucket}/evaluation/none.json"}, context)
