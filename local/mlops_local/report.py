"""The run report: ``report.json`` for machines and ``report.html`` (with pictures) for people.

Pictures are drawn with matplotlib into PNGs embedded in the page, so the report is one file that
opens anywhere, offline.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
from botocore.exceptions import ClientError

from mlops_planning.cost_model import PipelineSettings, estimate
from mlops_planning.run_cost import RunJobs, job_sizes_from_run, price_run

matplotlib.use("Agg")  # no screen: render to memory only
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

TAKEN = "#2b8a3e"
NOT_TAKEN = "#adb5bd"
FAILED = "#c92a2a"


# --- state machine graph -------------------------------------------------------------------------


def state_transitions(definition: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every state's possible next states (Next, Default, Choices, Catch), nested states flattened."""
    return {name: list(targets) for name, targets in _edges(definition).items()}


def _edges(definition: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Every state's next states, each with how it is reached: ``next`` (Next, Default, a Choice
    rule) or ``catch`` (only through a Catch: an error path)."""
    edges: dict[str, dict[str, str]] = {}
    for name, state in definition.get("States", {}).items():
        targets: dict[str, str] = {}
        for target in [state.get("Next"), state.get("Default")] + [
            c.get("Next") for c in state.get("Choices", [])
        ]:
            if target:
                targets[target] = "next"
        for catcher in state.get("Catch", []):
            targets.setdefault(catcher["Next"], "catch")
        edges[name] = targets
    return edges


def layer_states(definition: Mapping[str, Any]) -> dict[str, int]:
    """Each state's row: below every state that leads to it on the way forward, so the graph reads
    top to bottom. The normal flow (Next, Default, Choice rules) is laid out first, by the longest
    path from ``StartAt`` without the edges that go back (the settle wait, a poll, a retry); states
    only an error (a Catch) leads to come after the state that caught it. Unreachable states last."""
    edges = _edges(definition)
    flow = {
        name: [t for t, kind in targets.items() if kind == "next" and t in edges]
        for name, targets in edges.items()
    }
    depth = _longest_paths(flow, [definition.get("StartAt", "")], {})
    # Error handling: each state a Catch leads to, below the latest state that catches into it.
    while True:
        caught = {
            target: max(depth[name] for name in edges if name in depth and edges[name].get(target) == "catch")
            + 1
            for name in depth
            for target, kind in edges[name].items()
            if kind == "catch" and target in edges and target not in depth
        }
        if not caught:
            break
        depth = _longest_paths(flow, list(caught), {**depth, **caught})
    last = max(depth.values(), default=0) + 1
    for name in edges:
        depth.setdefault(name, last)
    return depth


def _longest_paths(
    flow: Mapping[str, list[str]], starts: list[str], placed: dict[str, int]
) -> dict[str, int]:
    """``placed`` extended by the states reachable from ``starts`` (not placed yet), each one row
    below the deepest of its predecessors; an edge back to a state on the way (a loop) or to a state
    already placed does not move it."""
    fixed = set(placed) - set(starts)
    order: list[str] = []
    on_way: set[str] = set()
    seen: set[str] = set()
    back: set[tuple[str, str]] = set()

    def visit(name: str) -> None:
        on_way.add(name)
        seen.add(name)
        for target in flow.get(name, []):
            if target in on_way:
                back.add((name, target))
            elif target not in seen and target not in fixed:
                visit(target)
        on_way.discard(name)
        order.append(name)

    for start in starts:
        if start in flow and start not in seen:
            visit(start)
    depth = dict(placed)
    for name in order:
        depth.setdefault(name, 0)
    for name in reversed(order):  # a topological order of the forward edges
        for target in flow[name]:
            if target in seen and target not in fixed and (name, target) not in back:
                depth[target] = max(depth[target], depth[name] + 1)
    return depth


# State types by colour when no execution is drawn (the picture of the whole machine in docs/).
TYPE_COLOURS = {"Task": "#1c7ed6", "Choice": "#f08c00", "Wait": "#7048e8", "Pass": "#868e96"}
END_COLOUR = "#495057"


def draw_state_machine(
    definition: Mapping[str, Any],
    visited: Sequence[str],
    failed_state: str | None = None,
    *,
    title: str = "Training pipeline: the path this execution took (green)",
) -> Figure:
    """The state machine as a layered graph, at page width, with the path an execution took
    highlighted. Error paths (a Catch) are dashed and drawn once per pair of states; a step back
    (a retry on demand, a poll) curves to the side rather than across the states between."""
    edges = _edges(definition)
    depth = layer_states(definition)
    rows: dict[int, list[str]] = {}
    for name, level in sorted(depth.items(), key=lambda item: (item[1], item[0])):
        rows.setdefault(level, []).append(name)
    position: dict[str, tuple[float, float]] = {}
    for level in sorted(rows):
        # Each state under the states that lead to it (the mean of their places), to keep lines short.
        def under(name: str) -> float:
            above = [position[s][0] for s, targets in edges.items() if name in targets and s in position]
            return sum(above) / len(above) if above else 0.0

        names = sorted(rows[level], key=lambda name: (under(name), name))
        for index, name in enumerate(names):
            position[name] = (index - (len(names) - 1) / 2, -level)
    width = max(len(names) for names in rows.values()) if rows else 1
    figure, axes = plt.subplots(figsize=(11, max(4.0, len(rows) * 0.62)))
    taken_pairs = set(itertools.pairwise(visited))
    for source, targets in edges.items():
        for target, kind in targets.items():
            if target not in position:
                continue
            on_path = (source, target) in taken_pairs
            (x0, y0), (x1, y1) = position[source], position[target]
            back = y1 >= y0
            axes.annotate(
                "",
                xy=(x1, y1 + (0 if back else 0.2)),
                xytext=(x0, y0 - (0 if back else 0.2)),
                arrowprops={
                    "arrowstyle": "->",
                    "color": TAKEN if on_path else FAILED if kind == "catch" else NOT_TAKEN,
                    "lw": 2.2 if on_path else 0.8,
                    "alpha": 1.0 if on_path else 0.55,
                    "linestyle": "--" if kind == "catch" else "-",
                    "connectionstyle": "arc3,rad=0.5" if back else "arc3,rad=0",
                    "shrinkA": 12 if back else 2,
                    "shrinkB": 12 if back else 2,
                },
            )
    visited_set = set(visited)
    for name, (x, y) in position.items():
        state_type = definition["States"][name]["Type"]
        if visited:
            colour = FAILED if name == failed_state else TAKEN if name in visited_set else NOT_TAKEN
            text_colour = "white" if name in visited_set else "black"
        else:
            colour, text_colour = TYPE_COLOURS.get(state_type, END_COLOUR), "white"
        axes.text(
            x,
            y,
            name,
            ha="center",
            va="center",
            fontsize=8,
            color=text_colour,
            bbox={"boxstyle": "round,pad=0.3", "facecolor": colour, "edgecolor": "none"},
        )
    axes.set_xlim(-width / 2 - 0.6, width / 2 + 0.6)
    axes.set_ylim(-len(rows) - 0.2, 0.6)
    axes.axis("off")
    axes.set_title(title)
    figure.tight_layout()
    return figure


# --- charts --------------------------------------------------------------------------------------


def draw_training_curves(history: Sequence[Mapping[str, float]]) -> Figure:
    """Loss and validation accuracy / macro F1 per epoch."""
    epochs = [int(row.get("epoch", index + 1)) for index, row in enumerate(history)]
    figure, (loss_axes, score_axes) = plt.subplots(1, 2, figsize=(9, 3.2))
    for key, label in (("train_loss", "train loss"), ("validation_loss", "validation loss")):
        values = [row.get(key) for row in history]
        if any(value is not None for value in values):
            loss_axes.plot(epochs, values, marker="o", label=label)
    loss_axes.set_xlabel("epoch")
    loss_axes.set_title("loss")
    loss_axes.legend()
    for key, label in (
        ("accuracy", "accuracy"),
        ("macro_f1", "macro F1"),
        ("min_defect_recall", "min defect recall"),
    ):
        values = [row.get(key) for row in history]
        if any(value is not None for value in values):
            score_axes.plot(epochs, values, marker="o", label=label)
    score_axes.set_ylim(0, 1.02)
    score_axes.set_xlabel("epoch")
    score_axes.set_title("validation")
    score_axes.legend(loc="lower right")
    figure.tight_layout()
    return figure


def draw_confusion_matrix(labels: Sequence[str], matrix: Sequence[Sequence[int]], title: str) -> Figure:
    """A confusion matrix with counts in the cells (rows: true label, columns: predicted)."""
    figure, axes = plt.subplots(figsize=(4.2, 3.8))
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels, rotation=30)
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    peak = max((max(row) for row in matrix), default=0)
    for row_index, row in enumerate(matrix):
        for column_index, count in enumerate(row):
            axes.text(
                column_index,
                row_index,
                str(count),
                ha="center",
                va="center",
                color="white" if peak and count > peak / 2 else "black",
            )
    axes.set_title(title)
    figure.tight_layout()
    return figure


def draw_tuning_trials(trials: Sequence[Mapping[str, Any]], objective_name: str) -> Figure:
    """The tuning objective of every trial in start order; the best one marked."""
    figure, axes = plt.subplots(figsize=(6, 3))
    values = [trial.get("objective") for trial in trials]
    xs = list(range(1, len(trials) + 1))
    colours = [NOT_TAKEN if trial.get("status") != "Completed" else "#1971c2" for trial in trials]
    axes.bar(xs, [value or 0 for value in values], color=colours)
    finished = [(value, x) for value, x in zip(values, xs, strict=True) if value is not None]
    if finished:
        best_value, best_x = max(finished)
        axes.bar([best_x], [best_value], color=TAKEN, label="best")
        axes.legend(loc="lower right")
    axes.set_xlabel("trial")
    axes.set_ylabel(objective_name)
    axes.set_ylim(0, 1.02)
    axes.set_title("Hyperparameter tuning trials (grey: stopped early or failed)")
    figure.tight_layout()
    return figure


def draw_latency(latencies_ms: Sequence[float]) -> Figure:
    """Histogram of endpoint round-trip latencies."""
    figure, axes = plt.subplots(figsize=(5, 2.8))
    axes.hist(latencies_ms, bins=min(30, max(5, len(latencies_ms) // 3)), color="#1971c2")
    axes.set_xlabel("latency (ms)")
    axes.set_ylabel("requests")
    axes.set_title("Endpoint latency (local, one image per request)")
    figure.tight_layout()
    return figure


def draw_drift(distances: Mapping[str, float], threshold: float) -> Figure:
    """Per-feature distance to the baseline against the drift threshold."""
    figure, axes = plt.subplots(figsize=(7, 3))
    names = list(distances)
    values = [distances[name] for name in names]
    axes.bar(names, values, color=[FAILED if value > threshold else "#1971c2" for value in values])
    axes.axhline(threshold, color="black", linestyle="--", linewidth=1, label=f"threshold {threshold}")
    axes.set_ylabel("distance to baseline")
    axes.tick_params(axis="x", rotation=30)
    axes.legend()
    axes.set_title("Drift: shifted traffic against the training baseline (red: violation)")
    figure.tight_layout()
    return figure


def draw_accounting(dataset: Mapping[str, int]) -> Figure:
    """Where every uploaded object went."""
    figure, axes = plt.subplots(figsize=(5, 2.4))
    parts = [(key, int(dataset.get(key, 0))) for key in ("kept", "duplicates", "quarantined")]
    axes.barh(
        [name for name, _ in parts], [count for _, count in parts], color=["#2b8a3e", "#f08c00", FAILED]
    )
    for index, (_, count) in enumerate(parts):
        axes.text(count, index, f" {count}", va="center")
    axes.set_title(f"Dataset accounting: {dataset.get('uploaded', 0)} uploaded")
    figure.tight_layout()
    return figure


def figure_to_data_uri(figure: Figure) -> str:
    """PNG bytes of a figure as a data URI (and the figure closed)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


