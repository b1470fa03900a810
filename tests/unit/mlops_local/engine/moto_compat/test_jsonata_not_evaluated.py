"""JSONata states: unevaluated by stock moto; evaluated, with Step Functions' functions, by the workaround."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from mlops_local.engine.moto_compat.context_start_time_not_a_string import (
    WORKAROUND as START_TIME_AS_TEXT,
)
from mlops_local.engine.moto_compat.jsonata_not_evaluated import WORKAROUND, evaluate
from tests.unit.mlops_local.engine.conftest import client, run_state_machine


def jsonata_machine(state: dict[str, Any]) -> dict[str, Any]:
    """A one-state JSONata machine."""
    return {"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": {**state, "End": True}}}


def output_of(state: dict[str, Any], execution_input: dict[str, Any] | None = None) -> Any:
    described = run_state_machine(jsonata_machine(state), execution_input)
    assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
    return json.loads(described["output"])


def test_stock_moto_evaluates_no_jsonata(stock: None) -> None:
    described = run_state_machine(jsonata_machine({"Type": "Pass", "Output": "{% 1 + 1 %}"}))
    assert described["status"] == "FAILED"
    assert "NoneType" in described.get("cause", "")


def test_the_workaround_alone_evaluates_variables_assigned_in_one_state_and_read_in_the_next(
    apply: Callable[..., None],
) -> None:
    apply(WORKAROUND)
    # A quote and a backslash in a string variable: moto inlines strings unescaped.
    awkward = 'a "quoted" \\ value'
    machine = {
        "QueryLanguage": "JSONata",
        "StartAt": "Remember",
        "States": {
            "Remember": {
                "Type": "Pass",
                "Assign": {"name": "{% $states.input.name %}", "n": 2},
                "Next": "Decide",
            },
            "Decide": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $n > 1 and $name = $states.input.name %}", "Next": "Use"}],
                "Default": "Wrong",
            },
            "Wrong": {"Type": "Fail", "Error": "WrongBranch"},
            "Use": {"Type": "Pass", "Output": {"name": "{% $name %}", "twice": "{% $n * 2 %}"}, "End": True},
        },
    }
    described = run_state_machine(
        machine,
        {"name": awkward},
    )
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"]) == {"name": awkward, "twice": 4}


def test_step_functions_functions_behave_as_documented(apply: Callable[..., None]) -> None:
    apply(WORKAROUND)
    output = output_of(
        {
            "Type": "Pass",
            "Output": {
                "md5": "{% $hash('arn:aws:sagemaker:us-east-1:1:model-package/g/3', 'MD5') %}",
                "uuid": "{% $uuid() %}",
                "chunks": "{% $partition([1, 2, 3], 2) %}",
                "range": "{% $range(0, 4, 2) %}",
                "parsed": "{% $parse('{\"a\": 1}') %}",
            },
        }
    )
    expected_md5 = hashlib.md5(b"arn:aws:sagemaker:us-east-1:1:model-package/g/3").hexdigest()
    assert output["md5"] == expected_md5
    assert uuid.UUID(output["uuid"]).version == 4
    assert output["chunks"] == [[1, 2], [3]]
    assert output["range"] == [0, 2, 4]
    assert output["parsed"] == {"a": 1}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # The expressions the state machines rely on, where JSONata implementations have differed.
        ("$substringBefore('2026-12-04T10:00:00.000Z', 'T')", "2026-12-04"),
        ("$merge([{'a': 1, 'b': 1}, {'b': 2}])", {"a": 1, "b": 2}),
        ("$merge([{'a': 1}, false ? {'b': 2} : {}])", {"a": 1}),
        ("'run-' & 7", "run-7"),
        ("$contains('Cannot create already existing model', 'already exist')", True),
        ("$exists({'a': null}.a)", True),
        ("$exists({}.a)", False),
        ("$string(0.5)", "0.5"),
        ("$string(10)", "10"),
        ("[1][0] = 1", True),
    ],
)
def test_expressions_the_machines_use(expression: str, expected: Any) -> None:
    assert evaluate(expression) == expected


def test_an_evaluation_error_is_a_query_evaluation_error(apply: Callable[..., None]) -> None:
    apply(WORKAROUND, START_TIME_AS_TEXT)
    described = run_state_machine(jsonata_machine({"Type": "Pass", "Output": "{% $number('seven') %}"}))
    assert described["status"] == "FAILED"
    assert described["error"] == "States.QueryEvaluationError"
    assert "$number('seven')" in described["cause"]


def test_an_undefined_result_fails_the_state_as_on_aws(apply: Callable[..., None]) -> None:
    apply(WORKAROUND)
    described = run_state_machine(
        jsonata_machine({"Type": "Pass", "Output": {"missing": "{% $states.input.nothing %}"}})
    )
    assert described["status"] == "FAILED"
    assert described["error"] == "States.QueryEvaluationError"
    assert "returned nothing (undefined)" in described["cause"]


def test_the_history_records_assigned_variables_as_json(apply: Callable[..., None]) -> None:
    apply(WORKAROUND)
    awkward = 'say "cheese"'
    machine = {"Type": "Pass", "Assign": {"caption": "{% $states.input.caption %}", "n": 3}}
    described = run_state_machine(jsonata_machine(machine), {"caption": awkward})
    assert described["status"] == "SUCCEEDED", described.get("cause")
    events = client("stepfunctions").get_execution_history(executionArn=described["executionArn"])["events"]
    (exited,) = [e["stateExitedEventDetails"] for e in events if "stateExitedEventDetails" in e]
    assigned = {name: json.loads(value) for name, value in exited["assignedVariables"].items()}
    assert assigned == {"caption": awkward, "n": 3}


def test_an_expression_sees_the_variables_it_names_and_not_the_others(apply: Callable[..., None]) -> None:
    apply(WORKAROUND)
    machine = {
        "QueryLanguage": "JSONata",
        "StartAt": "Remember",
        "States": {
            "Remember": {"Type": "Pass", "Assign": {"big": "{% [1..2000] %}", "small": 2}, "Next": "Use"},
            "Use": {
                "Type": "Pass",
                "Output": {
                    "small": "{% $small %}",
                    "local": "{% ($big2 := $small * 2; $big2) %}",
                    "count": "{% $count($big) %}",
                },
                "End": True,
            },
        },
    }
    described = run_state_machine(machine)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"]) == {"small": 2, "local": 4, "count": 2000}
