"""The seams: what one side writes, the other reads under the same names.

The ASL against the Lambda functions' models (what a task sends, what its ResultSelector picks),
the model registry's metadata against resolve_champion, and one state's result against the
states that read it later. A rename on one side alone fails here, not in a run on AWS.
"""

from __future__ import annotations

import importlib
import json
import re
import typing
from typing import Any

from mlops_common.models import ModelPackageMetadata, PipelineExecutionInput, TaskInput, TaskOutput
from tests.asl import jsonata, request
from tests.conftest import REPO_ROOT

FUNCTION_ARN = re.compile(r"\$\{(\w+)FunctionArn\}")
PAYLOAD_FIELD = re.compile(r"\$\.Payload\.(\w+)")
# `$.<result>.<field>` read anywhere in a state, not `$$.` (the context object).
FIELD_READ = re.compile(r"(?<![$\w])\$\.(\w+)\.(\w+)")
TOP_LEVEL_RESULT = re.compile(r"\$\.(\w+)")
# What a Catch writes at its ResultPath (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
ERROR_OUTPUT = frozenset({"Error", "Cause"})


def _keys(parameters: dict[str, Any]) -> set[str]:
    return {key.removesuffix(".$") for key in parameters}


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


def result_shapes(asl: dict[str, Any]) -> dict[str, list[tuple[str, frozenset[str] | None]]]:
    """For each top-level result (``$.<name>``): the states that write it, with the keys each writes
    (None where the keys are a service's whole response, not named in the ASL)."""
    writers: dict[str, list[tuple[str, frozenset[str] | None]]] = {}
    for name, state in asl["States"].items():
        path = state.get("ResultPath")
        if isinstance(path, str) and (match := TOP_LEVEL_RESULT.fullmatch(path)):
            shape = state.get("ResultSelector") if state["Type"] == "Task" else state.get("Parameters")
            keys = frozenset(_keys(shape)) if isinstance(shape, dict) else None
            writers.setdefault(match[1], []).append((name, keys))
        for catcher in state.get("Catch", []):
            if match := TOP_LEVEL_RESULT.fullmatch(catcher.get("ResultPath") or ""):
                writers.setdefault(match[1], []).append((f"{name} (Catch)", ERROR_OUTPUT))
    return writers


def field_reads(asl: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(result, field, reading state) of every ``$.<result>.<field>`` a state reads from the state
    data; a ResultSelector reads the task's own result, not the state data, so it is left out."""
    reads = set()
    for name, state in asl["States"].items():
        text = json.dumps({key: value for key, value in state.items() if key != "ResultSelector"})
        reads |= {(match[1], match[2], name) for match in FIELD_READ.finditer(text)}
    return reads


# --- the model registry ----------------------------------------------------------------------


def test_register_model_writes_the_package_metadata_resolve_champion_reads(training_asl):
    metadata = training_asl["States"]["RegisterModel"]["Parameters"]["CustomerMetadataProperties"]
    assert _keys(metadata) == set(ModelPackageMetadata.model_fields)


# --- the Lambda tasks ---------------------------------------------------------------------------


def test_every_lambda_task_names_a_function_and_its_service(state_machine):
    for name, function, _ in lambda_tasks(state_machine["asl"]):
        assert (REPO_ROOT / "functions" / function / "app.py").is_file(), name
        assert issubclass(service_contract(function)[1], TaskOutput), name


def test_every_lambda_task_sends_the_fields_its_function_accepts(state_machine):
    for name, function, state in lambda_tasks(state_machine["asl"]):
        sent = _keys(request(state)["Payload"])
        accepted, _ = service_contract(function)
        if accepted is None:
            assert sent == set(), name
            continue
        required = {field for field, info in accepted.model_fields.items() if info.is_required()}
        assert required <= sent <= set(accepted.model_fields), name


def jsonata_payload_reads(asl: dict[str, Any], state: dict[str, Any]) -> set[str]:
    """The fields of a JSONata Lambda task's Payload read anywhere: through ``$states.result.Payload``
    in the task itself, or through each variable the task assigns the whole Payload to."""
    reads = set(re.findall(r"\$states\.result\.Payload\.(\w+)", json.dumps(state)))
    for variable, value in state.get("Assign", {}).items():
        if jsonata(value) == "$states.result.Payload":
            reads |= set(re.findall(rf"\${variable}\.(\w+)", json.dumps(asl)))
    return reads


def test_every_lambda_task_selects_fields_its_function_returns(state_machine):
    for name, function, state in lambda_tasks(state_machine["asl"]):
        _, returned = service_contract(function)
        if "ResultSelector" not in state:
            read = jsonata_payload_reads(state_machine["asl"], state)
            assert read, f"{name}: no field of its result is read"
            assert read <= set(returned.model_fields), name
            continue
        selected = {PAYLOAD_FIELD.fullmatch(path) for path in state["ResultSelector"].values()}
        assert None not in selected, f"{name}: a selector reads outside $.Payload.<field>"
        assert {match[1] for match in selected if match} <= set(returned.model_fields), name


# --- state data ---------------------------------------------------------------------------------


def test_every_field_a_state_reads_is_written_by_every_state_that_writes_its_result(state_machine):
    asl = state_machine["asl"]
    # Results whose keys the ASL names (a ResultSelector, a Pass state's Parameters, a Catch).
    named = {
        result: writers
        for result, writers in result_shapes(asl).items()
        if all(keys is not None for _, keys in writers)
    }
    unwritten = [
        f"{reader} reads $.{result}.{field}, {writer} does not write it"
        for result, field, reader in field_reads(asl)
        if result in named
        for writer, keys in named[result]
        if keys is not None and field not in keys
    ]
    assert unwritten == []


def test_the_champion_and_the_model_are_results_whose_reads_are_checked(training_asl):
    # Guards the check above: it skips results written by a whole service response.
    writers = result_shapes(training_asl)
    assert all(keys is not None for _, keys in writers["champion"] + writers["model"])


def test_the_training_pipeline_reads_only_execution_input_fields(training_asl):
    read = {field for result, field, _ in field_reads(training_asl) if result == "input"}
    assert read <= set(PipelineExecutionInput.model_fields)
