"""The seams: what one side writes, the other reads under the same names.

The ASL against the Lambda functions' models (what a task sends, which fields of its answer the
machine reads), the model registry's metadata against resolve_champion, and one state's workflow
variable against the expressions that read it later. A rename on one side alone fails here, not in
a run on AWS.
"""

from __future__ import annotations

import importlib
import json
import re
import typing
from collections.abc import Iterator
from typing import Any

from mlops_common.models import ModelPackageMetadata, PipelineExecutionInput, TaskInput, TaskOutput
from tests.asl import jsonata, request
from tests.conftest import REPO_ROOT

FUNCTION_ARN = re.compile(r"\$\{(\w+)FunctionArn\}")
EXPRESSION = re.compile(r"\{%(.*?)%\}", re.DOTALL)
# `$variable.field` in an expression; `$states` is Step Functions' own, not a workflow variable.
FIELD_READ = re.compile(r"\$(?!states\b)(\w+)\.(\w+)")
# What a Catch's $states.errorOutput holds (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
ERROR_OUTPUT = frozenset({"Error", "Cause"})


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


def lambda_tasks(asl: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(state, function, state definition) of every Lambda task; the function is its folder name."""
    tasks = []
    for name, state in asl["States"].items():
        if state["Type"] == "Task" and state["Resource"].endswith(":lambda:invoke"):
            match = FUNCTION_ARN.fullmatch(request(state)["FunctionName"])
            assert match, f"{name}: FunctionName is not a ${{<Name>FunctionArn}} substitution"
            tasks.append((name, _snake(match[1]), state))
    return tasks


def service_contract(function: str) -> tuple[type[TaskInput] | None, type[TaskOutput]]:
    """The input and output models of ``mlops_common.services.<function>``, from its signature."""
    hints = typing.get_type_hints(
        getattr(importlib.import_module(f"mlops_common.services.{function}"), function)
    )
    output = hints.pop("return")
    inputs = [hint for hint in hints.values() if isinstance(hint, type) and issubclass(hint, TaskInput)]
    assert len(inputs) <= 1
    return (inputs[0] if inputs else None), output


def assignments(asl: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(where, variable, value template) of every Assign: states, Choice rules and Catchers."""
    for name, state in asl["States"].items():
        for variable, value in state.get("Assign", {}).items():
            yield name, variable, value
        for index, rule in enumerate(state.get("Choices", [])):
            for variable, value in rule.get("Assign", {}).items():
                yield f"{name} (rule {index + 1})", variable, value
        for catcher in state.get("Catch", []):
            for variable, value in catcher.get("Assign", {}).items():
                yield f"{name} (Catch)", variable, value


def variable_shapes(asl: dict[str, Any]) -> dict[str, list[tuple[str, frozenset[str] | None]]]:
    """For each workflow variable: who assigns it, with the keys each writes (None where the value
    is an expression whose keys the ASL does not name, such as a service's whole answer)."""
    shapes: dict[str, list[tuple[str, frozenset[str] | None]]] = {}
    for where, variable, value in assignments(asl):
        if isinstance(value, dict):
            keys: frozenset[str] | None = frozenset(value)
        elif jsonata(value) == "$states.errorOutput":
            keys = ERROR_OUTPUT
        else:
            keys = None
        shapes.setdefault(variable, []).append((where, keys))
    return shapes


def field_reads(asl: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(variable, field, reading state) of every ``$variable.field`` an expression reads."""
    reads = set()
    for name, state in asl["States"].items():
        for expression in EXPRESSION.findall(json.dumps(state)):
            reads |= {(match[1], match[2], name) for match in FIELD_READ.finditer(expression)}
    return reads


def payload_reads(asl: dict[str, Any], state: dict[str, Any]) -> set[str]:
    """The fields of a Lambda task's Payload read anywhere: through ``$states.result.Payload`` in the
    task itself, or through each variable the task assigns the whole Payload to."""
    reads = set(re.findall(r"\$states\.result\.Payload\.(\w+)", json.dumps(state)))
    for variable, value in state.get("Assign", {}).items():
        if jsonata(value) == "$states.result.Payload":
            reads |= {field for read, field, _ in field_reads(asl) if read == variable}
    return reads


# --- the model registry ----------------------------------------------------------------------


def test_register_model_writes_the_package_metadata_resolve_champion_reads(training_asl):
    metadata = request(training_asl["States"]["RegisterModel"])["CustomerMetadataProperties"]
    assert set(metadata) == set(ModelPackageMetadata.model_fields)


# --- the Lambda tasks ---------------------------------------------------------------------------


def test_every_lambda_task_names_a_function_and_its_service(state_machine):
    for name, function, _ in lambda_tasks(state_machine["asl"]):
        assert (REPO_ROOT / "functions" / function / "app.py").is_file(), name
        assert issubclass(service_contract(function)[1], TaskOutput), name


def test_every_lambda_task_sends_the_fields_its_function_accepts(state_machine):
    for name, function, state in lambda_tasks(state_machine["asl"]):
        sent = set(request(state)["Payload"])
        accepted, _ = service_contract(function)
        if accepted is None:
            assert sent == set(), name
            continue
        required = {field for field, info in accepted.model_fields.items() if info.is_required()}
        assert required <= sent <= set(accepted.model_fields), name


def test_every_lambda_task_reads_fields_its_function_returns(state_machine):
    for name, function, state in lambda_tasks(state_machine["asl"]):
        _, returned = service_contract(function)
        assert payload_reads(state_machine["asl"], state) <= set(returned.model_fields), name


# --- workflow variables --------------------------------------------------------------------------


def test_every_variable_read_is_assigned(state_machine):
    assigned = set(variable_shapes(state_machine["asl"]))
    read = {variable for variable, _, _ in field_reads(state_machine["asl"])}
    assert read <= assigned


def test_every_field_an_expression_reads_is_written_by_every_state_that_assigns_its_variable(state_machine):
    named = {
        variable: writers
        for variable, writers in variable_shapes(state_machine["asl"]).items()
        if all(keys is not None for _, keys in writers)
    }
    unwritten = [
        f"{reader} reads ${variable}.{field}, {writer} does not write it"
        for variable, field, reader in field_reads(state_machine["asl"])
        if variable in named
        for writer, keys in named[variable]
        if keys is not None and field not in keys
    ]
    assert unwritten == []


def test_the_model_and_the_failures_are_variables_whose_reads_are_checked(training_asl):
    # Guards the check above: it skips variables assigned a whole service answer.
    shapes = variable_shapes(training_asl)
    for variable in ("model", "evaluation", "job_failure", "failure", "run"):
        assert all(keys is not None for _, keys in shapes[variable]), variable


def test_the_training_pipeline_reads_only_execution_input_fields(training_asl):
    text = json.dumps(training_asl)
    read = set(re.findall(r"\$states\.context\.Execution\.Input\.(\w+)", text))
    assert read <= set(PipelineExecutionInput.model_fields)
