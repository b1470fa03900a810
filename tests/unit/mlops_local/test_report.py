"""The run report: graph layout from the ASL, and a self-contained page with pictures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlops_local import report
from mlops_planning.cost_model import load_price_table
from mlops_planning.run_cost import RunJobs

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


def test_layers_put_each_state_below_what_leads_to_it_and_unreachable_states_last():
    depth = report.layer_states(DEFINITION)

    assert depth["A"] == 0
    assert depth["B"] == 1
    # Reached by B's Default as well as A's Catch: below B, on the normal flow's longest path.
    assert depth["Failed"] == 2
    assert depth["C"] == 2
    assert depth["Orphan"] == 3


def test_a_loop_does_not_push_its_states_down_and_error_paths_come_after_the_catch():
    definition = {
        "StartAt": "Deploy",
        "States": {
            "Deploy": {
                "Type": "Task",
                "Next": "Wait",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Revoke"}],
            },
            "Wait": {"Type": "Wait", "Next": "Poll"},
            "Poll": {"Type": "Choice", "Choices": [{"Next": "Done"}], "Default": "Wait"},
            "Done": {"Type": "Succeed"},
            "Revoke": {"Type": "Task", "Next": "Failed"},
            "Failed": {"Type": "Fail"},
        },
    }
    depth = report.layer_states(definition)

    assert [depth[name] for name in ("Deploy", "Wait", "Poll", "Done")] == [0, 1, 2, 3]
    assert (depth["Revoke"], depth["Failed"]) == (1, 2)


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
    assert "<h2>Training diagnostics</h2><p>The trained model reported no diagnostics.</p>" in text


def test_the_page_shows_the_trained_models_diagnostics_as_a_table(tmp_path):
    # As the evaluation carried them to the gate: the gate's challenger entry.
    diagnostics = {
        "status": "issues_found",
        "issues": [
            "class_imbalance: largest class 'ok' has 550 images, smallest 'dent' 50 (11.0x), above 10x"
        ],
        "checks": {
            "loss_not_decreasing": {
                "status": "ok",
                "reason": "training loss still decreasing (0.65 -> 0.39)",
            },
            "class_imbalance": {
                "status": "issues_found",
                "reason": "largest class 'ok' has 550 images, smallest 'dent' 50 (11.0x), above 10x",
            },
        },
    }
    content = {
        "gate": {"passed": True, "reasons": [], "metrics": {"challenger": {"diagnostics": diagnostics}}}
    }

    text = report.write_report(tmp_path, content, {}).read_text()

    assert report.training_diagnostics(content) == diagnostics
    assert "<h2>Training diagnostics: issues found</h2>" in text
    assert (
        "<tr><td>loss_not_decreasing</td><td>ok</td>"
        "<td>training loss still decreasing (0.65 -&gt; 0.39)</td></tr>" in text
    )
    assert (
        "<tr><td>class_imbalance</td><td>issues found</td><td>largest class &#x27;ok&#x27; has 550 images,"
        " smallest &#x27;dent&#x27; 50 (11.0x), above 10x</td></tr>" in text
    )


# --- what the run cost ---------------------------------------------------------------------------


class RecordedSageMaker:
    """DescribeTrainingJob/DescribeProcessingJob and the tuning job's trials, two per page."""

    def __init__(self, jobs: dict[str, Any]) -> None:
        self.training = {job["TrainingJobName"]: job for job in jobs["training_jobs"]}
        self.processing = {job["ProcessingJobName"]: job for job in jobs["processing_jobs"]}

    def list_training_jobs_for_hyper_parameter_tuning_job(self, **kwargs: Any) -> dict[str, Any]:
        names = sorted(self.training)
        start = int(kwargs.get("NextToken", 0))
        page: dict[str, Any] = {
            "TrainingJobSummaries": [{"TrainingJobName": name} for name in names[start : start + 2]]
        }
        if start + 2 < len(names):
            page["NextToken"] = str(start + 2)
        return page

    def describe_training_job(self, TrainingJobName: str) -> dict[str, Any]:
        return self.training[TrainingJobName]

    def describe_processing_job(self, ProcessingJobName: str) -> dict[str, Any]:
        return self.processing[ProcessingJobName]


class RecordedGlue:
    def __init__(self, jobs: dict[str, Any]) -> None:
        self.runs = {(run["JobName"], run["Id"]): run for run in jobs["glue_job_runs"]}

    def get_job_run(self, JobName: str, RunId: str) -> dict[str, Any]:
        return {"JobRun": self.runs[(JobName, RunId)]}


def test_the_jobs_of_a_run_are_read_from_its_history(load_event):
    recorded = load_event("training_run_jobs")

    started = report.started_jobs(recorded["events"])

    assert sorted(kind for kind, _, _ in started) == ["glue", "processing", "tuning"]
    assert [run_id for kind, _, run_id in started if kind == "glue"] == [
        recorded["jobs"]["glue_job_runs"][0]["Id"]
    ]


def test_every_trial_of_the_tuning_job_is_gathered_across_pages(load_event):
    recorded = load_event("training_run_jobs")
    jobs = recorded["jobs"]

    gathered = report.gather_run_jobs(
        recorded["events"], sagemaker=RecordedSageMaker(jobs), glue=RecordedGlue(jobs)
    )

    assert gathered.model_dump(mode="json") == {**jobs, "transform_jobs": []}


def test_the_report_prices_the_run_from_what_its_jobs_report(load_event, tmp_path):
    recorded = load_event("training_run_jobs")
    jobs = RunJobs.model_validate(recorded["jobs"])
    prices = load_price_table()

    cost = report.cost_content(jobs, recorded["events"], {"TuningMaxJobs": "3"})
    report.write_report(tmp_path, {"cost": cost}, {})

    written = json.loads((tmp_path / "report.json").read_text())["cost"]
    training = {line["name"]: line for line in written["from_jobs"]["lines"]}["Tuning and training"]
    billed = sum(
        j["BillableTimeInSeconds"] * j["ResourceConfig"]["InstanceCount"] for j in jobs.training_jobs
    )
    price = prices.usd(f"sagemaker.training.{jobs.training_jobs[0]['ResourceConfig']['InstanceType']}")
    assert training["usd"] > 0
    assert training["usd"] == pytest.approx(billed * price / 3600)
    assert written["per_run_usd"] == pytest.approx(
        written["from_jobs"]["per_run_usd"] + sum(item["usd"] for item in written["other_run_lines"]),
        abs=1e-4,
    )


def test_the_planning_estimate_beside_it_is_sized_by_the_runs_own_training_time(load_event):
    recorded = load_event("training_run_jobs")

    cost = report.cost_content(RunJobs.model_validate(recorded["jobs"]), recorded["events"], {})

    planned = {item["name"]: item for item in cost["estimate"]["items"]}
    assert planned["Tuning and training"]["quantity"] > 0


def test_the_page_shows_the_runs_cost_and_the_estimate_side_by_side(load_event, tmp_path):
    recorded = load_event("training_run_jobs")
    cost = report.cost_content(RunJobs.model_validate(recorded["jobs"]), recorded["events"], {})

    page = report.write_report(tmp_path, {"cost": cost}, {}).read_text()

    assert "Cost of this run on AWS (us-east-1), from what its jobs report" in page
    assert "Planning estimate of a run, for comparison" in page
    assert "Managed spot saving the training jobs reported" in page
