"""The one place that sees a training run end: release the lease, start the follow-up run.

A run may end anywhere (succeeded, rejected by the gate, failed at a task, timed out, stopped), so
its end is observed from the execution's status-change event, not from states inside it. Those
events are delivered on a best-effort basis, so a periodic reconcile tick also asks whether the
lease holder still runs, and finishes for it when it does not.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mlops_common.aws_events import ExecutionStatusChange, ReconcileTick, RunEndedEvent
from mlops_common.domain.run_control import follow_up, run_name
from mlops_common.models import PipelineExecutionInput, RunEndedOutcome
from mlops_common.observability import logger
from mlops_common.ports import RunControl, TrainingRuns

# A lease younger than this whose execution does not exist yet may belong to a start in flight.
START_GRACE = timedelta(minutes=5)


def handle_run_event(
    event: RunEndedEvent, *, runs: RunControl, pipeline: TrainingRuns, lease_minutes: int, now: datetime
) -> RunEndedOutcome:
    """An execution's status change, or the reconcile tick."""
    if isinstance(event, ExecutionStatusChange):
        return on_execution_status_change(
            event, runs=runs, pipeline=pipeline, lease_minutes=lease_minutes, now=now
        )
    return on_reconcile_tick(event, runs=runs, pipeline=pipeline, lease_minutes=lease_minutes, now=now)


def on_execution_status_change(
    event: ExecutionStatusChange,
    *,
    runs: RunControl,
    pipeline: TrainingRuns,
    lease_minutes: int,
    now: datetime,
) -> RunEndedOutcome:
    """A training execution ended: release its lease if it held it, then start what waits."""
    detail = event.detail
    if detail.state_machine_arn != pipeline.state_machine_arn:
        return RunEndedOutcome(
            action="ignored", reason=f"{detail.state_machine_arn} is not this stack's training pipeline"
        )
    if detail.status == "RUNNING":
        if detail.redrive_count:
            return on_redrive(detail.name, runs=runs, pipeline=pipeline, lease_minutes=lease_minutes, now=now)
        return RunEndedOutcome(action="ignored", reason=f"{detail.name} is running, not ended")
    if not runs.release_lease(detail.name):
        lease = runs.lease()
        if lease is not None and lease.live(now):
            # A skipped run, or a run whose lease expired and was taken over: the holder's end decides.
            return RunEndedOutcome(
                action="ignored",
                reason=f"{detail.name} ({detail.status}) did not hold the lease: {lease.holder} does",
            )
    logger.info("training run ended", execution_name=detail.name, status=detail.status)
    return _start_follow_up(detail.name, runs=runs, pipeline=pipeline, lease_minutes=lease_minutes, now=now)


def on_redrive(
    name: str, *, runs: RunControl, pipeline: TrainingRuns, lease_minutes: int, now: datetime
) -> RunEndedOutcome:
    """A failed run was redriven: it runs again, so it takes the lease like any other start.

    A redrive resumes after BeginRun, where runs take the lease; one training run at a time means
    a redrive that finds another run holding the lease is stopped (redrive it again later).
    """
    expires_at = int((now + timedelta(minutes=lease_minutes)).timestamp())
    if runs.take_lease(name, "redrive", now, expires_at):
        logger.info("redriven run took the lease", execution_name=name)
        return RunEndedOutcome(action="running", execution_name=name, reason=f"{name} was redriven")
    holder = runs.lease()
    holder_name = holder.holder if holder else "another run"
    cause = (
        f"{holder_name} holds the run lease (one training run at a time); redrive {name} when it has ended"
    )
    pipeline.stop(name, "RunLeaseHeld", cause)
    logger.warning("redriven run stopped", execution_name=name, holder=holder_name)
    return RunEndedOutcome(action="ignored", execution_name=name, reason=cause)


def on_reconcile_tick(
    _tick: ReconcileTick,
    *,
    runs: RunControl,
    pipeline: TrainingRuns,
    lease_minutes: int,
    now: datetime,
) -> RunEndedOutcome:
    """Finish for a run whose end event never came, and start pending work that nobody started."""
    lease = runs.lease()
    if lease is not None and lease.live(now):
        status = pipeline.status(lease.holder)
        if status == "RUNNING":
            return RunEndedOutcome(
                action="running", execution_name=lease.holder, reason=f"{lease.holder} runs"
            )
        if status is None and lease.acquired_at is not None and now - lease.acquired_at < START_GRACE:
            return RunEndedOutcome(
                action="running", execution_name=lease.holder, reason=f"{lease.holder} is being started"
            )
        logger.warning("lease holder ended unseen", holder=lease.holder, status=status)
        runs.release_lease(lease.holder)
        ended = lease.holder
    else:
        ended = "no active run"
    return _start_follow_up(ended, runs=runs, pipeline=pipeline, lease_minutes=lease_minutes, now=now)


def _start_follow_up(
    ended: str, *, runs: RunControl, pipeline: TrainingRuns, lease_minutes: int, now: datetime
) -> RunEndedOutcome:
    pending = runs.pending_uploads()
    wanted = follow_up(ended, pending, runs.pending_retraining())
    if wanted is None:
        return RunEndedOutcome(action="released", reason=f"{ended}: nothing pending")
    name = run_name(wanted.trigger, now, pipeline.state_machine_arn)
    expires_at = int((now + timedelta(minutes=lease_minutes)).timestamp())
    if not runs.take_lease(name, wanted.trigger, now, expires_at):
        holder = runs.lease()
        taken_by = holder.holder if holder else "another run"
        reason = f"{taken_by} took the lease first; it covers what waits"
        return RunEndedOutcome(action="released", reason=reason)
    try:
        execution_input = PipelineExecutionInput.model_validate(
            {
                "trigger": wanted.trigger,
                "reason": wanted.reason,
                "requested_at": now,
                "objects": pending.count or None,
            }
        )
        started = pipeline.start(name, execution_input).started
    except Exception:
        # Without an execution the lease would only block the next trigger until it expires.
        runs.release_lease(name)
        raise
    if not started:
        # Step Functions started nothing: an execution of that name exists already.
        status = pipeline.status(name)
        logger.warning("follow-up run not started", execution_name=name, status=status)
        if status == "RUNNING":
            return RunEndedOutcome(
                action="running", execution_name=name, reason=f"{name} exists already and runs"
            )
        runs.release_lease(name)
        return RunEndedOutcome(
            action="released", reason=f"Step Functions started nothing: {name} exists already ({status})"
        )
    logger.info("follow-up run started", execution_name=name, reason=wanted.reason)
    return RunEndedOutcome(action="started", execution_name=name, reason=wanted.reason)
