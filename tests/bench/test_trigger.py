"""The trigger benchmark at a tiny size: its run, claim and accounting read what the runtime records."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from tests.conftest import REPO_ROOT

# The training state machine runs in the local runtime (its jobs stood in for by failures).
pytestmark = pytest.mark.e2e


@pytest.fixture
def trigger(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    # `make bench` runs `python -m bench` from the project folder; the tests import it from there too.
    monkeypatch.syspath_prepend(str(REPO_ROOT))
    # The module quiets the functions' logs for its own process; here only for this test.
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    module = importlib.import_module("bench.trigger")
    monkeypatch.setattr(module, "UPLOADS", 30)
    monkeypatch.setattr(module, "QUIET_SECONDS", "2")
    return module


def test_thirty_uploads_are_all_claimed_by_one_run_and_at_most_one_follow_up(trigger: ModuleType) -> None:
    measured = trigger.measure()

    runs = measured["runs"]
    # A busy machine may space two batches further apart than the quiet period: the first run then
    # claims what it has and the follow-up the rest (what the benchmark itself allows).
    assert [run["follow_up"] for run in runs] in ([False], [False, True])
    covered = measured["ledger_objects"]["by_run"].get("covered", 0)  # events late for a claimed snapshot
    assert sum(run["claimed_uploads"] for run in runs) + covered == 30
    assert all(run["begin_run_calls"] >= 1 and run["claimed_until"] for run in runs)
    assert measured["pending_at_end"] == 0
    assert measured["ledger_objects"]["items"] == 30
