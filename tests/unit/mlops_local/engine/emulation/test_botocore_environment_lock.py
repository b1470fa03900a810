"""botocore's whole-environment read: unlocked in stock botocore; the emulation makes it hold the lock."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import botocore.endpoint

from mlops_local.engine.emulation.botocore_environment_lock import EMULATION
from mlops_local.engine.environment import ENVIRONMENT_LOCK, set_environment

NAME = "MLOPS_ENVIRONMENT_TEST_VARIABLE"


def _proxy_lookup_while_the_lock_is_held() -> bool:
    """Whether botocore's proxy lookup finished while another thread held the environment lock."""
    finished = threading.Event()
    reader = threading.Thread(
        target=lambda: (botocore.endpoint.get_environ_proxies("https://s3.amazonaws.com"), finished.set())
    )
    with ENVIRONMENT_LOCK:  # as a Lambda invocation holds it while it changes variables
        reader.start()
        finished_meanwhile = finished.wait(0.3)
    reader.join(timeout=10)
    assert finished.is_set()
    return finished_meanwhile


def test_stock_botocore_reads_the_environment_without_the_lock(stock: None) -> None:
    assert _proxy_lookup_while_the_lock_is_held()


def test_the_emulation_alone_makes_the_proxy_lookup_wait_for_a_change_in_progress(
    apply: Callable[..., None],
) -> None:
    apply(EMULATION)
    assert not _proxy_lookup_while_the_lock_is_held()


def test_variables_coming_and_going_never_break_client_creation_reads(apply: Callable[..., None]) -> None:
    apply(EMULATION)
    os.environ.pop(NAME, None)
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

    threads = [threading.Thread(target=churn), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
