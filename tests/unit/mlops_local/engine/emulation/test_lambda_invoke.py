"""Lambda Invoke: moto echoes the payload without Docker; the emulation runs the real handler."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError

from mlops_local.engine.emulation.lambda_invoke import EMULATION
from tests.unit.mlops_local.engine.conftest import client, history, run_state_machine, task


def test_stock_lambda_invoke_only_echoes_the_payload(stock: None) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", "def lambda_handler(event, context):\n    raise ValueError('never runs')\n")
    role = client("iam").create_role(RoleName="lambda-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client("lambda").create_function(
        FunctionName="f",
        Runtime="python3.13",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": archive.getvalue()},
    )
    response = client("lambda").invoke(FunctionName="f", Payload=b'{"x": 1}')
    assert "FunctionError" not in response
    assert b'"x"' in response["Payload"].read()


def test_the_emulation_alone_returns_the_handler_result(apply: Callable[..., None]) -> None:
    apply(EMULATION)
    response = client("lambda").invoke(FunctionName="flaky", Payload=b'{"a": 1}')
    assert json.loads(response["Payload"].read())["input"] == {"a": 1}


def test_the_emulation_alone_lets_the_asl_catch_an_error_by_its_type_name(apply: Callable[..., None]) -> None:
    apply(EMULATION)
    definition = task(
        "arn:aws:states:::lambda:invoke",
        {"FunctionName": "flaky", "Payload.$": "$"},
        Catch=[{"ErrorEquals": ["DatasetNotUsable"], "Next": "Caught"}],
    )
    definition["States"]["Caught"] = {"Type": "Succeed"}
    described = run_state_machine(definition, {"raise": "DatasetNotUsable"})
    assert described["status"] == "SUCCEEDED"
    assert any(e["type"] == "SucceedStateEntered" for e in history(described["executionArn"]))


def test_an_unknown_function_is_resource_not_found(apply: Callable[..., None]) -> None:
    apply(EMULATION)
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        client("lambda").invoke(FunctionName="nope", Payload=b"{}")
