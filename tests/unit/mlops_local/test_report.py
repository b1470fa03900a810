"""The run report: graph layout from the ASL, and a self-contained page with pictures."""

from __future__ import annotations

import json

from mlops_local import report

DEFINITION = {
    "StartAt": "A",
    "States": {
        "A": {"Type": "Task", "Next": "B", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}]},
        "B": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "C"}],
            "Default": "Failed",
        },
        "C": {"Type": "Succeed"},
        "Failed": {"Type": "Fail"},
        "Orphan": {"Type": "Pass", "End": True},
    },
}


def test_transitions_include_next_choices_default_and_catch():
    edges = report.state_transitions(DEFINITION)

    assert edges["A"] == ["B", "Failed"]
    assert edges["B"] == ["Failed", "C"]
    assert edges["C"] == []


def test_layers_follow_breadth_first_depth_and_put_unreachable_states_last():
    depth = report.layer_states(DEFINITION)

    assert depth["A"] == 0
    assert depth["B"] == 1
    assert depth["Failed"] == 1
    assert depth["C"] == 2
    assert depth["Orphan"] == 3


def test_written_report_has_json_and_a_page_with_embedded_pictures(tmp_path):
    pictures = {
        "graph": report.figure_to_data_uri(report.draw_state_machine(DEFINITION, ["A", "B", "C"])),
        "confusion matrix": report.figure_to_data_uri(
            report.draw_confusion_matrix(["ok", "dent"], [[5, 1], [0, 6]], "challenger")
        ),
    }
    content = {
        "executions": [
            {
                "name": "upload-1",
                "trigger": "upload",
                "status": "SUCCEEDED",
                "states_visited": ["A"],
                "transitions": 3,
            }
        ],
        "dataset": {"uploaded": 10, "kept": 8, "duplicates": 1, "quarantined": 1},
        "gate": {"passed": True, "reasons": ["accuracy 0.98 >= 0.95"], "metrics": {}},
        "endpoint": {"status": "InService", "url": "http://127.0.0.1:1", "p50_ms": 3.0, "p99_ms": 9.0},
        "drift": {"violations": ["brightness"], "retrain_execution": "drift-1"},
        "timings": {"total": 61.5},
    }

    page = report.write_report(tmp_path, content, pictures)

    assert json.loads((tmp_path / "report.json").read_text())["dataset"]["kept"] == 8
    text = page.read_text()
    assert text.count("data:image/png;base64,") == 2
    assert "accuracy 0.98 &gt;= 0.95" in text
    assert "upload-1" in text
