"""Calling a model's serving functions as SageMaker's inference toolkit calls them."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest

from mlops_local.executors.serving import InvocationError, ModelHandler


class Refused(Exception):
    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason


def handler_of(**functions: Any) -> ModelHandler:
    """A ModelHandler over a serving module made of ``functions``."""
    module = types.ModuleType("stand_in_inference")
    defaults = {
        "input_fn": lambda body, content_type: body,
        "predict_fn": lambda data, model: {"echo": data.decode()},
        "output_fn": lambda prediction, accept: '{"ok": true}',
    }
    for name, function in {**defaults, **functions}.items():
        setattr(module, name, function)
    return ModelHandler(model_data_url="", model_dir=Path("."), module=module, model=None)


def test_input_fn_that_takes_a_context_sees_the_request_accept_before_prediction():
    predicted: list[Any] = []

    def input_fn(body, content_type, context):
        accept = context.request_processor[0].get_request_properties()["Accept"]
        if accept != "application/json":
            raise Refused(406, f"cannot answer with {accept}")
        return body

    handler = handler_of(input_fn=input_fn, predict_fn=lambda data, model: predicted.append(data))

    with pytest.raises(InvocationError) as refused:
        handler.invoke(b"body", "image/png", "text/csv")

    assert refused.value.status_code == 406
    assert predicted == []


@pytest.mark.parametrize("accept", [None, "", "*/*"])
def test_missing_or_wildcard_accept_reaches_output_fn_as_json(accept):
    seen: list[str] = []
    handler = handler_of(output_fn=lambda prediction, accept: seen.append(accept) or "{}")

    handler.invoke(b"body", "image/png", accept)

    assert seen == ["application/json"]


def test_response_content_type_is_the_one_output_fn_names():
    handler = handler_of(output_fn=lambda prediction, accept: ("a,b", "text/csv"))

    assert handler.invoke(b"body", "image/png", "text/csv") == (b"a,b", "text/csv")


@pytest.mark.parametrize("accept", ["application/*", "text/html, application/json;q=0.9"])
def test_response_content_type_is_never_copied_from_the_accept(accept):
    _, content_type = handler_of().invoke(b"body", "image/png", accept)

    assert content_type == "application/json"


def test_handler_failure_is_a_500_with_its_reason():
    def predict_fn(data, model):
        raise RuntimeError("weights are missing")

    with pytest.raises(InvocationError) as failed:
        handler_of(predict_fn=predict_fn).invoke(b"body", "image/png")

    assert failed.value.status_code == 500
    assert "weights are missing" in failed.value.reason
