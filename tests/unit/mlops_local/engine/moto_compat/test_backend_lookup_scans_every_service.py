"""moto compares every backend lookup with each service's registry under a lock; AWS has no such cost."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from moto.core import base_backend
from moto.core.base_backend import BackendDict
from moto.dynamodb.models import dynamodb_backends
from moto.s3.models import s3_backends

from mlops_local.engine.moto_compat.backend_lookup_scans_every_service import WORKAROUND
from tests.unit.mlops_local.engine.conftest import client

ACCOUNT = "123456789012"


class _CountingLock:
    """moto's ``backend_lock``, counting how often it is taken."""

    def __init__(self, lock: object) -> None:
        self._lock = lock
        self.taken = 0

    def __enter__(self) -> None:
        self.taken += 1
        self._lock.__enter__()  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        self._lock.__exit__(*exc)  # type: ignore[attr-defined]


@pytest.fixture
def backend_lock(monkeypatch: pytest.MonkeyPatch) -> _CountingLock:
    counting = _CountingLock(base_backend.backend_lock)
    monkeypatch.setattr(base_backend, "backend_lock", counting)
    return counting


def _lookups_of_an_existing_account(lock: _CountingLock) -> int:
    """Look up a created account's S3 backend 100 times; return how often the lock was taken."""
    client("s3").list_buckets()  # creates the account's backend
    lock.taken = 0
    for _ in range(100):
        assert s3_backends[ACCOUNT]["global"] is s3_backends[ACCOUNT]["global"]
    return lock.taken


def test_stock_moto_takes_the_process_lock_on_every_lookup(stock: None, backend_lock: _CountingLock) -> None:
    assert _lookups_of_an_existing_account(backend_lock) >= 200


def test_the_workaround_alone_looks_up_an_existing_account_without_the_lock(
    apply: Callable[..., None], backend_lock: _CountingLock
) -> None:
    apply(WORKAROUND)
    assert _lookups_of_an_existing_account(backend_lock) == 0


def test_a_new_account_is_still_created_and_registered_by_moto(apply: Callable[..., None]) -> None:
    apply(WORKAROUND)
    backend = dynamodb_backends["210987654321"]["us-east-1"]
    assert backend.account_id == "210987654321"
    assert any(registered is dynamodb_backends for registered in BackendDict._instances)


def test_state_is_the_same_and_a_reset_still_empties_it(apply: Callable[..., None]) -> None:
    apply(WORKAROUND)
    s3 = client("s3")
    s3.create_bucket(Bucket="kept")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["kept"]
    BackendDict.reset()
    assert s3.list_buckets()["Buckets"] == []
