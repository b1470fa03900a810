"""The coverage recorder attributes states and transitions to the right machine."""

from __future__ import annotations

from tests.state_coverage import Recorder, machine_edges


def test_a_first_state_both_machines_share_is_attributed_once_the_next_state_tells() -> None:
    recorder = Recorder()
    history = object()
    for state in ("ResolveChampion", "HasApprovedModel", "NotifyNoModel"):
        recorder.state_entered(history, state)
    assert recorder.entered[("batch_inference", "ResolveChampion")] == 1
    assert recorder.entered[("training_pipeline", "ResolveChampion")] == 0
    assert recorder.taken[("batch_inference", "ResolveChampion", "HasApprovedModel")] == 1
    assert recorder.taken[("batch_inference", "HasApprovedModel", "NotifyNoModel")] == 1


def test_executions_are_followed_separately() -> None:
    recorder = Recorder()
    first, second = object(), object()
    recorder.state_entered(first, "BeginRun")
    recorder.state_entered(second, "Evaluate")
    recorder.state_entered(first, "RunDecision")
    assert recorder.taken[("training_pipeline", "BeginRun", "RunDecision")] == 1
    assert recorder.taken[("training_pipeline", "Evaluate", "RunDecision")] == 0


def test_every_choice_rule_default_and_catch_is_an_edge() -> None:
    definition = {
        "States": {
            "A": {"Type": "Task", "Next": "B", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F"}]},
            "B": {"Type": "Choice", "Choices": [{"Next": "A"}, {"Next": "F"}], "Default": "C"},
            "C": {"Type": "Succeed"},
            "F": {"Type": "Fail"},
        }
    }
    assert machine_edges(definition) == {
        ("A", "B"): ["Next"],
        ("A", "F"): ["Catch States.ALL"],
        ("B", "C"): ["Default"],
        ("B", "A"): ["Choice rule 1"],
        ("B", "F"): ["Choice rule 2"],
    }
