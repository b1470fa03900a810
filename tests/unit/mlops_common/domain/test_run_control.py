"""The one-run lease, the quiet period and follow-up runs, decided with an injected clock."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from mlops_common.domain.run_control import (
    Lease,
    PendingRetraining,
    PendingUploads,
    QuietPolicy,
    follow_up,
    quiet_deadline,
    run_name,
    settle,
)

NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
POLICY = QuietPolicy(quiet_seconds=300, max_delay_seconds=3600)


def pending(count: int, first_ago: float, last_ago: float) -> PendingUploads:
    return PendingUploads(
        count=count,
        first_at=NOW - timedelta(seconds=first_ago),
        last_at=NOW - timedelta(seconds=last_ago),
        version=count,
    )


def test_nothing_pending_is_ready_at_once() -> None:
    decision = settle(PendingUploads(), POLICY, NOW)

    assert decision.ready
    assert decision.wait_seconds == 0
    assert decision.reason == "no uploads pending"


def test_a_claimed_ledger_that_kept_its_timestamps_is_nothing_pending() -> None:
    claimed = PendingUploads(count=0, first_at=NOW - timedelta(seconds=5), last_at=NOW - timedelta(seconds=1))

    assert settle(claimed, POLICY, NOW) == settle(PendingUploads(), POLICY, NOW)
    assert quiet_deadline(claimed, POLICY) is None


def test_uploads_still_arriving_wait_for_the_rest_of_the_quiet_period() -> None:
    decision = settle(pending(40, first_ago=100, last_ago=20), POLICY, NOW)

    assert decision.ready is False
    assert decision.wait_seconds == 280
    assert "40 pending" in decision.reason


def test_a_quiet_period_without_uploads_makes_them_ready() -> None:
    decision = settle(pending(40, first_ago=900, last_ago=300), POLICY, NOW)

    assert decision.ready
    assert decision.wait_seconds == 0
    assert decision.reason == "no new upload for 300 s (40 pending)"


def test_a_steady_stream_trains_when_the_oldest_upload_has_waited_the_maximum() -> None:
    decision = settle(pending(5000, first_ago=3600, last_ago=1), POLICY, NOW)

    assert decision.ready
    assert decision.wait_seconds == 0
    assert decision.reason == "oldest pending upload waited 3600 s, the maximum (5000 pending)"


def test_the_wait_never_passes_the_maximum_delay() -> None:
    decision = settle(pending(10, first_ago=3590, last_ago=1), POLICY, NOW)

    assert not decision.ready
    assert decision.wait_seconds == 10


def test_a_fraction_of_a_second_left_still_waits_one_second() -> None:
    decision = settle(pending(1, first_ago=299.5, last_ago=299.5), POLICY, NOW)

    assert not decision.ready
    assert decision.wait_seconds == 1


def test_quiet_deadline_is_the_earlier_of_quiet_and_maximum_delay() -> None:
    assert quiet_deadline(PendingUploads(), POLICY) is None
    assert quiet_deadline(pending(3, first_ago=10, last_ago=5), POLICY) == NOW + timedelta(seconds=295)
    assert quiet_deadline(pending(3, first_ago=3500, last_ago=0), POLICY) == NOW + timedelta(seconds=100)


@pytest.mark.parametrize(("quiet", "max_delay"), [(-1, 10), (10, -1)])
def test_negative_periods_are_refused(quiet: int, max_delay: int) -> None:
    with pytest.raises(ValueError, match=r"^quiet_seconds and max_delay_seconds must not be negative$"):
        QuietPolicy(quiet_seconds=quiet, max_delay_seconds=max_delay)


def test_zero_periods_train_at_once() -> None:
    decision = settle(
        pending(1, first_ago=0, last_ago=0), QuietPolicy(quiet_seconds=0, max_delay_seconds=0), NOW
    )

    assert decision.ready


def test_a_lease_is_live_until_its_expiry_even_if_the_item_still_exists() -> None:
    lease = Lease(holder="upload-x", trigger="upload", expires_at=int(NOW.timestamp()) + 1)

    assert lease.live(NOW)
    assert not lease.live(NOW + timedelta(seconds=1))


def test_run_names_are_readable_and_unique_per_start() -> None:
    first = run_name("upload", NOW, "arn:sm")
    same_second = run_name("upload", NOW + timedelta(microseconds=1), "arn:sm")

    assert re.fullmatch(r"upload-20261203T120000-[0-9a-f]{8}", first)
    assert len(first) <= 80  # Step Functions' execution name limit
    assert first != same_second
    assert run_name("upload", NOW, "arn:sm") == first


@pytest.fixture
def machine_time_zone_is_not_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "IST-5:30")  # a POSIX zone string: needs no tz database
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("machine_time_zone_is_not_utc")
def test_run_names_are_in_utc_whatever_the_machine_time_zone() -> None:
    assert run_name("upload", NOW, "arn:sm").startswith("upload-20261203T120000-")


def test_no_follow_up_when_nothing_waits() -> None:
    assert follow_up("upload-a", PendingUploads(), None) is None


def test_pending_uploads_start_the_follow_up_and_answer_a_pending_retraining_too() -> None:
    retraining = PendingRetraining(trigger="drift", reason="3 violation(s)")

    run = follow_up("upload-a", pending(7, first_ago=50, last_ago=40), retraining)

    assert run is not None
    assert run.trigger == "upload"
    assert run.reason == "follow-up of upload-a: 7 upload(s) pending; also drift: 3 violation(s)"


def test_pending_uploads_alone_start_an_upload_follow_up() -> None:
    run = follow_up("upload-a", pending(7, first_ago=50, last_ago=40), None)

    assert run is not None
    assert (run.trigger, run.reason) == ("upload", "follow-up of upload-a: 7 upload(s) pending")


def test_a_pending_retraining_alone_starts_a_run_of_its_own_trigger() -> None:
    run = follow_up("upload-a", PendingUploads(), PendingRetraining(trigger="drift", reason="alarm X"))

    assert run is not None
    assert (run.trigger, run.reason) == ("drift", "follow-up of upload-a: alarm X")
