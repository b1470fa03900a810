"""Each state machine's role allows every action its definition calls, including what .sync needs."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from typing import Any

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.infra

STATE_MACHINES = ("TrainingPipelineStateMachine", "BatchInferenceStateMachine")

# What Step Functions calls for an optimised .sync integration, besides the start call itself.
SYNC_ACTIONS = {
    "glue:startJobRun": ["glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
    "sagemaker:createHyperParameterTuningJob": [
        "sagemaker:DescribeHyperParameterTuningJob",
        "sagemaker:StopHyperParameterTuningJob",
        "sagemaker:AddTags",
    ],
    "sagemaker:createTrainingJob": [
        "sagemaker:DescribeTrainingJob",
        "sagemaker:StopTrainingJob",
        "sagemaker:AddTags",
    ],
    "sagemaker:createProcessingJob": [
        "sagemaker:DescribeProcessingJob",
        "sagemaker:StopProcessingJob",
        "sagemaker:AddTags",
    ],
    "sagemaker:createTransformJob": [
        "sagemaker:DescribeTransformJob",
        "sagemaker:StopTransformJob",
        "sagemaker:AddTags",
    ],
}
SYNC_MANAGED_RULES = {
    "sagemaker:createHyperParameterTuningJob": "StepFunctionsGetEventsForSageMakerTuningJobsRule",
    "sagemaker:createTrainingJob": "StepFunctionsGetEventsForSageMakerTrainingJobsRule",
    "sagemaker:createProcessingJob": "StepFunctionsGetEventsForSageMakerProcessingJobsRule",
    "sagemaker:createTransformJob": "StepFunctionsGetEventsForSageMakerTransformJobsRule",
}
OPTIMISED_ACTIONS = {"lambda:invoke": "lambda:InvokeFunction", "sns:publish": "sns:Publish"}
PASSES_THE_SAGEMAKER_ROLE = {
    "sagemaker:createHyperParameterTuningJob",
    "sagemaker:createTrainingJob",
    "sagemaker:createProcessingJob",
    "sagemaker:createModel",
}


def required_permissions(resource: str) -> tuple[list[str], str | None]:
    """IAM actions and the managed events rule (if any) that one Task resource ARN needs."""
    integration = re.sub(r"^arn:\$\{Partition\}:states:::", "", resource)
    is_sync = integration.endswith(".sync")
    integration = integration.removesuffix(".sync")
    if integration.startswith("aws-sdk:"):
        service, api = integration.removeprefix("aws-sdk:").split(":")
        return [f"{service}:{api[0].upper()}{api[1:]}"], None
    if integration in OPTIMISED_ACTIONS:
        return [OPTIMISED_ACTIONS[integration]], None
    service, api = integration.split(":")
    actions = [f"{service}:{api[0].upper()}{api[1:]}"]
    if is_sync:
        actions += SYNC_ACTIONS[integration]
    if integration in PASSES_THE_SAGEMAKER_ROLE:
        actions.append("iam:PassRole")
    return actions, SYNC_MANAGED_RULES.get(integration) if is_sync else None


def _statements(template: dict[str, Any], state_machine: str) -> list[dict[str, Any]]:
    role_id = template["Resources"][state_machine]["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = template["Resources"][role_id]["Properties"]["Policies"]
    return [s for p in policies for s in p["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _allows(statements: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [s for s in statements if any(fnmatchcase(action, pattern) for pattern in _as_list(s["Action"]))]


def _task_resources(state_machine: str, template: dict[str, Any]) -> set[str]:
    uri = template["Resources"][state_machine]["Properties"]["DefinitionUri"]
    asl = json.loads((REPO_ROOT / uri).read_text())
    return {state["Resource"] for state in asl["States"].values() if state["Type"] == "Task"}


@pytest.mark.parametrize("state_machine", STATE_MACHINES)
def test_role_allows_every_action_the_definition_calls(template, state_machine):
    statements = _statements(template, state_machine)
    missing = {
        (resource, action)
        for resource in _task_resources(state_machine, template)
        for action in required_permissions(resource)[0]
        if not _allows(statements, action)
    }
    assert missing == set()


@pytest.mark.parametrize("state_machine", STATE_MACHINES)
def test_role_may_manage_the_sync_managed_rules(template, state_machine):
    statements = _statements(template, state_machine)
    for resource in _task_resources(state_machine, template):
        rule = required_permissions(resource)[1]
        if rule is None:
            continue
        for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
            resources = json.dumps([s["Resource"] for s in _allows(statements, action)])
            assert f"rule/{rule}" in resources, (resource, action)


@pytest.mark.parametrize("state_machine", STATE_MACHINES)
def test_pass_role_is_scoped_to_sagemaker(template, state_machine):
    for statement in _allows(_statements(template, state_machine), "iam:PassRole"):
        assert statement["Resource"] == {"Fn::GetAtt": ["SageMakerExecutionRole", "Arn"]}
        assert statement["Condition"]["StringEquals"]["iam:PassedToService"]


@pytest.mark.parametrize("state_machine", STATE_MACHINES)
def test_no_wildcard_actions(template, state_machine):
    for statement in _statements(template, state_machine):
        assert all(action != "*" and not action.endswith(":*") for action in _as_list(statement["Action"]))


def test_required_permissions_of_a_sync_training_job():
    actions, rule = required_permissions("arn:${Partition}:states:::sagemaker:createTrainingJob.sync")
    assert actions == [
        "sagemaker:CreateTrainingJob",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:StopTrainingJob",
        "sagemaker:AddTags",
        "iam:PassRole",
    ]
    assert rule == "StepFunctionsGetEventsForSageMakerTrainingJobsRule"
