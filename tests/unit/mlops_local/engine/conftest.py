"""Fixtures: a small SAM stack (``fixture_stack/``) provisioned in a LocalRuntime with fake executors,
and stock moto with any one workaround or emulation applied (``moto_compat/``, ``emulation/``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops_local.engine.emulation import EMULATIONS, Emulation, LocalServices
from mlops_local.engine.jobs import EndpointLifecycle, JobLifecycle
from mlops_local.engine.lambdas import LambdaFunction, LambdaRegistry
from mlops_local.engine.moto_compat import WORKAROUNDS, Workaround
from mlops_local.executors.base import ExecutionContext, JobResult
from mlops_local.executors.endpoint import DeploymentFailed
from mlops_local.executors.faults import FaultPlan
from mlops_local.runtime import LocalRuntime
from tests.conftest import MOTO_KEEPS_BOTO3_SESSION

FIXTURE_STACK = Path(__file__).parent / "fixture_stack"
FIXTURE_TEMPLATE = FIXTURE_STACK / "template.yaml"
ROLE = "arn:aws:iam::123456789012:role/r"
MOCK_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
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


def client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1")


def run_state_machine(
    definition: dict[str, Any], execution_input: dict[str, Any] | None = None, *, name: str | None = None
) -> dict[str, Any]:
    """Create a state machine, run it once, wait; return DescribeExecution."""
    sfn = client("stepfunctions")
    arn = sfn.create_state_machine(
        name=f"m{time.monotonic_ns()}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    named = {"name": name} if name else {}
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(execution_input or {}), **named)[
        "executionArn"
    ]
    deadline = time.monotonic() + 60
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "execution did not finish"
        time.sleep(0.1)
    return dict(described)


def task(resource: str, parameters: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A one-state machine: the Task ``resource`` with ``parameters``."""
    return {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True, **extra}
        },
    }


def training_request(name: str, **hp: str) -> dict[str, Any]:
    """A CreateTrainingJob request (``TRAINING`` with its paths filled in)."""
    request = {k.removesuffix(".$"): v for k, v in TRAINING.items()}
    return {**request, "TrainingJobName": name, "HyperParameters": hp}


def history(execution_arn: str) -> list[dict[str, Any]]:
    return list(client("stepfunctions").get_execution_history(executionArn=execution_arn)["events"])


def fake_training(request: dict[str, Any], ctx: ExecutionContext) -> JobResult:
    """Fails when the hyperparameters ask for it; otherwise completes with a model artefact."""
    ctx.progress("epoch 1/1")
    time.sleep(0.3)
    if request.get("HyperParameters", {}).get("fail") == "true":
        return JobResult("Failed", "AlgorithmError: the training script exited with status 1")
    output = request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
    return JobResult(
        "Completed",
        describe_fields={
            "ModelArtifacts": {
                "S3ModelArtifacts": f"{output}/{request['TrainingJobName']}/output/model.tar.gz"
            }
        },
    )


def fake_glue(job: dict[str, Any], arguments: dict[str, str], ctx: ExecutionContext) -> JobResult:
    if arguments.get("--fail") == "true":
        return JobResult("Failed", "AnalysisException: path does not exist")
    return JobResult("Completed")


class FakeEndpointHost:
    """Deploys instantly; fails the deployments whose config name contains 'broken'.

    Updates are staged beside the serving config and shifted step by step: ``shares`` records the
    share each step gave the new fleet, ``rolled_back`` the configs an update dropped.
    """

    def __init__(self) -> None:
        self.deployed: dict[str, str] = {}
        self.variants: dict[str, list[dict[str, Any]]] = {}
        self.staged: dict[str, str] = {}
        self.shares: dict[str, list[float]] = {}
        self.rolled_back: list[str] = []

    def deploy(
        self, endpoint_name: str, config_name: str, variants: Any, data_capture_config: Any = None
    ) -> str:
        if "broken" in config_name:
            raise DeploymentFailed("health check of the new variant failed")
        self.deployed[endpoint_name] = config_name
        self.variants[endpoint_name] = list(variants)
        return f"http://127.0.0.1:0/{endpoint_name}"

    def stage(
        self, endpoint_name: str, config_name: str, variants: Any, data_capture_config: Any = None
    ) -> None:
        if "broken" in config_name:
            raise DeploymentFailed("health check of the new variant failed")
        self.staged[endpoint_name] = config_name
        self.variants[endpoint_name] = list(variants)
        self.shares[endpoint_name] = []

    def shift(self, endpoint_name: str, share: float) -> None:
        self.shares[endpoint_name].append(share)

    def commit(self, endpoint_name: str) -> None:
        self.deployed[endpoint_name] = self.staged.pop(endpoint_name)

    def discard(self, endpoint_name: str) -> None:
        self.rolled_back.append(self.staged.pop(endpoint_name))

    def delete(self, endpoint_name: str) -> None:
        self.deployed.pop(endpoint_name, None)

    def stop_all(self) -> None:
        self.deployed.clear()


@pytest.fixture
def endpoint_host() -> FakeEndpointHost:
    return FakeEndpointHost()


@pytest.fixture
def runtime(tmp_path: Path, endpoint_host: FakeEndpointHost) -> Iterator[LocalRuntime]:
    """A started runtime over the fixture stack (batching window 60 s x 0.01 = 0.6 s)."""
    local = LocalRuntime(
        project_root=FIXTURE_STACK,
        template=FIXTURE_TEMPLATE,
        run_dir=tmp_path / "run",
        time_factor=0.01,
        executors={"training": fake_training, "glue": fake_glue},
        endpoint_host=endpoint_host,
        package_code=False,
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
def stock() -> Iterator[None]:
    """moto as released: no workaround, no emulation."""
    leftover = [p.name for p in (*WORKAROUNDS.values(), *EMULATIONS.values()) if p.applied]
    assert leftover == [], f"still applied by an earlier test: {leftover}"
    # The session outlives the test: the emulations' session hooks are unregistered when each is
    # undone, and the check above fails a test that follows one left applied.
    with mock_aws(config={**MOCK_CONFIG, **MOTO_KEEPS_BOTO3_SESSION}):
        yield


@pytest.fixture
def services(stock: None, tmp_path: Path, endpoint_host: FakeEndpointHost) -> LocalServices:
    """What the emulations run on: one Lambda function (``flaky``), fake executors, a fault plan."""
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
        client=client,
        run_dir=tmp_path,
        project_root=tmp_path,
        faults=faults,
        executors={"training": fake_training, "glue": fake_glue},
    )
    return LocalServices(
        lambdas=registry,
        jobs=jobs,
        endpoints=EndpointLifecycle(host=endpoint_host, client=client),
        should_throttle=lambda service, operation: faults.take_throttle(operation),
    )


@pytest.fixture
def apply(services: LocalServices) -> Iterator[Callable[..., None]]:
    """Applies the given workarounds and emulations on stock moto; undoes them after the test."""
    applied: list[Workaround | Emulation] = []

    def apply_patches(*patches: Workaround | Emulation) -> None:
        for patch in patches:
            if isinstance(patch, Workaround):
                patch.apply()
            else:
                patch.apply(services)
            applied.append(patch)

    yield apply_patches
    for patch in reversed(applied):
        patch.undo()
