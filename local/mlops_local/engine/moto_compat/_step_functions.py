"""What the workarounds of moto's Step Functions service integrations share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_factory,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition

from mlops_local.engine.patching import Patches, replace

# Both patterns are listed so the engine creates the callback endpoint its finally block needs.
SYNC_AND_TOKEN: Final[set[Any]] = {ResourceCondition.Sync, ResourceCondition.WaitForTaskToken}


def json_safe(value: Any) -> Any:
    """``value`` with every datetime turned into epoch milliseconds, as Step Functions outputs them."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def service_integration(service: str, make: Callable[[], Any]) -> Patches:
    """The engine's service factory answering ``make()`` for ``service``, the previous factory otherwise.

    The engine looks the factory up in two modules; both are patched. Wrapping whatever is there
    lets the Glue and SageMaker integrations be applied (and undone) independently.
    """
    for module in (state_task_factory, state_task_service_factory):
        previous = module.state_task_service_for

        def state_task_service_for(service_name: str, _previous: Any = previous) -> Any:
            if service_name == service:
                return make()
            return _previous(service_name)

        yield replace(module, "state_task_service_for", state_task_service_for)
