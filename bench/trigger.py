"""Upload trigger: 10,000 uploads arriving while the run already exists reach one run (+ one follow-up).

Runs in the local runtime: objects are put into the embedded S3 under ``incoming/`` by a few paced
threads, spread over three quiet periods (``TriggerQuietSeconds``) as far as the embedded S3 keeps
up, while the SQS pollers run. The template's EventBridge rule sends each object's event to the SQS
queue; the poller honours the event source mapping's batch size and (scaled) batching window and
invokes the real ``start_pipeline``, which counts the uploads as pending and starts a run only if it
takes the one-run lease. The run's first state (``BeginRun``) loops through a Wait state until no
upload has arrived for the quiet period, then claims the pending uploads. The jobs the run would
start are replaced by a stand-in that fails at once: the run ends, ``run_ended`` releases the lease
and starts a follow-up run if uploads are still pending. This benchmark counts runs and claims; it
does not train.

Baseline: the naive trigger (no lease, no quiet period), one execution per object.
"""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from bench.common import BenchResult, Figure, write_result
from mlops_local.executors.base import JobResult
from mlops_local.runtime import LocalRuntime

# The trigger's own logs (one line per decision) would drown the benchmark's output.
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

UPLOADS = int(os.environ.get("BENCH_TRIGGER_UPLOADS", "10000"))
QUIET_PERIODS = 3  # the uploads are spread over this many quiet periods
THREADS = 4  # as `aws s3 sync` puts several objects at once
LABELS = ("ok", "scratch", "dent", "crack")
SAMPLE_SECONDS = 0.1


def _no_job(*_: object) -> JobResult:
    return JobResult(status="Failed", failure_reason="trigger benchmark: jobs are not run")


