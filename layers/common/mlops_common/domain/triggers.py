"""Trigger windows, deterministic execution names and the drift cooldown."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_start(now: datetime, window_minutes: int) -> datetime:
    """Start (UTC) of the fixed window of ``window_minutes`` that contains ``now``."""
    if window_minutes < 1:
        raise ValueError("window_minutes must be at least 1")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    elapsed = now.astimezone(UTC) - _EPOCH
    window = timedelta(minutes=window_minutes)
    return _EPOCH + (elapsed // window) * window


def execution_name(trigger: str, window: datetime, scope: str = "") -> str:
    """``<trigger>-<yyyymmddTHHMM>-<hash8>``: the same trigger and window always give the same name.

    Step Functions refuses a second execution with a name already used, so two starts for the
    same window collapse into one. ``scope`` (the state machine ARN) keeps names of different
    pipelines apart in logs and ledgers.
    """
    stamp = window.astimezone(UTC).strftime("%Y%m%dT%H%M")
    digest = hashlib.sha256(f"{trigger}|{window.isoformat()}|{scope}".encode()).hexdigest()[:8]
    return f"{trigger}-{stamp}-{digest}"


def expiry_epoch(now: datetime, minutes: int) -> int:
    """Epoch seconds ``minutes`` after ``now``: the value of a DynamoDB TTL attribute."""
    return int((now + timedelta(minutes=minutes)).timestamp())


def cooldown_active(expires_at: int | None, now: datetime) -> bool:
    """True while a cooldown that ends at ``expires_at`` (epoch seconds) still holds.

    DynamoDB deletes expired items lazily (hours later), so the expiry is compared, never
    the item's mere existence.
    """
    return expires_at is not None and expires_at > int(now.timestamp())
