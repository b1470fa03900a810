"""API throttling: moto never throttles; the emulation answers ThrottlingException as the plan says."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from mlops_local.engine.emulation import LocalServices
from mlops_local.engine.emulation.throttling import EMULATION
from mlops_local.engine.moto_compat.sagemaker_sync_unsupported import WORKAROUND as SAGEMAKER_SYNC
from mlops_local.executors.faults import parse_fault_spec
from tests.unit.mlops_local.engine.conftest import ROLE, client, history, run_state_machine, task

MODEL = {"ModelName": "m", "ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": "img"}}


def _sagemaker_without_retries() -> Any:
    # botocore retries a throttled call by itself; one attempt shows what the API answered.
    return boto3.client("sagemaker", region_name="us-east-1", config=Config(retries={"max_attempts": 1}))


def test_stock_moto_never_throttles(services: LocalServices) -> None:
    services.jobs.faults.add(parse_fault_spec("throttle:CreateModel,count=1"))
    _sagemaker_without_retries().create_model(**MODEL)


def test_the_emulation_alone_throttles_the_planned_calls(
    apply: Callable[..., None], services: LocalServices
) -> None:
    apply(EMULATION)
    services.jobs.faults.add(parse_fault_spec("throttle:CreateModel,count=1"))
    sagemaker = _sagemaker_without_retries()
    with pytest.raises(ClientError, match="ThrottlingException"):
        sagemaker.create_model(**MODEL)
    sagemaker.create_model(**MODEL)


def test_throttling_is_absorbed_by_the_asl_retry(apply: Callable[..., None], services: LocalServices) -> None:
    apply(SAGEMAKER_SYNC, EMULATION)
    services.jobs.faults.add(parse_fault_spec("throttle:CreateModel,count=2"))
    definition = task(
        "arn:aws:states:::sagemaker:createModel",
        MODEL,
        Retry=[
            {
                "ErrorEquals": ["SageMaker.AmazonSageMakerException"],
                "IntervalSeconds": 1,
                "MaxAttempts": 3,
                "BackoffRate": 1.0,
            }
        ],
    )
    described = run_state_machine(definition)
    assert described["status"] == "SUCCEEDED"
    failures = [e for e in history(described["executionArn"]) if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failures] == [
        "SageMaker.AmazonSageMakerException"
    ] * 2


def test_without_a_plan_nothing_is_patched(apply: Callable[..., None], services: LocalServices) -> None:
    services.should_throttle = None
    apply(EMULATION)
    client("sagemaker").create_model(**MODEL)
