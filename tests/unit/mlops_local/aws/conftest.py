"""Fixtures: a small SAM stack (``fixture_stack/``) provisioned in a LocalRuntime with fake executors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlops_local.executors.base import ExecutionContext, JobResult
from mlops_local.executors.endpoint import DeploymentFailed
from mlops_local.runtime import LocalRuntime

FIXTURE_STACK = Path(__file__).parent / "fixture_stack"
FIXTURE_TEMPLATE = FIXTURE_STACK / "template.yaml"


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
    """Deploys instantly; fails the deployments whose config name contains 'broken'."""

    def __init__(self) -> None:
        self.deployed: dict[str, str] = {}
        self.variants: dict[str, list[dict[str, Any]]] = {}

    def deploy(
        self, endpoint_name: str, config_name: str, variants: Any, data_capture_config: Any = None
    ) -> str:
        if "broken" in config_name:
            raise DeploymentFailed("health check of the new variant failed")
        self.deployed[endpoint_name] = config_name
        self.variants[endpoint_name] = list(variants)
        return f"http://127.0.0.1:0/{endpoint_name}"

    def stop_all(self) -> None:
        self.deployed.clear()


@pytest.fixture
def endpoint_host() -> FakeEndpointHost:
    return FakeEndpointHost()


@pytest.fixture
def runtime(tmp_path: Path, endpoint_host: FakeEndpointHost) -> Iterator[LocalRuntime]:
    """A started runtime over the fixture stack (batching window 60 s x 0.01 = 0.6 s)."""
    local = LocalRuntime(
        repo_root=FIXTURE_STACK,
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