# --- the run's jobs and what they cost -----------------------------------------------------------

# Step Functions' SageMaker integrations (the resource without .sync): the job kind and its name field.
SAGEMAKER_JOB_TASKS = {
    "createTrainingJob": ("training", "TrainingJobName"),
    "createHyperParameterTuningJob": ("tuning", "HyperParameterTuningJobName"),
    "createProcessingJob": ("processing", "ProcessingJobName"),
    "createTransformJob": ("transform", "TransformJobName"),
}
# The services whose run lines the jobs' own figures replace.
JOB_SERVICES = frozenset({"AWS Glue", "Amazon SageMaker"})


def execution_history(stepfunctions: Any, execution_arn: str) -> list[dict[str, Any]]:
    """Every event of an execution's history, oldest first (all pages)."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = stepfunctions.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def started_jobs(events: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """The jobs an execution started, from its history: ``(kind, job name, Glue run id or "")``.

    A SageMaker job is named in its task's parameters (TaskScheduled); a Glue run's id comes back in
    the task's output (StartJobRun's ``JobRunId``, or the finished run's ``Id``), its job name in the
    parameters of the task that started it.
    """
    by_id = {event.get("id"): event for event in events}
    found: dict[tuple[str, str, str], None] = {}
    for event in events:
        details = event.get("taskScheduledEventDetails")
        if details and details.get("resourceType") == "sagemaker":
            task = SAGEMAKER_JOB_TASKS.get(str(details.get("resource", "")).split(".")[0])
            if task:
                kind, field = task
                name = _json_object(details.get("parameters")).get(field)
                if name:
                    found[(kind, str(name), "")] = None
        for key in ("taskSubmittedEventDetails", "taskSucceededEventDetails"):
            details = event.get(key)
            if not details or details.get("resourceType") != "glue":
                continue
            output = _json_object(details.get("output"))
            run_id = output.get("JobRunId") or output.get("Id")
            job_name = output.get("JobName") or _scheduled_parameters(event, by_id).get("JobName")
            if run_id and job_name:
                found[("glue", str(job_name), str(run_id))] = None
    return list(found)


def _scheduled_parameters(event: Mapping[str, Any], by_id: Mapping[Any, Mapping[str, Any]]) -> dict[str, Any]:
    """The parameters of the TaskScheduled event an event of the same task follows."""
    current: Mapping[str, Any] | None = event
    while current is not None:
        if current.get("type") == "TaskScheduled":
            return _json_object(current.get("taskScheduledEventDetails", {}).get("parameters"))
        current = by_id.get(current.get("previousEventId"))
    return {}


def _json_object(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def gather_run_jobs(events: Sequence[Mapping[str, Any]], *, sagemaker: Any, glue: Any) -> RunJobs:
    """The Describe responses of every job an execution (its history ``events``) started, trials included."""
    jobs = RunJobs()
    for kind, name, run_id in started_jobs(events):
        try:
            if kind == "training":
                jobs.training_jobs.append(sagemaker.describe_training_job(TrainingJobName=name))
            elif kind == "tuning":
                jobs.training_jobs += [
                    sagemaker.describe_training_job(TrainingJobName=trial)
                    for trial in _tuning_trials(sagemaker, name)
                ]
            elif kind == "processing":
                jobs.processing_jobs.append(sagemaker.describe_processing_job(ProcessingJobName=name))
            elif kind == "transform":
                jobs.transform_jobs.append(sagemaker.describe_transform_job(TransformJobName=name))
            else:
                jobs.glue_job_runs.append(glue.get_job_run(JobName=name, RunId=run_id)["JobRun"])
        except ClientError:
            continue  # a create the API refused left no job to bill
    return jobs


def _tuning_trials(sagemaker: Any, tuning_job: str) -> list[str]:
    names: list[str] = []
    kwargs: dict[str, Any] = {"HyperParameterTuningJobName": tuning_job, "MaxResults": 100}
    while True:
        page = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(**kwargs)
        names += [summary["TrainingJobName"] for summary in page["TrainingJobSummaries"]]
        if not page.get("NextToken"):
            return names
        kwargs["NextToken"] = page["NextToken"]


def run_cost(
    execution_arn: str, parameters: Mapping[str, Any], *, stepfunctions: Any, sagemaker: Any, glue: Any
) -> dict[str, Any]:
    """``report.json``'s ``cost`` for one execution of the training pipeline (clients of its account)."""
    events = execution_history(stepfunctions, execution_arn)
    return cost_content(gather_run_jobs(events, sagemaker=sagemaker, glue=glue), events, parameters)