class _Watcher:
    """Samples the trigger's state while uploads arrive: the last ``last_upload_at`` before a claim."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self._runtime = runtime
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="trigger-watcher", daemon=True)
        self.last_upload_at: datetime | None = None
        self.max_pending = 0
        self.samples = 0

    def __enter__(self) -> _Watcher:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            state = self._runtime.trigger_state()
            self.samples += 1
            self.max_pending = max(self.max_pending, state["pending_uploads"])
            if state["last_upload_at"]:
                seen = datetime.fromisoformat(state["last_upload_at"])
                if self.last_upload_at is None or seen > self.last_upload_at:
                    self.last_upload_at = seen
            self._stop.wait(SAMPLE_SECONDS)


def _upload(runtime: LocalRuntime, rate: float) -> tuple[datetime, datetime]:
    """Put ``UPLOADS`` objects at ``rate`` per second (or as fast as S3 takes them); first and last put."""
    s3 = runtime.client("s3")
    bucket = runtime.provisioned.ref("DataBucket")
    body = b"\xff\xd8\xff\xe0 not decoded by the trigger"
    done: list[datetime] = [datetime.min.replace(tzinfo=UTC)] * UPLOADS
    began = time.monotonic()
    first = datetime.now(UTC)

    def put(index: int) -> None:
        time.sleep(max(0.0, began + index / rate - time.monotonic()))
        key = f"incoming/line-{index % 2}/{LABELS[index % len(LABELS)]}/img-{index:05d}.jpg"
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        done[index] = datetime.now(UTC)
        if (index + 1) % 1000 == 0:
            print(f"  {index + 1:,} uploads put in {time.monotonic() - began:.1f} s", flush=True)

    with ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="put") as pool:
        list(pool.map(put, range(UPLOADS)))
    return first, max(done)


def _begin_outcomes(runtime: LocalRuntime, arn: str) -> list[dict[str, Any]]:
    """Every BeginRun result of an execution (``$.run.begin``), in order."""
    sfn = runtime.client("stepfunctions")
    outcomes: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        for event in page["events"]:
            exited = event.get("stateExitedEventDetails")
            if exited and exited["name"] == "BeginRun":
                outcomes.append(json.loads(exited["output"])["run"]["begin"])
        if not page.get("nextToken"):
            return outcomes
        kwargs["nextToken"] = page["nextToken"]


def _ledger_objects(runtime: LocalRuntime) -> dict[str, int]:
    """The ledger's object items by status, and how many name a run (``run`` set by start_pipeline)."""
    dynamodb = runtime.client("dynamodb")
    counts: dict[str, int] = {"items": 0, "accepted": 0, "rejected": 0, "with_run": 0}
    kwargs: dict[str, Any] = {
        "TableName": runtime.provisioned.ref("PipelineTable"),
        "FilterExpression": "begins_with(pk, :object)",
        "ExpressionAttributeValues": {":object": {"S": "object#"}},
    }
    while True:
        page = dynamodb.scan(**kwargs)
        for item in page["Items"]:
            counts["items"] += 1
            status = item.get("status", {}).get("S", "")
            counts[status] = counts.get(status, 0) + 1
            counts["with_run"] += "run" in item
        if "LastEvaluatedKey" not in page:
            return counts
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def main() -> None:
    stand_ins = dict.fromkeys(("glue", "training", "tuning", "processing", "transform"), _no_job)
    runtime = LocalRuntime(executors=stand_ins, package_code=False, overrides={"LogLevel": "WARNING"})
    runtime.start()
    try:
        parameters = runtime.provisioned.template.parameters
        quiet = float(parameters["TriggerQuietSeconds"])
        max_delay = float(parameters["TriggerMaxDelaySeconds"])
        rate = UPLOADS / (QUIET_PERIODS * quiet)
        invocations_before = len(runtime.provisioned.functions.invocations)
        began = time.monotonic()
        with _Watcher(runtime) as watcher:
            first_put, last_put = _upload(runtime, rate)
            put_seconds = time.monotonic() - began
            print(f"{UPLOADS:,} uploads put in {put_seconds:.1f} s (target {QUIET_PERIODS * quiet:.0f} s)")
            executions = runtime.wait_until_trained(timeout=1800)
        elapsed = time.monotonic() - began
        state = runtime.trigger_state()
        runs: list[dict[str, Any]] = []
        for execution in sorted(executions, key=lambda e: e["startDate"]):
            arn = execution["executionArn"]
            described = runtime.client("stepfunctions").describe_execution(executionArn=arn)
            visits = runtime.history(arn)
            outcomes = _begin_outcomes(runtime, arn)
            claim = next((o for o in outcomes if o["action"] == "proceed"), None)
            runs.append(
                {
                    "name": execution["name"],
                    "status": execution["status"],
                    "trigger": json.loads(described["input"]).get("trigger"),
                    "reason": json.loads(described["input"]).get("reason"),
                    "started": execution["startDate"],
                    "transitions": len(visits),
                    "begin_run_calls": len(outcomes),
                    "waits": sum(1 for o in outcomes if o["action"] == "wait"),
                    "claimed_uploads": claim["uploads"] if claim else 0,
                    "claimed_until": claim["until"] if claim else None,
                    "ended_in": visits[-1].name if visits else None,
                }
            )
        invocations = runtime.provisioned.functions.invocations[invocations_before:]
        by_function: dict[str, int] = {}
        for logical_id, _, _ in invocations:
            by_function[logical_id] = by_function.get(logical_id, 0) + 1
        start_outcomes = [o for lid, _, o in invocations if lid == "StartPipelineFunction"]
        failed_items = sum(len((o.payload or {}).get("batchItemFailures", [])) for o in start_outcomes)
        ledger = _ledger_objects(runtime)
    finally:
        runtime.stop()

    claimed = sum(run["claimed_uploads"] for run in runs)
    unaccounted = UPLOADS - claimed + state["pending_uploads"]
    follow_ups = len(runs) - 1
    assert runs, "no run started"
    assert len(runs) <= 2, f"{len(runs)} runs started: expected one run and at most one follow-up"
    assert unaccounted == 0 and state["pending_uploads"] == 0, (
        f"{claimed:,} of {UPLOADS:,} uploads claimed, {state['pending_uploads']} pending"
    )
    last_claim = max(datetime.fromisoformat(run["claimed_until"]) for run in runs if run["claimed_until"])
    from_last_put = (last_claim - last_put).total_seconds()
    assert watcher.last_upload_at is not None
    from_last_recorded = (last_claim - watcher.last_upload_at).total_seconds()
    spread = (last_put - first_put).total_seconds()
    first_run = runs[0]
    first_started = first_run["started"]
    run_before_last_put = (last_put - first_started).total_seconds()
    start_calls = by_function.get("StartPipelineFunction", 0)
    begin_calls = by_function.get("BeginRunFunction", 0)
    print(
        f"runs {len(runs)} (follow-ups {follow_ups}), claimed {claimed:,}, unaccounted {unaccounted}, "
        f"claim {from_last_put:.2f} s after the last put, {from_last_recorded:.2f} s after last_upload_at"
    )

    figures = [
        Figure(
            what=f"executions started by {UPLOADS:,} uploads over {spread:.0f} s",
            how="local runtime, real rule/queue/start_pipeline/BeginRun/run_ended, listed once all ended",
            result=len(runs),
            unit="executions",
            baseline=UPLOADS,
            baseline_what="naive trigger: one execution per object",
            ratio=round(UPLOADS / len(runs), 1),
            target="1 run + at most 1 follow-up",
            met=len(runs) <= 2,
        ),
        Figure(
            what="uploads unaccounted",
            how="uploads - sum of the uploads claimed by the runs' BeginRun (proceed) + pending at the end",
            result=unaccounted,
            unit="uploads",
            target="0",
            met=unaccounted == 0,
        ),
        Figure(
            what="last upload (start_pipeline's last_upload_at) to the run's claim",
            how="BeginRun proceed `until` - the pending item's last_at sampled every 0.1 s before the claim",
            result=round(from_last_recorded, 2),
            unit="s",
            target=f"quiet period ({quiet:.0f} s) + < 1 s",
            met=quiet <= from_last_recorded < quiet + 1,
        ),
        Figure(
            what="last put to S3 to the run's claim",
            how="BeginRun proceed `until` - completion of the last PutObject (includes the queue's backlog)",
            result=round(from_last_put, 2),
            unit="s",
        ),
        Figure(
            what="start_pipeline invocations for the same uploads",
            how="SQS batches delivered by the event source mapping poller",
            result=start_calls,
            unit="invocations",
            baseline=UPLOADS,
            baseline_what="one invocation per object",
            ratio=round(UPLOADS / max(start_calls, 1), 1),
        ),
        Figure(
            what="BeginRun invocations (all runs)",
            how="the quiet-period loop: one call per Wait, plus the claim",
            result=begin_calls,
            unit="invocations",
        ),
        Figure(
            what="state transitions of the first run (incl. its wait loop)",
            how="StateEntered events of the execution, up to the stand-in job's failure",
            result=first_run["transitions"],
            unit="transitions",
        ),
    ]
    details = {
        "uploads": UPLOADS,
        "put_threads": THREADS,
        "quiet_seconds": quiet,
        "max_delay_seconds": max_delay,
        "target_spread_seconds": QUIET_PERIODS * quiet,
        "target_puts_per_second": round(rate, 1),
        "spread_seconds": round(spread, 2),
        "puts_per_second": round(UPLOADS / max(spread, 1e-9), 1),
        "first_put": first_put.isoformat(),
        "last_put": last_put.isoformat(),
        "last_upload_at": watcher.last_upload_at.isoformat(),
        "claimed_until": last_claim.isoformat(),
        "run_started_before_last_put_seconds": round(run_before_last_put, 2),
        "max_pending_seen": watcher.max_pending,
        "claimed": claimed,
        "pending_at_end": state["pending_uploads"],
        "follow_ups": follow_ups,
        "ledger_objects": ledger,
        "failed_batch_items": failed_items,
        "lambda_invocations": by_function,
        "runs": runs,
        "seconds": round(elapsed, 1),
    }
    details["notes"] = _notes(details, runs, from_last_recorded, from_last_put, start_calls, begin_calls)
    print(write_result(BenchResult("trigger", figures, details)))


