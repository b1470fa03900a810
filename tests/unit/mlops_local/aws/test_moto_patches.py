"""Each moto workaround: stock moto still differs from AWS (fails loudly on upgrade), patched matches AWS."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from mlops_local.aws.events import EventRouter
from mlops_local.aws.jobs import EndpointLifecycle, JobLifecycle
from mlops_local.aws.lambdas import LambdaFunction, LambdaRegistry
from mlops_local.aws.moto_patches import (
    GlueSyncService,
    MotoPatches,
    SageMakerSyncService,
    json_safe,
    sagemaker_error_name,
    versioned_policy,
)
from mlops_local.executors.faults import FaultPlan, parse_fault_spec

from .conftest import FIXTURE_STACK, FakeEndpointHost, fake_glue, fake_training

ROLE = "arn:aws:iam::123456789012:role/r"
MOCK_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


def _client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1")


def _run(definition: dict[str, Any], execution_input: dict[str, Any] | None = None) -> dict[str, Any]:
    sfn = _client("stepfunctions")
    name = f"m{time.monotonic_ns()}"
    arn = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(execution_input or {}))[
        "executionArn"
    ]
    deadline = time.monotonic() + 60
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "execution did not finish"
        time.sleep(0.1)
    return dict(described)


def _task(resource: str, parameters: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True, **extra}
        },
    }


TRAINING = {
    "TrainingJobName.$": "$.name",
    "AlgorithmSpecification": {
        "TrainingImage": "img",
        "TrainingInputMode": "File",
        "MetricDefinitions": [{"Name": "validation:accuracy", "Regex": "acc=([0-9.]+);"}],
    },
    "RoleArn": ROLE,
    "OutputDataConfig": {"S3OutputPath": "s3://artifacts/models"},
    "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5},
    "StoppingCondition": {"MaxRuntimeInSeconds": 60},
    "HyperParameters.$": "$.hp",
}


@pytest.fixture
def stock() -> Iterator[None]:
    with mock_aws(config=MOCK_CONFIG):
        yield


@pytest.fixture
def patched(tmp_path: Path) -> Iterator[MotoPatches]:
    with mock_aws(config=MOCK_CONFIG):
        registry = LambdaRegistry()
        registry.register(
            LambdaFunction(
                "FlakyFunction",
                "flaky",
                "arn:aws:lambda:us-east-1:123456789012:function:flaky",
                "app.lambda_handler",
                FIXTURE_STACK / "functions" / "flaky",
                [FIXTURE_STACK / "layer"],
                {"FUNCTION_ROLE": "flaky"},
            )
        )
        faults = FaultPlan()
        jobs = JobLifecycle(
            client=_client,
            run_dir=tmp_path,
            repo_root=tmp_path,
            faults=faults,
            executors={"training": fake_training, "glue": fake_glue},
        )
        patches = MotoPatches(
            lambdas=registry,
            jobs=jobs,
            endpoints=EndpointLifecycle(host=FakeEndpointHost(), client=_client),
            should_throttle=lambda service, operation: faults.take_throttle(operation),
        )
        patches.apply()
        try:
            yield patches
        finally:
            patches.undo()


# -- 1. IAM policies without Version ----------------------------------------------------------


def test_stock_moto_rejects_a_policy_without_version(stock: None) -> None:
    _client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    document = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    with pytest.raises(ClientError, match="MalformedPolicyDocument"):
        _client("iam").put_role_policy(RoleName="r", PolicyName="p", PolicyDocument=json.dumps(document))
    _client("iam").put_role_policy(
        RoleName="r", PolicyName="p", PolicyDocument=json.dumps(versioned_policy(document))
    )


# -- 2/3. glue:startJobRun.sync ----------------------------------------------------------------

GLUE = _task("arn:aws:states:::glue:startJobRun.sync", {"JobName": "prepare", "Arguments.$": "$.args"})


def _glue_job() -> None:
    _client("glue").create_job(
        Name="prepare", Role=ROLE, Command={"Name": "glueetl", "ScriptLocation": "s3://c/p.py"}
    )


def test_stock_glue_sync_fails_with_a_runtime_error(stock: None) -> None:
    _glue_job()
    described = _run(GLUE, {"args": {}})
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"
    assert "interrupt_all" in described["cause"]


def test_patched_glue_sync_waits_for_the_run_and_outputs_epoch_millis(patched: MotoPatches) -> None:
    _glue_job()
    described = _run(GLUE, {"args": {"--dataset_version": "v1"}})
    assert described["status"] == "SUCCEEDED"
    run = json.loads(described["output"])
    assert run["JobRunState"] == "SUCCEEDED"
    assert isinstance(run["CompletedOn"], int)
    assert patched.jobs.records("glue")[0].request["Arguments"] == {"--dataset_version": "v1"}


def test_patched_glue_sync_failure_is_states_task_failed(patched: MotoPatches) -> None:
    _glue_job()
    described = _run(GLUE, {"args": {"--fail": "true"}})
    assert described["error"] == "States.TaskFailed"
    assert json.loads(described["cause"])["ErrorMessage"].startswith("AnalysisException")


def test_a_sync_task_stopped_as_it_starts_does_not_wait(patched: MotoPatches) -> None:
    # On a stopped execution moto hands the state's input over as the timeout: nothing must wait.
    for service in (GlueSyncService(), SageMakerSyncService()):
        outcome = service._eval_sync(
            env=None,
            sync_resolver=None,
            timeout_seconds={"the": "state input"},
            callback_endpoint=None,
            heartbeat_endpoint=None,
        )
        assert outcome is None


# -- 4. sagemaker:create*.sync -------------------------------------------------------------------

SYNC_TRAINING = _task("arn:aws:states:::sagemaker:createTrainingJob.sync", TRAINING)


def test_stock_sagemaker_sync_is_unsupported(stock: None) -> None:
    described = _run(SYNC_TRAINING, {"name": "j1", "hp": {}})
    assert described["status"] == "FAILED"
    assert "Unsupported" in described["cause"]


def test_patched_sagemaker_sync_outputs_the_final_describe(patched: MotoPatches) -> None:
    described = _run(SYNC_TRAINING, {"name": "j1", "hp": {"epochs": "1"}})
    assert described["status"] == "SUCCEEDED"
    job = json.loads(described["output"])
    assert job["TrainingJobStatus"] == "Completed"
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == "s3://artifacts/models/j1/output/model.tar.gz"
    assert job["AlgorithmSpecification"]["MetricDefinitions"][0]["Name"] == "validation:accuracy"


def test_patched_failed_job_is_states_task_failed_with_describe_as_cause(patched: MotoPatches) -> None:
    described = _run(SYNC_TRAINING, {"name": "j2", "hp": {"fail": "true"}})
    assert described["error"] == "States.TaskFailed"
    cause = json.loads(described["cause"])
    assert (cause["TrainingJobStatus"], cause["FailureReason"]) == (
        "Failed",
        "AlgorithmError: the training script exited with status 1",
    )


def test_patched_rejected_create_is_named_after_the_sagemaker_exception(patched: MotoPatches) -> None:
    _run(SYNC_TRAINING, {"name": "same", "hp": {}})
    described = _run(SYNC_TRAINING, {"name": "same", "hp": {}})
    assert described["error"] == "SageMaker.ResourceInUseException"
    assert "Error Code: ResourceInUse" in described["cause"]


def test_error_names_follow_the_modelled_exceptions() -> None:
    assert sagemaker_error_name("ResourceLimitExceeded") == "SageMaker.ResourceLimitExceededException"
    assert sagemaker_error_name("ThrottlingException") == "SageMaker.AmazonSageMakerException"
    assert sagemaker_error_name("ValidationException") == "SageMaker.AmazonSageMakerException"


def test_json_safe_turns_datetimes_into_epoch_millis() -> None:
    from datetime import UTC, datetime

    assert json_safe({"a": [datetime(2026, 1, 1, tzinfo=UTC)]}) == {"a": [1767225600000]}


# -- 5. lambda:invoke ------------------------------------------------------------------------------


def test_stock_lambda_invoke_only_echoes_the_payload(stock: None) -> None:
    import io
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", "def lambda_handler(event, context):\n    raise ValueError('never runs')\n")
    role = _client("iam").create_role(RoleName="lambda-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    _client("lambda").create_function(
        FunctionName="f",
        Runtime="python3.13",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": archive.getvalue()},
    )
    response = _client("lambda").invoke(FunctionName="f", Payload=b'{"x": 1}')
    assert "FunctionError" not in response
    assert b'"x"' in response["Payload"].read()


def test_patched_lambda_error_is_caught_by_its_type_name(patched: MotoPatches) -> None:
    definition = _task(
        "arn:aws:states:::lambda:invoke",
        {"FunctionName": "flaky", "Payload.$": "$"},
        Catch=[{"ErrorEquals": ["DatasetNotUsable"], "Next": "Caught"}],
    )
    definition["States"]["Caught"] = {"Type": "Succeed"}
    described = _run(definition, {"raise": "DatasetNotUsable"})
    assert described["status"] == "SUCCEEDED"
    history = _client("stepfunctions").get_execution_history(executionArn=described["executionArn"])["events"]
    assert any(e["type"] == "SucceedStateEntered" for e in history)


def test_patched_lambda_invoke_returns_the_handler_result(patched: MotoPatches) -> None:
    response = _client("lambda").invoke(FunctionName="flaky", Payload=b'{"a": 1}')
    assert json.loads(response["Payload"].read())["input"] == {"a": 1}


# -- 6. throttling -------------------------------------------------------------------------------


def test_patched_throttling_is_absorbed_by_the_asl_retry(patched: MotoPatches) -> None:
    patched.jobs.faults.add(parse_fault_spec("throttle:CreateModel,count=2"))
    definition = _task(
        "arn:aws:states:::sagemaker:createModel",
        {"ModelName": "m", "ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": "img"}},
        Retry=[
            {
                "ErrorEquals": ["SageMaker.AmazonSageMakerException"],
                "IntervalSeconds": 1,
                "MaxAttempts": 3,
                "BackoffRate": 1.0,
            }
        ],
    )
    described = _run(definition)
    assert described["status"] == "SUCCEEDED"
    failures = [
        e
        for e in _client("stepfunctions").get_execution_history(executionArn=described["executionArn"])[
            "events"
        ]
        if e["type"] == "TaskFailed"
    ]
    assert [e["taskFailedEventDetails"]["error"] for e in failures] == [
        "SageMaker.AmazonSageMakerException"
    ] * 2


# -- 7. SageMaker jobs and endpoints ------------------------------------------------------------


def _training_request(name: str, **hp: str) -> dict[str, Any]:
    request = {k.removesuffix(".$"): v for k, v in TRAINING.items()}
    return {**request, "TrainingJobName": name, "HyperParameters": hp}


def test_stock_training_job_is_completed_at_once_and_names_may_repeat(stock: None) -> None:
    sagemaker = _client("sagemaker")
    sagemaker.create_training_job(**_training_request("dup"))
    sagemaker.create_training_job(**_training_request("dup"))
    assert sagemaker.describe_training_job(TrainingJobName="dup")["TrainingJobStatus"] == "Completed"


def test_patched_training_job_is_in_progress_until_its_executor_returns(patched: MotoPatches) -> None:
    sagemaker = _client("sagemaker")
    sagemaker.create_training_job(**_training_request("live"))
    assert sagemaker.describe_training_job(TrainingJobName="live")["TrainingJobStatus"] == "InProgress"
    assert patched.jobs.wait_all(timeout=30)
    assert sagemaker.describe_training_job(TrainingJobName="live")["TrainingJobStatus"] == "Completed"


def test_stock_moto_has_no_update_endpoint(stock: None) -> None:
    with pytest.raises(Exception, match="update_endpoint action has not been implemented"):
        _client("sagemaker").update_endpoint(EndpointName="e", EndpointConfigName="c")


def _endpoint_config(name: str) -> None:
    sagemaker = _client("sagemaker")
    sagemaker.create_model(
        ModelName=f"model-{name}",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "img", "ModelDataUrl": f"s3://a/{name}/model.tar.gz"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"model-{name}",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )


def _wait_in_service(patched: MotoPatches, name: str) -> dict[str, Any]:
    record = patched.endpoints.get(name)
    assert record is not None
    assert record.done.wait(10)
    return dict(_client("sagemaker").describe_endpoint(EndpointName=name))


def test_patched_update_endpoint_switches_config(patched: MotoPatches) -> None:
    _endpoint_config("v1")
    _endpoint_config("v2")
    _client("sagemaker").create_endpoint(EndpointName="e", EndpointConfigName="v1")
    assert _wait_in_service(patched, "e")["EndpointStatus"] == "InService"
    _client("sagemaker").update_endpoint(EndpointName="e", EndpointConfigName="v2")
    described = _wait_in_service(patched, "e")
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", "v2")


def test_patched_failed_update_rolls_back_to_the_old_config(patched: MotoPatches) -> None:
    _endpoint_config("v1")
    _endpoint_config("broken-v2")
    _client("sagemaker").create_endpoint(EndpointName="e", EndpointConfigName="v1")
    _wait_in_service(patched, "e")
    _client("sagemaker").update_endpoint(EndpointName="e", EndpointConfigName="broken-v2")
    described = _wait_in_service(patched, "e")
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", "v1")
    assert "rolled back" in described["FailureReason"]


def test_patched_failed_create_leaves_the_endpoint_failed(patched: MotoPatches) -> None:
    _endpoint_config("broken-v1")
    _client("sagemaker").create_endpoint(EndpointName="e", EndpointConfigName="broken-v1")
    assert _wait_in_service(patched, "e")["EndpointStatus"] == "Failed"


def test_patched_monitoring_schedules_exist(patched: MotoPatches) -> None:
    sagemaker = _client("sagemaker")
    config = {
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        "MonitoringType": "DataQuality",
        "MonitoringJobDefinitionName": "dq",
    }
    sagemaker.create_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig=config)
    assert (
        sagemaker.describe_monitoring_schedule(MonitoringScheduleName="s")["MonitoringScheduleStatus"]
        == "Scheduled"
    )
    names = [
        s["MonitoringScheduleName"]
        for s in sagemaker.list_monitoring_schedules()["MonitoringScheduleSummaries"]
    ]
    assert names == ["s"]


# -- 8. S3 -> EventBridge event shape -------------------------------------------------------------


def _eventbridge_to_queue() -> str:
    s3, events, sqs = _client("s3"), _client("events"), _client("sqs")
    s3.create_bucket(Bucket="data")
    s3.put_bucket_notification_configuration(
        Bucket="data", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    events.put_rule(
        Name="r", EventPattern=json.dumps({"source": ["aws.s3"], "detail-type": ["Object Created"]})
    )
    events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}])
    for key in ("incoming/a/ok/a b.jpg", "incoming/a/ok/c++.jpg"):
        s3.put_object(Bucket="data", Key=key, Body=b"x")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    return json.dumps([json.loads(m["Body"]) for m in messages])


def test_stock_s3_event_differs_from_aws(stock: None) -> None:
    events = json.loads(_eventbridge_to_queue())
    objects = [e["detail"]["object"] for e in events]
    assert "eTag" in objects[0]
    assert objects[0]["key"] == "incoming/a/ok/a b.jpg"
    assert objects[0]["sequencer"] == objects[1]["sequencer"]


def test_patched_s3_event_has_the_aws_shape(patched: MotoPatches) -> None:
    patched.event_router = EventRouter([], patched.lambdas, _client)
    events = json.loads(_eventbridge_to_queue())
    objects = [e["detail"]["object"] for e in events]
    assert [o["key"] for o in objects] == ["incoming/a/ok/a+b.jpg", "incoming/a/ok/c%2B%2B.jpg"]
    assert all("etag" in o and "version-id" not in o for o in objects)
    assert objects[0]["sequencer"] < objects[1]["sequencer"]
    assert events[0]["detail"]["reason"] == "PutObject"
    assert events[0]["time"].endswith("Z")


# -- 9. UpdateModelPackage -----------------------------------------------------------------------


def _approved_package(sagemaker: Any) -> str:
    sagemaker.create_model_package_group(ModelPackageGroupName="defects")
    return str(
        sagemaker.create_model_package(
            ModelPackageGroupName="defects",
            ModelApprovalStatus="Approved",
            CustomerMetadataProperties={"accuracy": "0.97"},
            InferenceSpecification={
                "Containers": [{"Image": "inference:latest", "ModelDataUrl": "s3://b/model.tar.gz"}],
                "SupportedContentTypes": ["image/png"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
        )["ModelPackageArn"]
    )


def _reject(sagemaker: Any, arn: str) -> dict[str, Any]:
    sagemaker.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Rejected", ApprovalDescription="why"
    )
    return dict(sagemaker.describe_model_package(ModelPackageName=arn))


def test_stock_update_model_package_drops_the_metadata(stock: None) -> None:
    sagemaker = _client("sagemaker")
    described = _reject(sagemaker, _approved_package(sagemaker))
    assert described.get("CustomerMetadataProperties") is None


def test_patched_update_model_package_keeps_the_metadata(patched: MotoPatches) -> None:
    sagemaker = _client("sagemaker")
    described = _reject(sagemaker, _approved_package(sagemaker))
    assert (described["ModelApprovalStatus"], described["ApprovalDescription"]) == ("Rejected", "why")
    assert described["CustomerMetadataProperties"] == {"accuracy": "0.97"}


# -- tuning trials ----------------------------------------------------------------------------


def _tuning_request(name: str) -> dict[str, Any]:
    definition = {k: v for k, v in _training_request("unused").items() if k not in ("TrainingJobName",)}
    definition.pop("HyperParameters")
    definition["StaticHyperParameters"] = {"epochs": "3"}
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:macro_f1"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {"Name": "learning_rate", "MinValue": "0.001", "MaxValue": "0.1"}
                ]
            },
        },
        "TrainingJobDefinition": definition,
    }


def _fake_tuning(request: dict[str, Any], ctx: Any) -> Any:
    from mlops_local.executors.base import JobResult

    for index, value in enumerate((0.9, 0.7), start=1):
        trial = _training_request(
            f"{request['HyperParameterTuningJobName']}-{index:03d}-abcd1234", learning_rate="0.01", epochs="3"
        )
        metrics = [{"MetricName": "validation:macro_f1", "Value": value, "Timestamp": 0}]
        ctx.record_training_job(
            trial, JobResult("Completed", describe_fields={"FinalMetricDataList": metrics})
        )
    return JobResult("Completed")


def test_stock_moto_cannot_list_the_trials_of_a_tuning_job(stock: None) -> None:
    sagemaker = _client("sagemaker")
    sagemaker.create_hyper_parameter_tuning_job(**_tuning_request("hpo"))
    with pytest.raises(NotImplementedError):
        sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="hpo")


def test_patched_tuning_job_lists_its_trials_with_objective_and_tuned_values(patched: MotoPatches) -> None:
    patched.jobs._executors["tuning"] = _fake_tuning  # a stand-in tuner that records two trials
    sagemaker = _client("sagemaker")
    sagemaker.create_hyper_parameter_tuning_job(**_tuning_request("hpo"))
    assert patched.jobs.wait_all(timeout=30)

    trials = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="hpo")[
        "TrainingJobSummaries"
    ]

    assert [t["TrainingJobName"] for t in trials] == ["hpo-001-abcd1234", "hpo-002-abcd1234"]
    assert [t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for t in trials] == [0.9, 0.7]
    assert trials[0]["TunedHyperParameters"] == {"learning_rate": "0.01"}
