"""What every test tier shares: the checkout's root, the recorded event shapes and the template.

The tests run from a checkout, so unlike the installed packages they may know where it is. Test
modules import the constants with ``from tests.conftest import REPO_ROOT`` (pytest's importlib
mode registers this file as ``tests.conftest`` before it collects any test module).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# State machine coverage across every tier (its hooks, registered here for the whole suite).
from tests.state_coverage import pytest_configure, pytest_sessionfinish, pytest_terminal_summary  # noqa: F401

# One intra-op thread for the torch code tests run in process: `make test` runs two pytest workers
# on two cores, and torch's default (a thread per core in each worker) oversubscribes them; the
# learnability test took 364 s that way on a loaded machine and 90 s with one thread. Set before any
# test module imports torch (this file is imported first). Jobs the local runtime starts size
# their own threads (training's num_threads, the executor's CPU share).
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = REPO_ROOT / "template.yaml"
EVENTS_DIR = REPO_ROOT / "tests" / "events"


def load_event(name: str) -> Any:
    """A fresh copy of the real event shape ``tests/events/<name>.json``."""
    return json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(name="load_event")
def load_event_fixture() -> Callable[[str], Any]:
    return load_event


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """template.yaml as a dict, short-form tags in their long form ({"Ref": ...}, {"Fn::Sub": ...})."""
    # Imported here: the template reader brings in the SAM translator, which most tiers never need.
    from mlops_local.engine.template import read_template

    return read_template(TEMPLATE)
