"""begin_run's use case with in-memory fakes: the lease, the quiet period and the claimed snapshot."""

from __future__ import annotations

from datetime import timedelta

from mlops_common.domain.run_control import PendingUploads, QuietPolicy
from mlops_common.models import BeginRunOutcome, BeginRunRequest, Trigger
from mlops_common.services.begin_run import begin_run
from tests.unit.mlops_common.fakes import NOW, FakeRuns

POLICY = QuietPolicy(quiet_seconds=300, max_delay_seconds=3600)


def request(trigger: Trigger = "upload", name: str = "upload-run") -> BeginRunRequest:
    return BeginRunRequest(execution_name=name, trigger=trigger, reason="why")


def begin(runs: FakeRuns, req: BeginRunRequest | None = None, *, seconds_later: float = 0) -> BeginRunOutcome:
    now = NOW + timedelta(seconds=seconds_later)
    return begin_run(req or request(), runs=runs, policy=POLICY, lease_minutes=60, now=now)


def uploads(runs: FakeRuns, count: int, *, seconds_ago: float = 0) -> None:
    runs.add_pending_uploads(count, NOW - timedelta(seconds=seconds_ago))


def test_uploads_still_arriving_make_the_run_wait_holding_the_lease() -> None:
    runs = FakeRuns(holder="upload-run")
    uploads(runs, 20, seconds_ago=10)

    outcome = begin(runs)

    assert (outcome.action, outcome.wait_seconds, outcome.uploads) == ("wait", 290, 20)
    assert runs.holder is not None
    assert runs.holder.holder == "upload-run"
    assert runs.pending.count == 20


def test_each_wait_extends_the_lease() -> None:
    runs = FakeRuns(holder="upload-run", expires_at=int(NOW.timestamp()) + 5)
    uploads(runs, 1)

    begin(runs)

    assert runs.holder is not None
    assert runs.holder.expires_at == int((NOW + timedelta(minutes=60)).timestamp())


def test_settled_uploads_are_claimed_with_the_snapshot_bound() -> None:
    runs = FakeRuns(holder="upload-run")
    uploads(runs, 20, seconds_ago=300)

    outcome = begin(runs)

    assert (outcome.action, outcome.uploads) == ("proceed", 20)
    assert (outcome.since, outcome.until) == ("", NOW.isoformat())
    assert runs.pending.count == 0
    assert runs.pending.covered_until == NOW


def test_the_next_run_starts_its_snapshot_where_the_last_one_ended() -> None:
    runs = FakeRuns(holder="upload-run")
    uploads(runs, 20, seconds_ago=300)
    begin(runs)
    runs.release_lease("upload-run")
    runs.add_pending_uploads(5, NOW + timedelta(seconds=1))

    outcome = begin(runs, request(name="upload-next"), seconds_later=301)

    assert (outcome.action, outcome.uploads, outcome.since) == ("proceed", 5, NOW.isoformat())


class RunsWithALateUpload(FakeRuns):
    """Another batch counts an upload right after begin_run has read the pending uploads."""

    def pending_uploads(self) -> PendingUploads:
        seen = super().pending_uploads()
        self.add_pending_uploads(1, NOW)
        return seen


def test_an_upload_counted_between_read_and_claim_makes_the_run_wait_again() -> None:
    runs = RunsWithALateUpload(holder="upload-run")
    uploads(runs, 20, seconds_ago=300)

    outcome = begin(runs)

    assert (outcome.action, outcome.wait_seconds) == ("wait", 300)
    assert runs.pending.count == 21


def test_nothing_pending_proceeds_at_once() -> None:
    outcome = begin(FakeRuns(), request(trigger="schedule", name="schedule-run"))

    assert (outcome.action, outcome.uploads, outcome.until) == ("proceed", 0, NOW.isoformat())


def test_a_schedule_tick_during_a_run_is_skipped_and_queues_nothing() -> None:
    runs = FakeRuns(holder="upload-run")

    outcome = begin(runs, request(trigger="schedule", name="schedule-run"))

    assert outcome.action == "skip"
    assert "upload-run is running" in outcome.reason
    assert runs.retraining is None
    assert runs.holder is not None
    assert runs.holder.holder == "upload-run"


def test_a_manual_run_during_a_run_is_queued_for_when_it_ends() -> None:
    runs = FakeRuns(holder="upload-run")

    outcome = begin(runs, request(trigger="manual", name="manual-run"))

    assert outcome.action == "skip"
    assert runs.retraining is not None
    assert (runs.retraining.trigger, runs.retraining.reason) == ("manual", "why")


def test_a_proceeding_run_answers_a_queued_retraining() -> None:
    runs = FakeRuns()
    runs.request_retraining("drift", "alarm", NOW)

    assert begin(runs, request(trigger="drift", name="drift-run")).action == "proceed"
    assert runs.retraining is None


def test_the_lease_of_a_run_that_died_is_taken_after_its_expiry() -> None:
    runs = FakeRuns(holder="dead-run", expires_at=int(NOW.timestamp()))
    runs.pending = PendingUploads()

    outcome = begin(runs, request(trigger="schedule", name="schedule-run"))

    assert outcome.action == "proceed"
    assert runs.holder is not None
    assert runs.holder.holder == "schedule-run"
