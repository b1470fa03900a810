"""A ``.sync`` task whose execution is stopped while the task starts."""

from __future__ import annotations

from typing import Any

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback as callback_service,
)

from mlops_local.engine.moto_compat.registry import Workaround
from mlops_local.engine.patching import Patches, replace


def _patches() -> Patches:
    stock = callback_service.StateTaskServiceCallback._eval_sync

    def eval_sync(
        service: Any,
        *,
        env: Any,
        sync_resolver: Any,
        timeout_seconds: Any,
        callback_endpoint: Any,
        heartbeat_endpoint: Any,
    ) -> Any:
        # On a stopped execution the timeout is whatever the stack held (the state's input).
        if not isinstance(timeout_seconds, int):
            return None
        return stock(
            service,
            env=env,
            sync_resolver=sync_resolver,
            timeout_seconds=timeout_seconds,
            callback_endpoint=callback_endpoint,
            heartbeat_endpoint=heartbeat_endpoint,
        )

    yield replace(callback_service.StateTaskServiceCallback, "_eval_sync", eval_sync)


WORKAROUND = Workaround(
    name="sync_task_stopped_at_start",
    moto_does=(
        "evaluates the task's timeout on a stopped execution to nothing, pops the state's input in its "
        "place and starts a token-wait thread that dies on `dict > int` (an unhandled TypeError)"
    ),
    aws_does="the stopped task simply ends",
    applies_to="==5.2.5",
    patches=_patches,
)
