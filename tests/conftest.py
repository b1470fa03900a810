"""What every test tier shares: the checkout's root, the recorded event shapes and the template.

The tests run from a checkout, so unlike the installed packages they may know where it is. Test
modules import the constants with ``from tests.conftest import REPO_ROOT`` (pytest's importlib
mode registers this file as ``tests.conftest`` before it collects any test module).
"""

from __future__ import annotations

import json
import os
import shutil
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

# moto config for tests that start a mock per test: boto3's default session is kept from one test to
# the next (moto's default makes a new one per mock, which reads every service's model again, about
# 0.5 s a test). Each test's AWS state is still new.
MOTO_KEEPS_BOTO3_SESSION: dict[str, Any] = {"core": {"reset_boto3_session": False}}
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


def built_once_per_run(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]
) -> Path:
    """The folder ``name``, filled by ``build`` once per test run and shared by every xdist worker.

    Each pytest-xdist worker is its own process with its own session fixtures, so ``make test``'s
    two workers would each train the same model. The workers of one run share the parent of their
    base temp folders (pytest-xdist's recipe for session fixtures that run once): the first worker
    to take the lock builds, the others wait and read. Without xdist that parent is shared by every
    run of the user, so a plain pytest run builds in its own temp folder.
    """
    from filelock import FileLock  # Here: the Lambda side's test environment has no use for it.

    if "PYTEST_XDIST_WORKER" not in os.environ:
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    root = tmp_path_factory.getbasetemp().parent
    folder, done = root / name, root / f"{name}.done"
    with FileLock(str(root / f"{name}.lock")):
        if not done.exists():
            # A worker that failed while building leaves no marker: the next one builds afresh.
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            done.touch()
    return folder
