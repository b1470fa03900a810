"""Fixtures that load the state machine definitions (the template that wires them: ``template``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import REPO_ROOT

STATE_MACHINES = {
    "TrainingPipelineStateMachine": REPO_ROOT / "statemachines" / "training_pipeline.asl.json",
    "BatchInferenceStateMachine": REPO_ROOT / "statemachines" / "batch_inference.asl.json",
}


@pytest.fixture(params=sorted(STATE_MACHINES), scope="session")
def state_machine(request: pytest.FixtureRequest, template: dict[str, Any]) -> dict[str, Any]:
    """One state machine: its logical id, raw ASL text, parsed ASL and the template's substitutions."""
    logical_id = request.param
    text = STATE_MACHINES[logical_id].read_text()
    properties = template["Resources"][logical_id]["Properties"]
    return {
        "logical_id": logical_id,
        "text": text,
        "asl": json.loads(text),
        "substitutions": properties["DefinitionSubstitutions"],
        "definition_uri": properties["DefinitionUri"],
    }


@pytest.fixture(scope="session")
def training_asl() -> dict[str, Any]:
    """The training pipeline ASL."""
    return json.loads(STATE_MACHINES["TrainingPipelineStateMachine"].read_text())


@pytest.fixture(scope="session")
def batch_asl() -> dict[str, Any]:
    """The batch inference ASL."""
    return json.loads(STATE_MACHINES["BatchInferenceStateMachine"].read_text())


def _substitution(value: Any, parameters: dict[str, Any], name: str) -> str:
    """A DefinitionSubstitution as a stack with the template's defaults (and no VPC) resolves it;
    a resource's name or ARN is shown as ``<Name>``."""
    if isinstance(value, dict) and value.get("Ref") in parameters:
        return str(parameters[value["Ref"]].get("Default", ""))
    if isinstance(value, dict) and "Fn::Select" in value:  # !Select [i, !Split [",", !Ref P]]
        index, split = value["Fn::Select"]
        separator, source = split["Fn::Split"]
        return _substitution(source, parameters, name).split(separator)[int(index)]
    if isinstance(value, dict) and "Fn::If" in value and value["Fn::If"][0] == "HasVpc":
        return str(value["Fn::If"][2])
    return f"<{name}>"


@pytest.fixture(scope="session")
def deployed_training_asl(template: dict[str, Any]) -> dict[str, Any]:
    """The training ASL as Step Functions receives it: every ``${Name}`` substituted."""
    properties = template["Resources"]["TrainingPipelineStateMachine"]["Properties"]
    text = STATE_MACHINES["TrainingPipelineStateMachine"].read_text()
    for name, value in properties["DefinitionSubstitutions"].items():
        text = text.replace("${" + name + "}", _substitution(value, template["Parameters"], name))
    return dict(json.loads(text))
