"""The expiry clock of ledger records, leases and the drift cooldown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from mlops_common.domain.triggers import expiry_epoch

T0 = datetime(2026, 11, 12, 10, 7, 31, tzinfo=UTC)


def test_expiry_is_epoch_seconds_minutes_later() -> None:
    assert expiry_epoch(T0, 60) == int(T0.timestamp()) + 3600


def test_expiry_is_the_same_in_any_timezone() -> None:
    local = T0.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert expiry_epoch(local, 15) == expiry_epoch(T0, 15)
