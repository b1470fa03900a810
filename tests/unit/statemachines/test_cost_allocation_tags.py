"""Every SageMaker resource the state machines create carries the cost-allocation tags."""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Iterator, Mapping
from typing import Any

from mlops_common.domain.cost_tags import EXECUTION_TAG, PROJECT, PROJECT_TAG, REQUIRED_TAGS
from tests.asl import field
from tests.conftest import REPO_ROOT

# A Step Functions task that creates a SageMaker resource: optimised integration or SDK integration.
SAGEMAKER_CREATE = re.compile(r":states:::(?:aws-sdk:)?sagemaker:(create\w+)")
# A model package in a group takes the group's tags and may not name its own
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelPackage.html).
TAKES_ITS_GROUPS_TAGS = {"createModelPackage"}
# The execution's name, as a variable or read from the context object.
EXECUTION_NAME = ("{% $run.execution_name %}", "{% $states.context.Execution.Name %}")


def _tasks(states: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Task state, those inside Parallel branches and Map processors included."""
    for name, state in states.items():
        if state["Type"] == "Task":
            yield name, state
        for branch in state.get("Branches", []):
            yield from _tasks(branch["States"])
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from _tasks(state[key]["States"])


def _sagemaker_creates(asl: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: task
        for name, task in _tasks(asl["States"])
        if (match := SAGEMAKER_CREATE.search(task["Resource"]))
        and match.group(1) not in TAKES_ITS_GROUPS_TAGS
    }


def _tags(asl: Mapping[str, Any], task: Mapping[str, Any]) -> dict[str, Any]:
    """The tags a task sends: listed in its request, or the run's ``$tags`` (its first state assigns
    them) in a request built by one expression."""
    arguments = task.get("Arguments", task.get("Parameters"))
    tags = arguments.get("Tags", []) if isinstance(arguments, dict) else None
    if tags is None or tags == "{% $tags %}":
        assert tags == "{% $tags %}" or "'Tags': $tags" in str(arguments), task
        tags = asl["States"][asl["StartAt"]]["Assign"]["tags"]
    return {tag["Key"]: field(tag, "Value") for tag in tags}


def test_every_sagemaker_create_task_carries_the_cost_allocation_tags(state_machine):
    creates = _sagemaker_creates(state_machine["asl"])

    assert creates, "no SageMaker create task found"
    for name, task in creates.items():
        assert REQUIRED_TAGS | {EXECUTION_TAG} <= set(_tags(state_machine["asl"], task)), name


def test_the_tags_name_the_project_the_environment_and_the_execution(state_machine):
    for name, task in _sagemaker_creates(state_machine["asl"]).items():
        tags = _tags(state_machine["asl"], task)
        assert tags["environment"] == "${EnvironmentName}", name
        assert tags[EXECUTION_TAG] in ("{% $run.execution_name %}", "{% $states.context.Execution.Name %}"), (
            name
        )


def test_the_project_tag_is_the_one_the_stack_carries(state_machine):
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text())
    stack_projects = {
        value
        for environment in config.values()
        if isinstance(environment, dict)
        for tags in [environment.get("deploy", {}).get("parameters", {}).get("tags", "")]
        for key, _, value in (pair.partition("=") for pair in shlex.split(tags))
        if key == PROJECT_TAG
    }
    asl = state_machine["asl"]
    asl_projects = {_tags(asl, task)[PROJECT_TAG] for task in _sagemaker_creates(asl).values()}

    assert stack_projects == asl_projects == {PROJECT}
