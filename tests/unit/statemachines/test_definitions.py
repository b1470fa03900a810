"""Static rules every state machine definition must follow (both ASL files)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
# A job name: the execution's (or its short id), the step, and a fresh id per attempt.
FRESH_NAME = re.compile(r"\$run\.(execution_name|short_id) & '-\w+-' & \$substringBefore\(\$uuid\(\), '-'\)")
SAGEMAKER_NAME_FIELDS = {
    "HyperParameterTuningJobName",
    "TrainingJobName",
    "ProcessingJobName",
    "TransformJobName",
}


def _transitions(state: dict[str, Any]) -> Iterator[str]:
    if "Next" in state:
        yield state["Next"]
    if "Default" in state:
        yield state["Default"]
    for choice in state.get("Choices", []):
        yield choice["Next"]
    for catcher in state.get("Catch", []):
        yield catcher["Next"]


def _tasks(asl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: state for name, state in asl["States"].items() if state["Type"] == "Task"}


def test_definition_uri_points_at_the_asl_file(state_machine):
    # Given the template entry / Then it loads the file these tests read
    assert Path(state_machine["definition_uri"]).name.endswith(".asl.json")


def test_definition_is_json_with_substitutions_only_inside_strings(state_machine):
    # When every placeholder is replaced by a non-JSON token / Then the document still parses
    replaced = PLACEHOLDER.sub("value", state_machine["text"])
    assert json.loads(replaced)["StartAt"] in state_machine["asl"]["States"]


def test_every_placeholder_has_a_substitution(state_machine):
    used = set(PLACEHOLDER.findall(state_machine["text"]))
    assert used - set(state_machine["substitutions"]) == set()


def test_every_substitution_is_used(state_machine):
    used = set(PLACEHOLDER.findall(state_machine["text"]))
    assert set(state_machine["substitutions"]) - used == set()


def test_every_transition_target_exists(state_machine):
    states = state_machine["asl"]["States"]
    dangling = {
        (name, target)
        for name, state in states.items()
        for target in _transitions(state)
        if target not in states
    }
    assert dangling == set()


def test_every_state_is_reachable(state_machine):
    states = state_machine["asl"]["States"]
    reachable, frontier = set(), [state_machine["asl"]["StartAt"]]
    while frontier:
        name = frontier.pop()
        if name in reachable:
            continue
        reachable.add(name)
        frontier.extend(_transitions(states[name]))
    assert set(states) - reachable == set()


def test_non_terminal_states_have_a_next(state_machine):
    for name, state in state_machine["asl"]["States"].items():
        if state["Type"] in {"Succeed", "Fail", "Choice"}:
            continue
        assert "Next" in state or state.get("End") is True, name


def test_every_task_retries_with_full_jitter(state_machine):
    for name, task in _tasks(state_machine["asl"]).items():
        assert task.get("Retry"), name
        for retrier in task["Retry"]:
            assert retrier["JitterStrategy"] == "FULL", name
            assert retrier["MaxAttempts"] >= 1, name
            assert "States.ALL" not in retrier["ErrorEquals"], name


def test_a_task_catches_only_what_the_pipeline_acts_on(state_machine):
    # A caught error would move the failure off the task, and RedriveExecution resumes at the
    # failed state: a catch-all leading to a Fail state would make every redrive fail again.
    states = state_machine["asl"]["States"]
    for name, task in _tasks(state_machine["asl"]).items():
        for catcher in task.get("Catch", []):
            target = states[catcher["Next"]]
            assert target["Type"] != "Fail", f"{name} catches into a Fail state"
            assert not (
                target["Type"] == "Task" and "Notify" in catcher["Next"] and "Failed" in catcher["Next"]
            ), name


def test_every_task_has_a_timeout(state_machine):
    for name, task in _tasks(state_machine["asl"]).items():
        assert {"TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds"} & set(task), name


def test_failures_are_notified_from_outside_the_machine(state_machine, template):
    # notify_failure reads the failed execution's history (PipelineFailedRule) for both machines.
    assert not any("NotifyFailure" in name for name in state_machine["asl"]["States"])
    pattern = template["Resources"]["PipelineFailedRule"]["Properties"]["EventPattern"]
    assert {"Ref": state_machine["logical_id"]} in pattern["detail"]["stateMachineArn"]
    assert pattern["detail"]["status"] == ["FAILED", "TIMED_OUT", "ABORTED"]


def test_no_environment_literals(state_machine):
    text = state_machine["text"]
    assert not re.search(r"\b\d{12}\b", text), "account id"
    assert not re.search(r"\b(us|eu|ap|sa|ca|me|af|il|mx|cn)-(gov-)?[a-z]+-\d\b", text), "region"
    assert not re.search(r"s3://(?!\$\{)", text), "bucket"
    assert not re.search(r"\bml\.[a-z0-9]+\.[a-z0-9]+\b", text), "instance type"
    assert not re.search(r"arn:aws", text), "partition"


def test_sagemaker_job_names_derive_from_the_execution_and_change_per_attempt(state_machine):
    named = set()
    for name, task in _tasks(state_machine["asl"]).items():
        arguments = task["Arguments"]
        if isinstance(arguments, str):  # the whole request is one expression
            expressions = [
                arguments for job_name in SAGEMAKER_NAME_FIELDS if f"'{job_name}': $run." in arguments
            ]
        else:
            expressions = [arguments[job_name] for job_name in SAGEMAKER_NAME_FIELDS & set(arguments)]
        for expression in expressions:
            named.add(name)
            assert re.search(
                r"\$run\.(execution_name|short_id) & '-\w+-' & \$substringBefore\(\$uuid\(\), '-'\)",
                expression,
            ), name
    assert named


def test_the_run_identity_comes_from_the_execution_name(state_machine):
    first = state_machine["asl"]["States"][state_machine["asl"]["StartAt"]]
    if state_machine["asl"].get("QueryLanguage") == "JSONata":
        assert first["Assign"]["run"]["execution_name"] == "{% $states.context.Execution.Name %}"
    else:
        assert first["Parameters"]["run"]["execution_name.$"] == "$$.Execution.Name"