def cost_content(
    jobs: RunJobs, events: Sequence[Mapping[str, Any]], parameters: Mapping[str, Any]
) -> dict[str, Any]:
    """The run priced from its jobs, and the planning estimate beside it.

    ``events`` is the execution's history, ``parameters`` the template's. What no job reports (state
    transitions, Lambda, S3 requests) comes from the estimate, sized with this run's own counts.
    """
    sizes = job_sizes_from_run(
        jobs,
        state_transitions_per_run=sum(1 for e in events if str(e.get("type", "")).endswith("StateEntered")),
        lambda_invocations_per_run=sum(
            1 for e in events if (e.get("taskScheduledEventDetails") or {}).get("resourceType") == "lambda"
        ),
    )
    planned = estimate(PipelineSettings.from_parameters(parameters), sizes, runs_per_month=4)
    priced = price_run(jobs)
    others = [item for item in planned.items if item.period == "run" and item.service not in JOB_SERVICES]
    per_run = round(priced.per_run_usd + sum(item.usd for item in others), 4)
    saving = priced.spot_saving
    return {
        "per_run_usd": per_run,
        "summary": (
            f"{per_run:.4f} {priced.currency} for this run: {priced.per_run_usd:.4f} for its jobs, as"
            f" they report their billable time, and {per_run - priced.per_run_usd:.4f} for state"
            " transitions, Lambda and S3 requests (estimated)."
            + ("" if saving is None else f" Managed spot saved {saving:.0%} of on-demand training.")
        ),
        "from_jobs": priced.model_dump(mode="json"),
        "other_run_lines": [item.model_dump(mode="json") for item in others],
        "estimate": planned.model_dump(mode="json"),
    }


