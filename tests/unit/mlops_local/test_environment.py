"""The shared process environment: changes and whole-environment reads never interleave."""

from __future__ import annotations

import os
import threading

import botocore.endpoint

from mlops_local.environment import (
    ENVIRONMENT_LOCK,
    botocore_environment_reads_locked,
    environment_snapshot,
    set_environment,
)

NAME = "MLOPS_ENVIRONMENT_TEST_VARIABLE"


def test_set_environment_sets_removes_and_returns_what_to_restore() -> None:
    os.environ.pop(NAME, None)

    previous = set_environment({NAME: "a"})
    assert (previous, os.environ[NAME]) == ({NAME: None}, "a")

    set_environment(previous)
    assert NAME not in os.environ
    assert NAME not in environment_snapshot()


def test_botocore_proxy_lookup_waits_for_an_environment_change_in_progress() -> None:
    with botocore_environment_reads_locked():
        finished = threading.Event()
        reader = threading.Thread(
            target=lambda: (botocore.endpoint.get_environ_proxies("https://s3.amazonaws.com"), finished.set())
        )
        with ENVIRONMENT_LOCK:  # as a Lambda invocation holds it while it changes variables
            reader.start()
            assert not finished.wait(0.3)
        reader.join(timeout=10)
    assert finished.is_set()


def test_variables_coming_and_going_never_break_client_creation_reads() -> None:
    errors: list[BaseException] = []

    def churn() -> None:
        for _ in range(2000):
            set_environment({NAME: "x"})
            set_environment({NAME: None})

    def read() -> None:
        for _ in range(2000):
            try:
                botocore.endpoint.get_environ_proxies("https://s3.amazonaws.com")
            except KeyError as error:  # what an unguarded read raises when a variable disappears
                errors.append(error)

    with botocore_environment_reads_locked():
        threads = [threading.Thread(target=churn), threading.Thread(target=read)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
