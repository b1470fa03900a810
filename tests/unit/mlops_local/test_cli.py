"""What ``upload --wait`` prints while it follows the trigger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mlops_local.cli import trigger_line


def state(pending: int = 0, claimable_in: float | None = None, holder: str | None = None) -> dict[str, Any]:
    claimable = None if claimable_in is None else (datetime.now(UTC) + timedelta(seconds=claimable_in))
    return {
        "pending_uploads": pending,
        "claimable_at": claimable.isoformat() if claimable else None,
        "lease": {"holder": holder, "trigger": "upload", "expires_at": 0} if holder else None,
        "queued_retraining": None,
    }


def test_uploads_still_settling_show_when_the_quiet_period_ends() -> None:
    line = trigger_line(state(pending=12, claimable_in=60, holder="upload-a"), [])
    assert "12 upload(s) pending, quiet period ends" in line
    assert "run lease: upload-a" in line


def test_settled_uploads_behind_another_run_wait_for_the_follow_up() -> None:
    running = [{"name": "upload-a", "current_state": "Train", "status": "RUNNING"}]
    line = trigger_line(state(pending=3, claimable_in=-5, holder="upload-a"), running)
    assert line == "  3 upload(s) pending for the follow-up run; run lease: upload-a; upload-a: Train"


def test_nothing_to_do_is_idle() -> None:
    assert trigger_line(state(), []) == "  idle"
