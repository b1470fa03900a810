"""Trigger fan-in: 10,000 uploads in bursts through the real EventBridge -> SQS -> start_pipeline path.

Runs in the local runtime: objects are put into the embedded S3 under ``incoming/``, the template's
EventBridge rule sends them to the SQS queue, the poller honours the event source mapping's batch
size and batching window (scaled by the runtime's time factor) and invokes the real
``start_pipeline`` handler. The jobs the started executions would run are replaced by a stand-in
that fails at once: this benchmark counts starts, it does not train.

Baseline: the naive design, one execution (and one Lambda invocation) per object.
"""

from __future__ import annotations

import os
import time

from bench.common import BenchResult, Figure, write_result
from mlops_local.executors.base import JobResult
from mlops_local.runtime import LocalRuntime

# The trigger's own logs (one line per decision) would drown the benchmark's output.
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

UPLOADS = 10_000
BURSTS = 10
LABELS = ("ok", "scratch", "dent", "crack")


def _no_job(*_: object) -> JobResult:
    return JobResult(status="Failed", failure_reason="fan-in benchmark: jobs are not run")


def main() -> None:
    stand_ins = dict.fromkeys(("glue", "training", "tuning", "processing", "transform"), _no_job)
    runtime = LocalRuntime(executors=stand_ins, package_code=False)
    runtime.start()
    try:
        s3 = runtime.client("s3")
        bucket = runtime.provisioned.ref("DataBucket")
        began = time.monotonic()
        per_burst = UPLOADS // BURSTS
        for burst in range(BURSTS):
            # A burst lands on S3 within seconds; the embedded S3 is slower, so the pollers are held
            # while it lands (it then arrives as on AWS: all queued, then batched by the window).
            with runtime.triggers_held():
                for index in range(per_burst):
                    label = LABELS[index % len(LABELS)]
                    key = f"incoming/line-{burst % 2}/{label}/burst{burst:02d}-{index:05d}.jpg"
                    s3.put_object(Bucket=bucket, Key=key, Body=b"\xff\xd8\xff\xe0 not decoded by the trigger")
            runtime.wait_until_idle(timeout=600)
            print(f"burst {burst + 1}/{BURSTS}: {per_burst} uploads delivered", flush=True)
        elapsed = time.monotonic() - began
        executions = runtime.executions()
        invocations = [
            outcome
            for logical_id, _, outcome in runtime.provisioned.functions.invocations
            if logical_id == "StartPipelineFunction"
        ]
        failed_items = sum(len((o.payload or {}).get("batchItemFailures", [])) for o in invocations)
        window = runtime.provisioned.template.parameters.get("TriggerWindowMinutes")
    finally:
        runtime.stop()
    started = len(executions)
    figures = [
        Figure(
            what=f"executions started by {UPLOADS:,} uploads in {BURSTS} bursts",
            how="local runtime, real rule/queue/handler, executions listed after the queue drained",
            result=started,
            unit="executions",
            baseline=UPLOADS,
            baseline_what="one execution per object",
            ratio=round(UPLOADS / max(started, 1), 1),
            target=">= 100x fewer than one per object; at most one per window",
            met=UPLOADS / max(started, 1) >= 100,
        ),
        Figure(
            what="start_pipeline invocations for the same uploads",
            how="SQS batches delivered by the event source mapping poller",
            result=len(invocations),
            unit="invocations",
            baseline=UPLOADS,
            baseline_what="one invocation per object",
            ratio=round(UPLOADS / max(len(invocations), 1), 1),
        ),
    ]
    details = {
        "uploads": UPLOADS,
        "bursts": BURSTS,
        "seconds": round(elapsed, 1),
        "executions": [e["name"] for e in executions],
        "failed_batch_items": failed_items,
        "trigger_window_minutes": window,
        "notes": (
            f"{UPLOADS:,} uploads started {started} execution(s) through {len(invocations)} start_pipeline "
            f"invocations ({UPLOADS / max(started, 1):,.0f}x fewer executions than one per object); "
            f"executions are named per {window}-minute trigger window, so a longer burst starts at most "
            "one per window, and none while one runs."
        ),
    }
    print(write_result(BenchResult("fan_in", figures, details)))


if __name__ == "__main__":
    main()
