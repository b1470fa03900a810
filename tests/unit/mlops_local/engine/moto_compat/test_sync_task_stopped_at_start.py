"""A .sync task whose execution is stopped as it starts: moto's wait thread dies; AWS just ends it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_glue import (
    StateTaskServiceGlue,
)
from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint
from moto.stepfunctions.parser.utils import TMP_THREADS

from mlops_local.engine.moto_compat.glue_sync_interrupt_all import GlueSyncService
from mlops_local.engine.moto_compat.sagemaker_sync_unsupported import SageMakerSyncService
from mlops_local.engine.moto_compat.sync_task_stopped_at_start import WORKAROUND

# On a stopped execution moto hands the state's input over as the timeout.
STATE_INPUT_AS_TIMEOUT = {"the": "state input"}


class _StoppedEnvironment:
    def is_running(self) -> bool:
        return False


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> list[type[BaseException]]:
    errors: list[type[BaseException]] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_type))
    return errors


def _glue_task() -> StateTaskServiceGlue:
    service = StateTaskServiceGlue()
    service.resource = SimpleNamespace(resource_arn="arn:aws:states:::glue:startJobRun.sync")  # type: ignore[assignment]
    return service


def _eval_sync(service: Any) -> Any:
    return service._eval_sync(
        env=_StoppedEnvironment(),
        sync_resolver=lambda: None,
        timeout_seconds=STATE_INPUT_AS_TIMEOUT,
        callback_endpoint=CallbackEndpoint("token"),
        heartbeat_endpoint=None,
    )


def test_stock_moto_starts_a_wait_that_dies_on_a_type_error(
    stock: None, thread_errors: list[type[BaseException]]
) -> None:
    threads_before = len(TMP_THREADS)
    _eval_sync(_glue_task())
    assert len(TMP_THREADS) == threads_before + 1
    TMP_THREADS[-1].join(timeout=10)
    assert thread_errors == [TypeError]


def test_the_workaround_alone_waits_for_nothing(
    apply: Callable[..., None], thread_errors: list[type[BaseException]]
) -> None:
    apply(WORKAROUND)
    threads_before = len(TMP_THREADS)
    assert _eval_sync(_glue_task()) is None
    assert len(TMP_THREADS) == threads_before
    assert thread_errors == []


def test_the_replaced_integrations_do_not_wait_either(apply: Callable[..., None]) -> None:
    apply(WORKAROUND)
    for service in (GlueSyncService(), SageMakerSyncService()):
        outcome = service._eval_sync(
            env=None,
            sync_resolver=None,
            timeout_seconds=STATE_INPUT_AS_TIMEOUT,
            callback_endpoint=None,
            heartbeat_endpoint=None,
        )
        assert outcome is None