def _cost_sections(cost: Mapping[str, Any]) -> list[str]:
    """The cost of the run from its jobs, then the planning estimate it can be compared with."""
    from_jobs = cost.get("from_jobs", {})
    lines = [
        (
            line["name"],
            line["resource"],
            line["jobs"],
            f"{line['quantity']:.4f}",
            line["unit"],
            f"{line['usd']:.4f}",
            f"{line['on_demand_usd']:.4f}",
        )
        for line in from_jobs.get("lines", [])
    ]
    lines += [
        (item["name"], "", "", f"{item['quantity']:g}", item["unit"], f"{item['usd']:.4f}", "(estimated)")
        for item in cost.get("other_run_lines", [])
    ]
    jobs = [
        (
            job["name"],
            job["kind"],
            f"{job['count']:g} x {job['resource']}",
            f"{job['billed_seconds']:.0f}",
            f"{job['on_demand_seconds']:.0f}",
            f"{job['usd']:.4f}",
            job["note"],
        )
        for job in from_jobs.get("jobs", [])
    ]
    saving = from_jobs.get("spot_saving")
    parts = [
        _table(lines, ("item", "resource", "jobs", "quantity", "unit", "USD", "on-demand USD")),
        f"<p>{html.escape(str(cost.get('summary', '')))}</p>",
        "<p>Managed spot saving the training jobs reported (1 - BillableTimeInSeconds /"
        " TrainingTimeInSeconds, weighted by on-demand cost): "
        + ("no spot job" if saving is None else f"{saving:.1%}")
        + "</p>",
        _table(jobs, ("job", "kind", "resources", "billed s", "on-demand s", "USD", "note")),
    ]
    if from_jobs.get("unpriced"):
        parts.append(
            "<p>Not priced: " + "; ".join(html.escape(str(item)) for item in from_jobs["unpriced"]) + "</p>"
        )
    planned = cost.get("estimate", {})
    rows = (
        (i.get("name"), f"{i.get('quantity', 0):g}", i.get("unit"), f"{i.get('usd', 0):.4f}")
        for i in planned.get("items", [])
        if i.get("period") == "run"
    )
    region = from_jobs.get("region", planned.get("region", ""))
    return [
        _section(f"Cost of this run on AWS ({region}), from what its jobs report", *parts),
        _section(
            "Planning estimate of a run, for comparison",
            _table(rows, ("item", "quantity", "unit", "USD")),
            f"<p>{html.escape(str(planned.get('summary', '')))}</p>",
        ),
    ]


