"""Fixtures that load the state machine definitions and the template that wires them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
STATE_MACHINES = {
    "TrainingPipelineStateMachine": REPO_ROOT / "statemachines" / "training_pipeline.asl.json",
    "BatchInferenceStateMachine": REPO_ROOT / "statemachines" / "batch_inference.asl.json",
}


class _CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that keeps CloudFormation short-form tags (!Ref, !Sub, ...) as {tag: value}."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {tag_suffix: value}


_CloudFormationLoader.add_multi_constructor("!", _construct_tag)


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """template.yaml as a dict (intrinsics kept as {"Ref": ...}-like single-key dicts)."""
    return yaml.load((REPO_ROOT / "template.yaml").read_text(), Loader=_CloudFormationLoader)


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
