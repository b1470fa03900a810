"""The first step of every training run: hold the one-run lease, then claim uploads that have settled."""

from __future__ import annotations

from datetime import datetime, timedelta

from mlops_common.domain.run_control import QuietPolicy, settle
from mlops_common.models import BeginRunOutcome, BeginRunRequest
from mlops_common.observability import logger
from mlops_common.ports import RunControl

# Triggers whose request must not be lost when another run is active: the run that ends next
# starts them. A schedule tick is simply skipped: the next tick comes anyway.
QUEUED_WHEN_BUSY = {"drift", "manual"}


def begin_run(
    request: BeginRunRequest,
    *,
    runs: RunControl,
    policy: QuietPolicy,
    lease_minutes: int,
    now: datetime,
) -> BeginRunOutcome:
    """Decide whether this execution proceeds (with its snapshot), waits, or is skipped."""
    expires_at = int((now + timedelta(minutes=lease_minutes)).timestamp())
    # Taking it again as its holder extends the expiry: a long quiet period never loses the lease.
    if not runs.take_lease(request.execution_name, request.trigger, now, expires_at):
        holder = runs.lease()
        holder_name = holder.holder if holder else "another run"
        if request.trigger in QUEUED_WHEN_BUSY:
            runs.request_retraining(request.trigger, request.reason, now)
            reason = f"{holder_name} is running: {request.trigger} retraining queued for when it ends"
        else:
            reason = f"{holder_name} is running: this {request.trigger} run is skipped"
        logger.info("run skipped", holder=holder_name, trigger=request.trigger, reason=reason)
        return BeginRunOutcome(action="skip", reason=reason)

    pending = runs.pending_uploads()
    decision = settle(pending, policy, now)
    if not decision.ready:
        logger.info(
            "waiting for uploads to settle", pending=pending.count, wait_seconds=decision.wait_seconds
        )
        return BeginRunOutcome(
            action="wait", wait_seconds=decision.wait_seconds, reason=decision.reason, uploads=pending.count
        )
    if not runs.claim_pending_uploads(pending, until=now):
        # An upload was counted between the read and the claim: the quiet period starts again.
        logger.info("an upload arrived while claiming: waiting again")
        return BeginRunOutcome(
            action="wait",
            wait_seconds=max(1, policy.quiet_seconds),
            reason="an upload arrived while claiming",
            uploads=pending.count,
        )
    # This run trains on everything uploaded so far, so it answers a queued retraining too.
    runs.clear_retraining()
    since = pending.covered_until.isoformat() if pending.covered_until else ""
    logger.info(
        "run begins", uploads=pending.count, since=since, until=now.isoformat(), reason=decision.reason
    )
    return BeginRunOutcome(
        action="proceed", reason=decision.reason, uploads=pending.count, since=since, until=now.isoformat()
    )
