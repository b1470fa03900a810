"""Orchestration cost per training run: state transitions and Lambda invocations per execution.

Executions of the real training-pipeline ASL in the local runtime, with the template's own gate
thresholds, on the demo's synthetic dataset: the happy path (the upload's own run: no champion yet,
trains, passes the gate, deploys), a gate failure (a one-epoch challenger against that champion) and
the spot fallback (a spot capacity error on the tuning job, injected). Transitions are the history's
``*StateEntered`` events, as Step Functions Standard bills them; the cost follows from the price
table's per-transition price.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import BenchResult, Figure, write_result
from mlops_local.executors.faults import FaultPlan, parse_fault_spec
from mlops_local.runtime import LocalRuntime
from mlops_local.synthetic_images import generate_dataset
from mlops_planning.cost_model import load_price_table

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
OVERRIDES = {"TuningMaxJobs": "2", "TuningMaxParallelJobs": "1", "TrainingEpochs": "12"}
# Paced as the end-to-end tests pace their upload, so that the local trigger sees one stream.
UPLOAD_OBJECTS_PER_SECOND = 40
# Invoked by the trigger around an execution (before it, and on its status-change event), not by it.
NOT_IN_THE_RUN = {"StartPipelineFunction", "RunEndedFunction"}
SCENARIOS: dict[str, dict[str, Any]] = {
    "gate failure": {"overrides": {"epochs": 1}, "fault": None},
    "spot fallback": {"overrides": None, "fault": "spot-capacity"},
}


def _run(runtime: LocalRuntime, name: str, scenario: dict[str, Any]) -> dict[str, Any]:
    # One run at a time: a manual run started while the previous one still holds the lease is
    # skipped, so wait until its end has released it (and any follow-up has ended).
    runtime.wait_until_trained(timeout=1800)
    if scenario["fault"]:
        runtime.faults.add(parse_fault_spec(scenario["fault"]))
    execution_input: dict[str, Any] = {
        "trigger": "manual",
        "reason": f"orchestration benchmark: {name}",
        "requested_at": datetime.now(UTC).isoformat(),
    }
    if scenario["overrides"]:
        execution_input["overrides"] = scenario["overrides"]
    before = len(runtime.provisioned.functions.invocations)
    arn = runtime.start_execution(execution_input)
    return _measure(runtime, arn, before)


def _measure(runtime: LocalRuntime, arn: str, invocations_before: int) -> dict[str, Any]:
    described = runtime.wait_for_execution(arn, timeout=1800)
    events = runtime.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)[
        "events"
    ]
    visited = [visit.name for visit in runtime.history(arn)]
    transitions = sum(1 for event in events if event["type"].endswith("StateEntered"))
    # Waiting repeats three states a turn: the uploads' quiet period (WaitForUploadsToSettle,
    # BeginRun, RunDecision) and the endpoint's polls after the first (WaitForEndpoint,
    # DescribeEndpoint, CheckEndpointStatus). How many turns depends on time, not on the path.
    waits = visited.count("WaitForUploadsToSettle") + max(0, visited.count("WaitForEndpoint") - 1)
    return {
        "status": described["status"],
        "transitions": transitions,
        "transitions_of_the_path": transitions - 3 * waits,
        "lambda_invocations": sum(
            1
            for logical_id, _, _ in runtime.provisioned.functions.invocations[invocations_before:]
            if logical_id not in NOT_IN_THE_RUN
        ),
        "states_visited": visited,
        "ended_in": visited[-1] if visited else None,
        # The run's record (the execution's output) says how it ended: deployed, approved, rejected.
        "outcome": json.loads(described.get("output") or "{}").get("outcome", described["status"]),
    }


def main() -> None:
    price = load_price_table().get("stepfunctions.standard.transition")
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        generate_dataset(Path(folder) / "images", images_per_class=200, seed=7)
        runtime = LocalRuntime(run_dir=Path(folder) / "run", overrides=OVERRIDES, faults=FaultPlan())
        runtime.start()
        try:
            before = len(runtime.provisioned.functions.invocations)
            # As a user's sync, while the trigger runs: the run starts with the first batch and waits
            # (BeginRun's loop) until no upload has arrived for the quiet period, then claims them all.
            runtime.upload_directory(
                Path(folder) / "images" / "line-a", "line-a", objects_per_second=UPLOAD_OBJECTS_PER_SECOND
            )
            runtime.wait_until_idle(timeout=120)
            upload = min(runtime.executions(), key=lambda e: e["startDate"])["executionArn"]
            runs["happy path"] = _measure(runtime, upload, before)  # the upload's own run
            print(
                f"happy path: {runs['happy path']['status']} via {runs['happy path']['ended_in']}", flush=True
            )
            for name, scenario in SCENARIOS.items():
                runs[name] = _run(runtime, name, scenario)
                print(f"{name}: {runs[name]['status']} ({runs[name]['outcome']})", flush=True)
        finally:
            runtime.stop()
    figures = []
    for name, run in runs.items():
        usd = run["transitions"] * price.usd
        figures.append(
            Figure(
                what=f"state transitions of the path, {name} (each wait once)",
                how="StateEntered events less 3 per extra turn of the settle wait and of the endpoint poll",
                result=run["transitions_of_the_path"],
                unit="transitions",
                target="<= 25 (issue 17)" if name == "happy path" else None,
                met=run["transitions_of_the_path"] <= 25 if name == "happy path" else None,
            )
        )
        figures.append(
            Figure(
                what=f"state transitions, {name} ({run['outcome']})",
                how="StateEntered events of one execution of the real ASL",
                result=run["transitions"],
                unit="transitions",
            )
        )
        figures.append(
            Figure(
                what=f"Lambda invocations, {name}",
                how="in-process handler calls during the execution",
                result=run["lambda_invocations"],
                unit="invocations",
            )
        )
        figures.append(
            Figure(
                what=f"Step Functions cost, {name}",
                how=f"transitions x {price.usd} USD ({price.unit})",
                result=round(usd, 6),
                unit="USD",
            )
        )
    happy = runs["happy path"]
    details = {
        "runs": runs,
        "state_transitions_per_run": happy["transitions"],
        "lambda_invocations_per_run": happy["lambda_invocations"],
        "notes": (
            f"The happy path makes {happy['transitions']} state transitions and {happy['lambda_invocations']}"
            f" Lambda invocations: {happy['transitions'] * price.usd:.5f} USD of Step Functions per run."
            " Orchestration is not where a run's money goes (see the cost benchmark)."
        ),
    }
    print(write_result(BenchResult("orchestration", figures, details)))


if __name__ == "__main__":
    main()