# --- page ----------------------------------------------------------------------------------------


def _table(rows: Iterable[Sequence[Any]], header: Sequence[str]) -> str:
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def training_diagnostics(report: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The trained model's diagnostics (training/diagnostics.py), as the evaluation carried them to
    the gate: ``report["gate"]["metrics"]["challenger"]["diagnostics"]``; None when there are none."""
    metrics = (report.get("gate") or {}).get("metrics") or {}
    found = (metrics.get("challenger") or {}).get("diagnostics")
    return found if isinstance(found, Mapping) else None


def _diagnostics_section(found: Mapping[str, Any] | None) -> str:
    """A table of every check's status and reason, under the run's status."""
    if found is None:
        return _section("Training diagnostics", "<p>The trained model reported no diagnostics.</p>")
    checks = found.get("checks") or {}
    rows = (
        (name, str(check.get("status", "")).replace("_", " "), check.get("reason", ""))
        for name, check in checks.items()
        if isinstance(check, Mapping)
    )
    status = str(found.get("status", "unknown")).replace("_", " ")
    return _section(f"Training diagnostics: {status}", _table(rows, ("check", "status", "reason")))


def _section(title: str, *parts: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{''.join(parts)}</section>"


def _image(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{html.escape(alt)}">'


def render_html(report: Mapping[str, Any], pictures: Mapping[str, str]) -> str:
    """The report page from ``report.json``'s content and the pictures (title -> data URI)."""
    sections: list[str] = []
    executions = report.get("executions", [])
    sections.append(
        _section(
            "Executions",
            _table(
                (
                    (e["name"], e["trigger"], e["status"], len(e.get("states_visited", [])), e["transitions"])
                    for e in executions
                ),
                ("name", "trigger", "status", "states visited", "state transitions"),
            ),
            *(_image(pictures[key], key) for key in pictures if key.startswith("graph")),
        )
    )
    dataset = report.get("dataset", {})
    sections.append(
        _section(
            "Dataset",
            _table(
                [[dataset.get(k, 0) for k in ("uploaded", "kept", "duplicates", "quarantined")]],
                ("uploaded", "kept", "duplicates", "quarantined"),
            ),
            _image(pictures["accounting"], "accounting") if "accounting" in pictures else "",
        )
    )
    tuning_parts = [_image(pictures[key], key) for key in ("tuning", "training curves") if key in pictures]
    if tuning_parts:
        sections.append(_section("Tuning and training", *tuning_parts))
    if report.get("gate"):
        sections.append(_diagnostics_section(training_diagnostics(report)))
    gate = report.get("gate", {})
    sections.append(
        _section(
            f"Gate: {'passed' if gate.get('passed') else 'failed'}",
            "<ul>" + "".join(f"<li>{html.escape(r)}</li>" for r in gate.get("reasons", [])) + "</ul>",
            _image(pictures.get("confusion matrix", ""), "confusion matrix")
            if "confusion matrix" in pictures
            else "",
        )
    )
    endpoint = report.get("endpoint", {})
    sections.append(
        _section(
            "Endpoint",
            _table(
                [[endpoint.get(k) for k in ("status", "url", "p50_ms", "p99_ms")]],
                ("status", "url", "p50 ms", "p99 ms"),
            ),
            _image(pictures["latency"], "latency") if "latency" in pictures else "",
        )
    )
    drift = report.get("drift", {})
    sections.append(
        _section(
            "Drift and retraining",
            "<ul>"
            + "".join(f"<li>{html.escape(str(v))}</li>" for v in drift.get("violations", []))
            + "</ul>",
            f"<p>Retraining execution: {html.escape(str(drift.get('retrain_execution')))}</p>",
            _image(pictures["drift"], "drift") if "drift" in pictures else "",
        )
    )
    cost = report.get("cost")
    if cost:
        sections += _cost_sections(cost)
    timings = report.get("timings", {})
    sections.append(
        _section("Timings (seconds)", _table(((k, f"{v:.1f}") for k, v in timings.items()), ("stage", "s")))
    )
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#212529}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #dee2e6;padding:.3em .6em}"
        "img{max-width:100%;display:block;margin:.5em 0}h2{border-bottom:1px solid #dee2e6}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Pipeline run report</title>"
        f"<style>{style}</style></head><body><h1>Pipeline run report</h1>{''.join(sections)}</body></html>"
    )


def write_report(run_dir: Path, report: Mapping[str, Any], pictures: Mapping[str, str]) -> Path:
    """Write ``report.json`` and ``report.html`` into ``run_dir``; return the HTML path."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "report.json").write_text(json.dumps(report, indent=2, default=str))
    page = run_dir / "report.html"
    page.write_text(render_html(report, pictures))
    return page
