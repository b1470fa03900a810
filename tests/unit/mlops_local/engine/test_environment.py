"""The shared process environment: changes and whole-environment reads never interleave.

botocore's whole-environment read: ``emulation/test_botocore_environment_lock.py``.
"""

from __future__ import annotations

import os

from mlops_local.engine.environment import environment_snapshot, set_environment

NAME = "MLOPS_ENVIRONMENT_TEST_VARIABLE"


def test_set_environment_sets_removes_and_returns_what_to_restore() -> None:
    os.environ.pop(NAME, None)

    previous = set_environment({NAME: "a"})
    assert (previous, os.environ[NAME]) == ({NAME: None}, "a")

    set_environment(previous)
    assert NAME not in os.environ
    assert NAME not in environment_snapshot()
