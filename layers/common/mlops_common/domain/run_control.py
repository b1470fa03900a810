"""One training run at a time, started when uploads have settled: the rules, without AWS.

Three records in the ledger carry the state (``adapters.run_ledger`` stores them):

- the **run lease**: which execution may train now, until when. It is taken with a conditional
  write before ``StartExecution`` (or by the execution's first state when a schedule or a person
  started it), extended when the run begins, and released when the run's status-change event
  says it ended. Its expiry is the safety net for a run whose end event never arrives.
- the **pending uploads**: how many accepted uploads no run has claimed yet, when the first and
  the last of them arrived, and a version that every change increments (the claim is conditional
  on it, so an upload that lands between reading and claiming is never lost).
- the **pending retraining**: a drift or manual request that found a run active; the run that
  ends next starts it.

A run claims the pending uploads only when they have settled: no upload for the quiet period, or
the oldest pending one has waited the maximum delay (so a camera line that never pauses still
trains). What it claims is a snapshot bounded by the claim time: later uploads belong to the
follow-up run, which the end of this one starts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

RunAction = Literal["proceed", "wait", "skip"]


@dataclass(frozen=True)
class QuietPolicy:
    """When pending uploads are settled enough to train on."""

    quiet_seconds: int
    max_delay_seconds: int

    def __post_init__(self) -> None:
        if self.quiet_seconds < 0 or self.max_delay_seconds < 0:
            raise ValueError("quiet_seconds and max_delay_seconds must not be negative")


@dataclass(frozen=True)
class PendingUploads:
    """Accepted uploads that no run has claimed yet."""

    count: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    version: int = 0
    covered_until: datetime | None = None  # the snapshot bound of the last claim

    @property
    def any(self) -> bool:
        return self.count > 0


@dataclass(frozen=True)
class Lease:
    """Who holds the one-run lease, and until when (epoch seconds)."""

    holder: str
    trigger: str
    expires_at: int
    acquired_at: datetime | None = None

    def live(self, now: datetime) -> bool:
        """DynamoDB deletes expired items lazily, so the expiry is compared, never mere existence."""
        return self.expires_at > int(now.timestamp())


@dataclass(frozen=True)
class Settling:
    """Whether the pending uploads may be claimed now, or how long to wait before asking again."""

    ready: bool
    wait_seconds: int
    reason: str


def settle(pending: PendingUploads, policy: QuietPolicy, now: datetime) -> Settling:
    """Decide whether a run may claim the pending uploads at ``now``."""
    if not pending.any or pending.last_at is None:
        return Settling(ready=True, wait_seconds=0, reason="no uploads pending")
    quiet_for = (now - pending.last_at).total_seconds()
    waited = (now - (pending.first_at or pending.last_at)).total_seconds()
    if quiet_for >= policy.quiet_seconds:
        reason = f"no new upload for {quiet_for:.0f} s ({pending.count} pending)"
        return Settling(ready=True, wait_seconds=0, reason=reason)
    if waited >= policy.max_delay_seconds:
        return Settling(
            ready=True,
            wait_seconds=0,
            reason=f"oldest pending upload waited {waited:.0f} s, the maximum ({pending.count} pending)",
        )
    remaining = min(policy.quiet_seconds - quiet_for, policy.max_delay_seconds - waited)
    # Whole seconds for a Wait state; never 0, or the loop would spin.
    return Settling(
        ready=False,
        wait_seconds=max(1, int(remaining + 0.999)),
        reason=f"uploads still arriving: last {quiet_for:.0f} s ago ({pending.count} pending)",
    )


def quiet_deadline(pending: PendingUploads, policy: QuietPolicy) -> datetime | None:
    """When the pending uploads become claimable if nothing else arrives (None: nothing pending)."""
    if not pending.any or pending.last_at is None:
        return None
    quiet = pending.last_at + timedelta(seconds=policy.quiet_seconds)
    oldest = (pending.first_at or pending.last_at) + timedelta(seconds=policy.max_delay_seconds)
    return min(quiet, oldest)


def run_name(trigger: str, now: datetime, scope: str) -> str:
    """``<trigger>-<yyyymmddTHHMMSS>-<hash8>``: unique per start; the lease, not the name, prevents twins.

    The hash covers microseconds and ``scope`` (the state machine ARN), so two starts in the same
    second (a follow-up right after a failed attempt) still differ, and names stay readable.
    """
    at = now.astimezone(UTC)
    digest = hashlib.sha256(f"{trigger}|{at.isoformat()}|{scope}".encode()).hexdigest()[:8]
    return f"{trigger}-{at.strftime('%Y%m%dT%H%M%S')}-{digest}"


@dataclass(frozen=True)
class PendingRetraining:
    """A drift signal or manual request that found a run active; the next run to end starts it."""

    trigger: str
    reason: str


@dataclass(frozen=True)
class FollowUp:
    trigger: str
    reason: str


def follow_up(
    ended_run: str, pending: PendingUploads, retraining: PendingRetraining | None
) -> FollowUp | None:
    """The run to start when ``ended_run`` ends, or None when nothing waits.

    Pending uploads come first: that run also answers a pending retraining (it trains on
    everything uploaded so far), so one follow-up serves both.
    """
    if pending.any:
        also = f"; also {retraining.trigger}: {retraining.reason}" if retraining else ""
        return FollowUp("upload", f"follow-up of {ended_run}: {pending.count} upload(s) pending{also}")
    if retraining is not None:
        return FollowUp(retraining.trigger, f"follow-up of {ended_run}: {retraining.reason}")
    return None
