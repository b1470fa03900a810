"""The SAM-translated template (what CloudFormation and the local runtime see) holds every resource."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest
from samtranslator.internal.managed_policies import get_bundled_managed_policy_map
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

pytestmark = pytest.mark.infra

# docs/contracts.md, "Template": the names other parts rely on.
CONTRACT_LOGICAL_IDS = {
    "DataBucket",
    "ArtifactsBucket",
    "PipelineKey",
    "PipelineTable",
    "NotificationsTopic",
    "UploadEventsQueue",
    "UploadEventsDLQ",
    "IncomingObjectRule",
    "TrainingPipelineStateMachine",
    "BatchInferenceStateMachine",
    "PrepareDatasetJob",
    "GlueJobRole",
    "SageMakerExecutionRole",
    "ModelPackageGroup",
    "RetrainSchedule",
    "BatchInferenceSchedule",
    "MonitoringViolationRule",
    "DriftAlarmRule",
    "EndpointErrorAlarm",
    "EndpointLatencyAlarm",
    "StartPipelineFunction",
    "HandleDriftFunction",
    "CheckDatasetFunction",
    "ResolveChampionFunction",
    "EvaluateModelFunction",
    "DeployModelFunction",
    "EnsureMonitoringFunction",
    "BeginRunFunction",
    "RunEndedFunction",
    "TrainingRunEndedRule",
    "ReconcileRunsRule",
}
CONTRACT_PARAMETERS = {
    "EnvironmentName",
    "NormalClassName",
    "ImageSize",
    "MinImagesPerClass",
    "ValidationFraction",
    "TestFraction",
    "GlueWorkerType",
    "GlueNumberOfWorkers",
    "GateMinAccuracy",
    "GateMinDefectRecall",
    "GateChampionMargin",
    "TrainingInstanceType",
    "UseSpotTraining",
    "MaxRuntimeSeconds",
    "MaxWaitSeconds",
    "EnableTuning",
    "TuningMaxJobs",
    "TuningMaxParallelJobs",
    "TuningObjectiveMetric",
    "TrainingEpochs",
    "ProcessingInstanceType",
    "DeployEndpoint",
    "EndpointInstanceType",
    "EndpointInstanceCount",
    "DataCapturePercent",
    "DeploymentStyle",
    "CanaryTrafficPercent",
    "CanaryWaitSeconds",
    "LinearStepPercent",
    "LinearWaitSeconds",
    "RollingBatchPercent",
    "RollingWaitSeconds",
    "RollbackBatchPercent",
    "AutoscalingMaxInstanceCount",
    "AutoscalingTargetInvocations",
    "AutoscalingScaleInCooldownSeconds",
    "AutoscalingScaleOutCooldownSeconds",
    "TransformInstanceType",
    "TriggerBatchWindowSeconds",
    "TriggerBatchSize",
    "TriggerQuietSeconds",
    "TriggerMaxDelaySeconds",
    "RunLeaseMinutes",
    "RetrainScheduleExpression",
    "RetrainScheduleState",
    "BatchScheduleExpression",
    "BatchScheduleState",
    "MonitoringScheduleExpression",
    "MonitoringInstanceType",
    "DriftThreshold",
    "DriftCooldownMinutes",
    "EndpointPollSeconds",
    "TrainingImageUri",
    "InferenceImageUri",
    "NotificationEmail",
    "VpcSubnetIds",
    "VpcSecurityGroupIds",
}
CONTRACT_ENVIRONMENT = {
    "ENVIRONMENT",
    "DATA_BUCKET",
    "ARTIFACTS_BUCKET",
    "TABLE_NAME",
    "TOPIC_ARN",
    "TRAINING_STATE_MACHINE_ARN",
    "MODEL_PACKAGE_GROUP",
    "ENDPOINT_NAME",
    "NORMAL_CLASS",
    "INCOMING_PREFIX",
    "TRIGGER_QUIET_SECONDS",
    "TRIGGER_MAX_DELAY_SECONDS",
    "RUN_LEASE_MINUTES",
    "MONITORING_SCHEDULE_NAME",
    "DRIFT_ALARM_NAME",
    "DRIFT_COOLDOWN_MINUTES",
    "GATE_MIN_ACCURACY",
    "GATE_MIN_DEFECT_RECALL",
    "GATE_CHAMPION_MARGIN",
    "MIN_IMAGES_PER_CLASS",
    "ENDPOINT_INSTANCE_TYPE",
    "ENDPOINT_INSTANCE_COUNT",
    "DATA_CAPTURE_PERCENT",
    "CANARY_TRAFFIC_PERCENT",
    "CANARY_WAIT_SECONDS",
    "DEPLOY_ALARM_NAMES",
    "SAGEMAKER_ROLE_ARN",
    "MONITORING_SCHEDULE_EXPRESSION",
    "MONITORING_INSTANCE_TYPE",
    "MONITOR_IMAGE_URI",
    "RECORD_PREPROCESSOR_URI",
    "KMS_KEY_ARN",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
}


def _with_packaged_code(sam: dict[str, Any]) -> dict[str, Any]:
    """Stand-in for `sam package`: local code and definition paths become S3 locations."""
    packaged = copy.deepcopy(sam)
    for resource in packaged["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://packaged-code/{properties[key].strip('/')}"
    return packaged


@pytest.fixture(scope="module")
def translated(template) -> dict[str, Any]:
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name="us-east-1"))
    return translator.translate(
        _with_packaged_code(template),
        parameter_values={
            "AWS::Region": "us-east-1",
            "AWS::Partition": "aws",
            "AWS::AccountId": "123456789012",
        },
        get_managed_policy_map=lambda: get_bundled_managed_policy_map("aws") or {},
    )


def test_every_contract_resource_survives_translation(translated):
    resources = translated["Resources"]
    assert CONTRACT_LOGICAL_IDS - set(resources) == set()
    assert any(name.startswith("CommonLayer") for name in resources)


def test_functions_run_python313_on_arm64_with_tracing_and_the_layer(translated):
    functions = {k: v for k, v in translated["Resources"].items() if v["Type"] == "AWS::Lambda::Function"}
    assert len(functions) == 12
    for name, function in functions.items():
        properties = function["Properties"]
        assert properties["Runtime"] == "python3.13", name
        assert properties["Architectures"] == ["arm64"], name
        assert properties["TracingConfig"] == {"Mode": "Active"}, name
        assert properties["Handler"] == "app.lambda_handler", name
        assert len(properties["Layers"]) == 1, name


def test_functions_get_the_contract_environment(translated):
    for name, resource in translated["Resources"].items():
        if resource["Type"] == "AWS::Lambda::Function":
            variables = resource["Properties"]["Environment"]["Variables"]
            assert CONTRACT_ENVIRONMENT - set(variables) == set(), name


def test_every_contract_parameter_exists_with_a_default(template):
    parameters = template["Parameters"]
    assert CONTRACT_PARAMETERS - set(parameters) == set()
    assert all("Default" in parameter for parameter in parameters.values())


def test_every_parameter_is_constrained(template):
    constraints = {"AllowedValues", "AllowedPattern", "MinValue", "MaxValue"}
    unconstrained = {name for name, p in template["Parameters"].items() if not constraints & set(p)}
    assert unconstrained == set()


def test_upload_queue_feeds_start_pipeline_in_batches(translated):
    mappings = [
        r["Properties"]
        for r in translated["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
    ]
    assert len(mappings) == 1
    assert mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mappings[0]["MaximumBatchingWindowInSeconds"] == {"Ref": "TriggerBatchWindowSeconds"}


def test_state_machines_log_everything_but_execution_data_and_trace(translated):
    for name in ("TrainingPipelineStateMachine", "BatchInferenceStateMachine"):
        properties = translated["Resources"][name]["Properties"]
        assert properties["LoggingConfiguration"]["Level"] == "ALL"
        assert properties["LoggingConfiguration"]["IncludeExecutionData"] is False
        assert properties["TracingConfiguration"] == {"Enabled": True}


def test_schedules_ship_disabled_with_retry_and_dead_letters(template):
    for name in ("RetrainSchedule", "BatchInferenceSchedule"):
        properties = template["Resources"][name]["Properties"]
        state_parameter = properties["State"]["Ref"]
        assert template["Parameters"][state_parameter]["Default"] == "DISABLED"
        assert "DeadLetterConfig" in properties["Target"]
        assert "RetryPolicy" in properties["Target"]


def test_only_uploads_under_incoming_trigger_the_pipeline(template):
    pattern = template["Resources"]["IncomingObjectRule"]["Properties"]["EventPattern"]
    assert pattern["detail"]["object"]["key"] == [{"prefix": "incoming/"}]
    assert pattern["detail-type"] == ["Object Created"]


def test_the_end_of_every_training_run_reaches_run_ended(template):
    pattern = template["Resources"]["TrainingRunEndedRule"]["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": "TrainingPipelineStateMachine"}]
    # RUNNING too: a redriven run takes the lease when it runs again.
    assert set(pattern["detail"]["status"]) == {"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
    targets = template["Resources"]["TrainingRunEndedRule"]["Properties"]["Targets"]
    assert [t["Arn"] for t in targets] == [{"Fn::GetAtt": ["RunEndedFunction", "Arn"]}]
    assert all("DeadLetterConfig" in t for t in targets)


def test_drift_rules_match_only_this_stacks_schedule_and_alarm(template):
    monitoring = template["Resources"]["MonitoringViolationRule"]["Properties"]["EventPattern"]
    (arn,) = monitoring["detail"]["MonitoringScheduleArn"]
    assert "${AWS::StackName}-defect-classifier-data-quality" in arn["equals-ignore-case"]["Fn::Sub"]
    alarm = template["Resources"]["DriftAlarmRule"]["Properties"]["EventPattern"]
    assert alarm["resources"] == [{"Fn::GetAtt": ["DriftAlarm", "Arn"]}]


# Where the stack's data lives: kept by `sam delete` and by an update that replaces them (README
# "Cleanup"); the key with them, or the kept data could not be read.
STATEFUL_TYPES = {"AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::KMS::Key"}


def test_stateful_resources_outlive_the_stack_and_their_replacement(translated):
    stateful = {
        name: resource
        for name, resource in translated["Resources"].items()
        if resource["Type"] in STATEFUL_TYPES
    }

    assert {"DataBucket", "ArtifactsBucket", "AccessLogsBucket", "PipelineTable", "PipelineKey"} <= set(
        stateful
    )
    assert {
        name: (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy"))
        for name, resource in stateful.items()
    } == dict.fromkeys(stateful, ("Retain", "Retain"))


def test_every_unsuccessful_run_of_either_pipeline_reaches_notify_failure(template):
    rule = template["Resources"]["PipelineFailedRule"]["Properties"]
    assert rule["EventPattern"]["detail"]["stateMachineArn"] == [
        {"Ref": "TrainingPipelineStateMachine"},
        {"Ref": "BatchInferenceStateMachine"},
    ]
    assert rule["EventPattern"]["detail"]["status"] == ["FAILED", "TIMED_OUT", "ABORTED"]
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["NotifyFailureFunction", "Arn"]}
    assert "DeadLetterConfig" in target