def _notes(
    details: dict[str, Any],
    runs: list[dict[str, Any]],
    from_last_recorded: float,
    from_last_put: float,
    start_calls: int,
    begin_calls: int,
) -> str:
    uploads, quiet = details["uploads"], details["quiet_seconds"]
    follow = (
        f" and {details['follow_ups']} follow-up ({runs[1]['claimed_uploads']:,} uploads)"
        if details["follow_ups"]
        else " and no follow-up"
    )
    return (
        f"{uploads:,} uploads put by {details['put_threads']} threads over {details['spread_seconds']:.0f} s "
        f"(target {details['target_spread_seconds']:.0f} s, three {quiet:.0f}-s quiet periods; the embedded S3 "
        f"took {details['puts_per_second']:.0f} puts/s) started 1 run{follow}, against {uploads:,} executions "
        f"for a trigger without the lease and the quiet period. The run existed "
        f"{details['run_started_before_last_put_seconds']:.0f} s before the last put; its BeginRun looped "
        f"{runs[0]['waits']} times through the Wait state ({runs[0]['transitions']} state transitions in all) "
        f"and claimed {runs[0]['claimed_uploads']:,} uploads {from_last_recorded:.1f} s after start_pipeline "
        f"recorded the last one ({from_last_put:.1f} s after the last put, which includes the queue's "
        f"backlog). Unaccounted: {uploads - details['claimed'] + details['pending_at_end']}; the ledger holds "
        f"{details['ledger_objects']['items']:,} object items. {start_calls} start_pipeline and {begin_calls} "
        "BeginRun invocations in all."
    )


if __name__ == "__main__":
    main()
