"""IAM enforcement: calls made as a role are decided by its live policies and the key policy."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mlops_local.engine.emulation import lambda_invoke
from mlops_local.engine.emulation.iam_enforcement import EMULATION
from mlops_local.engine.emulation.registry import LocalServices
from mlops_local.engine.iam.facts import StackFacts
from mlops_local.engine.iam.principals import RoleSession, credentials_for
from mlops_local.engine.moto_compat import WORKAROUNDS
from tests.unit.mlops_local.engine.conftest import client, history, task

ACCOUNT = "123456789012"
TRUST = json.dumps(
    {
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]
    }
)


def role(name: str, *statements: dict[str, Any]) -> str:
    arn: str = client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    if statements:
        put_policy(name, *statements)
    return arn


def put_policy(role_name: str, *statements: dict[str, Any]) -> None:
    document = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    client("iam").put_role_policy(RoleName=role_name, PolicyName="inline", PolicyDocument=document)


def as_role(role_arn: str, service: str, session: str = "fn") -> Any:
    credentials = credentials_for(RoleSession(role_arn, session)).as_client_arguments()
    return boto3.client(service, region_name="us-east-1", **credentials)


def queue(name: str, **attributes: str) -> tuple[str, str]:
    url = client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"


@pytest.fixture
def enforced(apply: Callable[..., None], services: LocalServices) -> LocalServices:
    services.stack_facts = StackFacts()
    apply(EMULATION)
    return services


def test_stock_moto_lets_a_role_without_policies_do_anything(stock: None) -> None:
    url, _ = queue("q")
    nobody = role("nobody")
    as_role(nobody, "sqs").send_message(QueueUrl=url, MessageBody="x")  # AWS: AccessDenied


def test_the_emulation_alone_refuses_what_the_role_does_not_allow(enforced: LocalServices) -> None:
    allowed_url, allowed_arn = queue("allowed")
    other_url, other_arn = queue("other")
    arn = role("sender", {"Effect": "Allow", "Action": "sqs:SendMessage*", "Resource": allowed_arn})
    sqs = as_role(arn, "sqs", session="stack-Sender")
    sqs.send_message(QueueUrl=allowed_url, MessageBody="x")
    with pytest.raises(ClientError) as refused:
        sqs.send_message(QueueUrl=other_url, MessageBody="x")
    assert refused.value.response["Error"] == {
        "Code": "AccessDenied",
        "Message": (
            f"User: arn:aws:sts::{ACCOUNT}:assumed-role/sender/stack-Sender is not authorized to perform: "
            f"sqs:SendMessage on resource: {other_arn} because no identity-based policy allows the "
            "sqs:SendMessage action"
        ),
    }
    assert [d.request.action for d in enforced.iam_authority.denials] == ["sqs:SendMessage"]
    assert client("sqs").receive_message(QueueUrl=other_url).get("Messages") is None  # nothing was sent


def test_a_policy_changed_through_iam_takes_effect_at_once(enforced: LocalServices) -> None:
    url, arn_of_queue = queue("q")
    arn = role("r", {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": arn_of_queue})
    sqs = as_role(arn, "sqs")
    sqs.send_message(QueueUrl=url, MessageBody="x")
    put_policy("r", {"Effect": "Deny", "Action": "sqs:*", "Resource": "*"})
    with pytest.raises(ClientError, match="with an explicit deny in an identity-based policy"):
        sqs.send_message(QueueUrl=url, MessageBody="x")


def test_an_encrypted_queue_needs_the_key_too_and_the_key_policy_decides_with_iam(
    enforced: LocalServices,
) -> None:
    root_policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
    }
    key = client("kms").create_key(Policy=json.dumps(root_policy))["KeyMetadata"]["Arn"]
    url, queue_arn = queue("secret", KmsMasterKeyId=key)
    enforced.stack_facts = StackFacts(queue_keys={"secret": key})
    arn = role("producer", {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn})
    sqs = as_role(arn, "sqs")
    with pytest.raises(ClientError) as refused:
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert "kms:GenerateDataKey on resource: " + key in refused.value.response["Error"]["Message"]
    put_policy(
        "producer",
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn},
        {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": key},
    )
    sqs.send_message(QueueUrl=url, MessageBody="x")


def test_a_key_policy_without_the_account_refuses_what_iam_allows(enforced: LocalServices) -> None:
    services_only = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
    }
    key = client("kms").create_key(Policy=json.dumps(services_only))["KeyMetadata"]["Arn"]
    arn = role("user", {"Effect": "Allow", "Action": "kms:*", "Resource": "*"})
    with pytest.raises(ClientError, match="no resource-based policy allows"):
        as_role(arn, "kms").encrypt(KeyId=key, Plaintext=b"x")


def test_a_function_whose_role_cannot_decrypt_its_environment_is_not_invoked(
    apply: Callable[..., None], services: LocalServices
) -> None:
    key = client("kms").create_key()["KeyMetadata"]["Arn"]
    function = services.lambdas.find("flaky")
    function.role_arn, function.kms_key_arn = role("flaky-role"), key
    services.stack_facts = StackFacts()
    apply(lambda_invoke.EMULATION, EMULATION)
    with pytest.raises(ClientError) as refused:
        client("lambda").invoke(FunctionName="flaky", Payload=b"{}")
    error = refused.value.response["Error"]
    assert error["Code"] == "KMSAccessDeniedException"
    assert error["Message"].startswith("Lambda was unable to decrypt the environment variables")
    assert (
        f"assumed-role/flaky-role/flaky is not authorized to perform: kms:Decrypt on resource: {key}"
        in error["Message"]
    )
    assert services.lambdas.invocations[-1][2].refusal is not None
    put_policy("flaky-role", {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key})
    assert client("lambda").invoke(FunctionName="flaky", Payload=b"{}")["StatusCode"] == 200


def test_the_state_machine_role_makes_the_task_calls(
    apply: Callable[..., None], services: LocalServices
) -> None:
    services.stack_facts = StackFacts()
    apply(lambda_invoke.EMULATION, EMULATION)
    sfn_role = role("machine-role")
    definition = task("arn:aws:states:::lambda:invoke", {"FunctionName": "flaky", "Payload": {}})
    sfn = client("stepfunctions")
    arn = sfn.create_state_machine(name="m", definition=json.dumps(definition), roleArn=sfn_role)[
        "stateMachineArn"
    ]
    described = run_state_machine_as(sfn, arn)
    assert described["status"] == "FAILED", described
    failed = [e for e in history(described["executionArn"]) if e["type"] == "TaskFailed"]
    details = failed[0]["taskFailedEventDetails"]
    cause = details["cause"]
    assert details["error"] == "Lambda.AccessDeniedException"
    assert "assumed-role/machine-role/StepFunctions is not authorized" in cause
    assert "lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:flaky" in cause


def run_state_machine_as(sfn: Any, state_machine_arn: str) -> dict[str, Any]:
    execution = sfn.start_execution(stateMachineArn=state_machine_arn, input="{}")["executionArn"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError("execution did not finish")


# (workaround, task resource, task parameters, the IAM action its call needs)
INTEGRATIONS = {
    "sagemaker": (
        "sagemaker_sync_unsupported",
        "arn:aws:states:::sagemaker:createModel",
        {"ModelName": "m", "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/sm", "PrimaryContainer": {}},
        "sagemaker:CreateModel",
    ),
    "glue": (
        "glue_sync_interrupt_all",
        "arn:aws:states:::glue:startJobRun.sync",
        {"JobName": "j"},
        "glue:StartJobRun",
    ),
}


@pytest.mark.parametrize("service", sorted(INTEGRATIONS))
def test_the_workarounds_service_integrations_call_as_the_state_machine_role_too(
    apply: Callable[..., None], services: LocalServices, service: str
) -> None:
    workaround, resource, parameters, action = INTEGRATIONS[service]
    services.stack_facts = StackFacts()
    apply(WORKAROUNDS[workaround], EMULATION)
    sfn_role = role(f"machine-role-{service}")
    sfn = client("stepfunctions")
    arn = sfn.create_state_machine(
        name="m", definition=json.dumps(task(resource, parameters)), roleArn=sfn_role
    )["stateMachineArn"]
    described = run_state_machine_as(sfn, arn)
    assert described["status"] == "FAILED", described
    failed = [e for e in history(described["executionArn"]) if e["type"] == "TaskFailed"]
    cause = failed[0]["taskFailedEventDetails"]["cause"]
    assert f"/StepFunctions is not authorized to perform: {action}" in cause
