"""Every handler under moto, with AWS resources built from template.yaml.

The table keeps the template's own KeySchema, AttributeDefinitions and TTL, so the tests and the
template cannot drift apart.
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops_common.adapters import aws
from mlops_common.adapters.run_ledger import RunLedger
from mlops_common.observability import logger
from mlops_common.settings import settings_for
from mlops_local.engine.moto_compat import WORKAROUNDS, check_moto_version
from mlops_local.engine.template import read_template
from tests.conftest import MOTO_KEEPS_BOTO3_SESSION, REPO_ROOT, TEMPLATE

REGION = "us-east-1"
TABLE = "pipeline-table-test"
DATA_BUCKET = "defect-mlops-data-dev"
ARTIFACTS_BUCKET = "defect-mlops-artifacts-dev"
ENDPOINT = "defect-classifier-dev"
MODEL_PACKAGE_GROUP = "defect-classifier-dev"


def _resource_properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    resource = template.get("Resources", {}).get(logical_id)
    if resource is None:
        raise AssertionError(f"template.yaml has no {logical_id} (docs/contracts.md names it)")
    return dict(resource.get("Properties", {}))


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

    def begin_run(self, name: str, trigger: str = "upload") -> dict[str, Any]:
        """What the execution's first state does: invoke begin_run with the ASL's payload."""
        payload = {"execution_name": name, "trigger": trigger, "reason": "test"}
        result: dict[str, Any] = handler_of("begin_run")(payload, FakeLambdaContext())
        return result

    def end_run(self, name: str, status: str = "SUCCEEDED") -> dict[str, Any]:
        """Stop execution ``name`` and deliver its status-change event to run_ended, as EventBridge does."""
        sfn = self.client("stepfunctions")
        execution_arn = self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
        if sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING":
            sfn.stop_execution(executionArn=execution_arn)
        event = {
            "version": "0",
            "id": f"status-{name}",
            "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states",
            "account": "123456789012",
            "time": "2026-11-12T10:07:00Z",
            "region": REGION,
            "resources": [execution_arn],
            "detail": {
                "executionArn": execution_arn,
                "stateMachineArn": self.state_machine_arn,
                "name": name,
                "status": status,
            },
        }
        result: dict[str, Any] = handler_of("run_ended")(event, FakeLambdaContext())
        return result

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


def _create_table(dynamodb: Any, template: dict[str, Any]) -> None:
    props = _resource_properties(template, "PipelineTable")
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


def _create_queue(sqs: Any, template: dict[str, Any]) -> str:
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
        "SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/sagemaker-execution",
        "MONITOR_IMAGE_URI": f"156813124566.dkr.ecr.{REGION}.amazonaws.com/sagemaker-model-monitor-analyzer",
        "RECORD_PREPROCESSOR_URI": f"s3://{ARTIFACTS_BUCKET}/code/test/monitoring/record_preprocessor.py",
        "MONITORING_SCHEDULE_NAME": "defect-classifier-dev-data-quality",
        "DRIFT_ALARM_NAME": "defect-mlops-drift-dev",
        # Settled at once: a test's BeginRun claims what is pending without waiting.
        "TRIGGER_QUIET_SECONDS": "0",
        "DRIFT_COOLDOWN_MINUTES": "60",
    }.items():
        monkeypatch.setenv(name, value)
    # The handlers' clients are still made again per test (reset_clients), as at a cold start.
    with mock_aws(config=MOTO_KEEPS_BOTO3_SESSION):
        aws.reset_clients()
        settings_for.cache_clear()
        _handlers.clear()
        template = read_template(TEMPLATE)
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
        _handlers.clear()


# The handler modules of the running test, each imported on its first invocation: a cold start.
_handlers: dict[str, ModuleType] = {}
_handlers_lock = threading.Lock()


def load_handler(function_name: str) -> ModuleType:
    """``functions/<name>/app.py`` as a module of its own (every function's module is ``app``).

    Imported on first use in each test, as Lambda's init does: a handler reads its settings at
    import, so this must happen after ``stack`` has set the environment.
    """
    with _handlers_lock:  # the drift storm's threads may all be first
        if function_name not in _handlers:
            path = REPO_ROOT / "functions" / function_name / "app.py"
            spec = importlib.util.spec_from_file_location(f"{function_name}_app", path)
            assert spec is not None
            assert spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            _handlers[function_name] = module
        return _handlers[function_name]


def handler_of(function_name: str) -> Callable[[Any, Any], Any]:
    """The function's ``lambda_handler``, cold-started by the test's first call."""

    def invoke(event: Any, context: Any) -> Any:
        return load_handler(function_name).lambda_handler(event, context)

    return invoke


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The JSON log lines Powertools writes during the test, parsed."""
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    captured = io.StringIO()
    previous = handler.setStream(captured)

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in captured.getvalue().splitlines() if line.strip()]

    yield lines
    handler.setStream(previous)


@pytest.fixture
def atomic_dynamodb() -> Iterator[None]:
    """Make moto's DynamoDB writes atomic across threads, as DynamoDB's conditional writes are.

    moto checks a condition and then writes without a lock, so concurrent callers could both
    pass a condition that real DynamoDB would let only one of them pass.
    """
    workaround = WORKAROUNDS["dynamodb_writes_not_atomic"]
    check_moto_version([workaround])
    workaround.apply()
    yield
    workaround.undo()


@pytest.fixture
def two_callers_at_the_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two callers reach the one-run lease together: only DynamoDB's conditional write decides.

    A barrier, not a sleep: both threads are inside ``take_lease`` at the same moment.
    """
    at_the_lease = threading.Barrier(2, timeout=30)
    original = RunLedger.take_lease

    def take_lease_together(self: RunLedger, *args: Any, **kwargs: Any) -> bool:
        at_the_lease.wait()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RunLedger, "take_lease", take_lease_together)
