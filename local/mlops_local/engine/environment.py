"""The process environment, shared by in-process Lambda invocations and every other runtime thread.

A Lambda invocation sets its function's variables in ``os.environ`` and removes them afterwards,
while other threads go on working. Removing a variable while another thread iterates the
environment raises ``KeyError`` in that thread: botocore does so on every client it creates (its
proxy lookup reads every ``*_proxy`` variable), and so does a job copying the environment for its
child process. Changes and whole-environment reads therefore hold ``ENVIRONMENT_LOCK``; single
lookups (``os.getenv``) need no lock. botocore's read is made to hold it by the emulation
``engine.emulation.botocore_environment_lock``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

ENVIRONMENT_LOCK = threading.RLock()


def environment_snapshot() -> dict[str, str]:
    """A consistent copy of ``os.environ``."""
    with ENVIRONMENT_LOCK:
        return dict(os.environ)


def set_environment(variables: Mapping[str, str | None]) -> dict[str, str | None]:
    """Set (or, for None, remove) variables at once; return their previous values for restoring."""
    with ENVIRONMENT_LOCK:
        previous = {name: os.environ.get(name) for name in variables}
        for name, value in variables.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        return previous
