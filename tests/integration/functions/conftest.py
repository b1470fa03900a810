"""Every handler under moto, with AWS resources built from template.yaml.

The table keeps the template's own KeySchema, AttributeDefinitions and TTL, so the tests and the
template cannot drift apart. Until template.yaml exists the fixture falls back to the shapes in
docs/contracts.md.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops_common.adapters import aws
from mlops_common.settings import settings_for
from mlops_local.aws.template import read_template

ROOT = Path(__file__).parents[3]
EVENTS_DIR = ROOT / "tests" / "events"
REGION = "us-east-1"
TABLE = "pipeline-table-test"
DATA_BUCKET = "defect-mlops-data-dev"
ARTIFACTS_BUCKET = "defect-mlops-artifacts-dev"
ENDPOINT = "defect-classifier-dev"
MODEL_PACKAGE_GROUP = "defect-classifier-dev"

# The contract's table, used only while template.yaml does not exist yet.
_CONTRACT_TABLE: dict[str, Any] = {
    "KeySchema": [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ],
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ],
    "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
}


def load_template() -> dict[str, Any] | None:
    path = ROOT / "template.yaml"
    if not path.exists():
        return None
    return read_template(path)


def _resource_properties(template: dict[str, Any] | None, logical_id: str) -> dict[str, Any]:
    if template is None:
        return {}
    resource = template.get("Resources", {}).get(logical_id)
    if resource is None:
        raise AssertionError(f"template.yaml has no {logical_id} (docs/contracts.md names it)")
    return dict(resource.get("Properties", {}))


def load_event(name: str) -> Any:
    """A fresh copy of the real event shape ``tests/events/<name>.json``."""
    return json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(name="load_event")
def load_event_fixture() -> Callable[[str], Any]:
    return load_event


@dataclass
class Stack:
    """Names and clients of the mocked resources the handlers use."""

    table: str
    data_bucket: str
    artifacts_bucket: str
    topic_arn: str
    queue_url: str
    state_machine_arn: str

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION)

    def executions(self, status: str | None = None) -> list[dict[str, Any]]:
        kwargs = {"statusFilter": status} if status else {}
        return self.client("stepfunctions").list_executions(stateMachineArn=self.state_machine_arn, **kwargs)[
            "executions"
        ]

    def ledger_items(self, prefix: str) -> list[dict[str, Any]]:
        items = self.client("dynamodb").scan(TableName=self.table)["Items"]
        return [item for item in items if item["pk"]["S"].startswith(prefix)]


class FakeLambdaContext:
    function_name = "test-function"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:test-function"
    aws_request_id = "11111111-2222-3333-4444-555555555555"
    log_group_name = "/aws/lambda/test-function"
    log_stream_name = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def context() -> FakeLambdaContext:
    return FakeLambdaContext()


def _create_table(dynamodb: Any, template: dict[str, Any] | None) -> None:
    props = _resource_properties(template, "PipelineTable") or _CONTRACT_TABLE
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=props["KeySchema"],
        AttributeDefinitions=props["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
    )
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(
            TableName=TABLE,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )


def _create_queue(sqs: Any, template: dict[str, Any] | None) -> str:
    props = _resource_properties(template, "UploadEventsQueue")
    attributes = {
        name: str(props[name])
        for name in ("VisibilityTimeout", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds")
        if name in props and not isinstance(props[name], dict)
    }
    return str(sqs.create_queue(QueueName="upload-events", Attributes=attributes)["QueueUrl"])


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """Fresh mocked AWS per test, with the Lambda environment of docs/contracts.md."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "DefectMlopsTest",
        "TABLE_NAME": TABLE,
        "DATA_BUCKET": DATA_BUCKET,
        "ARTIFACTS_BUCKET": ARTIFACTS_BUCKET,
        "ENDPOINT_NAME": ENDPOINT,
        "MODEL_PACKAGE_GROUP": MODEL_PACKAGE_GROUP,
        "DEPLOY_ALARM_NAMES": "endpoint-errors,endpoint-latency",
        "KMS_KEY_ARN": f"arn:aws:kms:{REGION}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "TRIGGER_WINDOW_MINUTES": "15",
        "DRIFT_COOLDOWN_MINUTES": "60",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        aws.reset_clients()
        settings_for.cache_clear()
        template = load_template()
        _create_table(boto3.client("dynamodb", region_name=REGION), template)
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (DATA_BUCKET, ARTIFACTS_BUCKET):
            s3.create_bucket(Bucket=bucket)
        queue_url = _create_queue(boto3.client("sqs", region_name=REGION), template)
        topic_arn = boto3.client("sns", region_name=REGION).create_topic(Name="notifications")["TopicArn"]
        iam = boto3.client("iam", region_name=REGION)
        role_arn = iam.create_role(
            RoleName="states", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
        )["Role"]["Arn"]
        # The handlers only start and list executions: a one-state machine stands in for the ASL.
        state_machine_arn = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name="training-pipeline",
            definition=json.dumps({"StartAt": "Run", "States": {"Run": {"Type": "Pass", "End": True}}}),
            roleArn=role_arn,
        )["stateMachineArn"]
        monkeypatch.setenv("TOPIC_ARN", topic_arn)
        monkeypatch.setenv("TRAINING_STATE_MACHINE_ARN", state_machine_arn)
        yield Stack(TABLE, DATA_BUCKET, ARTIFACTS_BUCKET, topic_arn, queue_url, state_machine_arn)
        aws.reset_clients()
        settings_for.cache_clear()


_handlers: dict[str, ModuleType] = {}


def load_handler(function_name: str) -> ModuleType:
    """``functions/<name>/app.py`` as a module of its own (every function's module is ``app``)."""
    if function_name not in _handlers:
        path = ROOT / "functions" / function_name / "app.py"
        spec = importlib.util.spec_from_file_location(f"{function_name}_app", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _handlers[function_name] = module
    module = _handlers[function_name]
    cached = getattr(module, "_idempotent_handle", None)
    if cached is not None:
        cached.cache_clear()  # its persistence layer holds a client of the previous mock
    return module


@pytest.fixture
def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto's DynamoDB writes atomic across threads, as DynamoDB's conditional writes are.

    moto checks a condition and then writes without a lock, so concurrent callers could both
    pass a condition that real DynamoDB would let only one of them pass.
    """
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for method in ("put_item", "update_item", "delete_item"):
        original = getattr(DynamoDBBackend, method)

        def locked(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(*args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, method, locked)
