"""Trigger windows, execution names and the cooldown clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mlops_common.domain.triggers import cooldown_active, execution_name, expiry_epoch, window_start

T0 = datetime(2026, 11, 12, 10, 7, 31, tzinfo=UTC)


def test_window_start_floors_to_the_window() -> None:
    assert window_start(T0, 15) == datetime(2026, 11, 12, 10, 0, tzinfo=UTC)
    assert window_start(T0, 5) == datetime(2026, 11, 12, 10, 5, tzinfo=UTC)


def test_window_start_is_the_same_in_any_timezone() -> None:
    local = T0.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert window_start(local, 15) == window_start(T0, 15)


def test_window_start_rejects_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        window_start(datetime(2026, 11, 12, 10, 7), 15)


def test_execution_name_has_the_contract_shape() -> None:
    name = execution_name("upload", window_start(T0, 15), "arn:sm")
    assert re.fullmatch(r"upload-20261112T1000-[0-9a-f]{8}", name)


def test_same_window_gives_the_same_name() -> None:
    later = T0 + timedelta(minutes=7)
    assert execution_name("upload", window_start(T0, 15)) == execution_name("upload", window_start(later, 15))


def test_next_window_gives_another_name() -> None:
    later = T0 + timedelta(minutes=15)
    assert execution_name("upload", window_start(T0, 15)) != execution_name("upload", window_start(later, 15))


def test_trigger_is_part_of_the_name() -> None:
    window = window_start(T0, 15)
    assert execution_name("upload", window) != execution_name("drift", window)


def test_cooldown_holds_until_expiry_and_not_at_it() -> None:
    expires = expiry_epoch(T0, 60)
    assert cooldown_active(expires, T0 + timedelta(minutes=59))
    assert not cooldown_active(expires, T0 + timedelta(minutes=60))
    assert not cooldown_active(None, T0)
