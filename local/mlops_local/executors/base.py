"""What every local job executor receives and returns.

The embedded AWS layer (``mlops_local.engine``) sees a job being created (Glue ``StartJobRun``,
SageMaker ``CreateTrainingJob`` / ``CreateHyperParameterTuningJob`` / ``CreateProcessingJob`` /
``CreateTransformJob``), runs the matching executor in a worker thread with the request exactly as
the API received it, and records the returned ``JobResult`` where the matching Describe call reads
it, so the state machine's ``.sync`` integration sees what it would see on AWS. The contract is the
engine's (``mlops_local.engine.jobs``): the executors depend on the engine, never the reverse.

What a job prints goes to ``ctx.log`` (``job.log`` in its folder), where CloudWatch Logs would
keep it on AWS: a script's stdout and stderr line by line; ``ctx.progress`` messages are logged too,
so a line the job printed is shown with ``ctx.show_output`` instead, to be logged once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from mlops_local.engine.jobs import ExecutionContext, Executor, JobLog, JobResult, JobStatus

__all__ = ["ExecutionContext", "Executor", "JobLog", "JobResult", "JobStatus", "run_timed"]


def run_timed(
    run: Callable[[Mapping[str, Any], ExecutionContext], JobResult],
    request: Mapping[str, Any],
    ctx: ExecutionContext,
    *,
    start_field: str,
    end_field: str,
) -> JobResult:
    """``run`` the job and report its start and end under the Describe fields its kind is billed by."""
    started = datetime.now(UTC)
    result = run(request, ctx)
    result.describe_fields = {start_field: started, end_field: datetime.now(UTC), **result.describe_fields}
    return result
