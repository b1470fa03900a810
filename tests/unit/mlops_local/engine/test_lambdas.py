"""In-process Lambda: each invocation has its function's environment, role credentials and cold starts."""

from __future__ import annotations

from pathlib import Path

from mlops_local.engine.lambdas import InvokeRefusal, LambdaFunction, LambdaRegistry

HANDLER = """
import os

SETTING_AT_COLD_START = os.environ.get("SETTING")


def lambda_handler(event, context):
    return {"setting": SETTING_AT_COLD_START, "access_key": os.environ.get("AWS_ACCESS_KEY_ID")}
"""


def registry_with_function(tmp_path: Path, **credentials: str) -> LambdaRegistry:
    (tmp_path / "app.py").write_text(HANDLER, encoding="utf-8")
    registry = LambdaRegistry()
    registry.register(
        LambdaFunction(
            "Fn",
            "fn",
            "arn:aws:lambda:us-east-1:123456789012:function:fn",
            "app.lambda_handler",
            tmp_path,
            environment={"SETTING": "a"},
            credentials=credentials,
        )
    )
    return registry


def test_a_configuration_update_is_seen_from_the_next_cold_start(tmp_path: Path) -> None:
    registry = registry_with_function(tmp_path)
    assert registry.invoke("fn", {}).payload["setting"] == "a"
    previous = registry.update_environment("fn", {"SETTING": "b"})
    assert previous == {"SETTING": "a"}
    assert registry.invoke("fn", {}).payload["setting"] == "b"


def test_the_handler_runs_with_its_role_credentials(tmp_path: Path) -> None:
    registry = registry_with_function(tmp_path, AWS_ACCESS_KEY_ID="ASIAFUNCTIONROLE0001")
    assert registry.invoke("fn", {}).payload["access_key"] == "ASIAFUNCTIONROLE0001"


def test_a_refusal_before_the_handler_is_an_api_error_not_a_function_error(tmp_path: Path) -> None:
    registry = registry_with_function(tmp_path)
    registry.before_invoke = lambda function: InvokeRefusal(502, "KMSAccessDeniedException", "no key")
    outcome = registry.invoke("fn", {})
    assert outcome.refusal == InvokeRefusal(502, "KMSAccessDeniedException", "no key")
    assert outcome.function_error is None
    assert outcome.failed
