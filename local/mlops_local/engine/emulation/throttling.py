"""API throttling, injected by the fault plan."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlops_local.engine.emulation.registry import Emulation, LocalServices
from mlops_local.engine.patching import Patches, error_answer, session_hook


def throttling_hook(should_throttle: Callable[[str, str], bool]) -> Callable[..., Any]:
    """A ``before-call`` handler answering ThrottlingException for the calls the plan picks."""

    def handle(event_name: str, **kwargs: Any) -> tuple[Any, dict[str, Any]] | None:
        _, service, operation = event_name.split(".", 2)
        if should_throttle(service, operation):
            return error_answer(400, "ThrottlingException", "Rate exceeded")
        return None

    return handle


def _patches(services: LocalServices) -> Patches:
    if services.should_throttle is not None:
        # First among the before-call handlers; lambda_invoke's more specific hook still runs
        # before it, so a Lambda Invoke is never throttled.
        yield session_hook("before-call", throttling_hook(services.should_throttle), first=True)


EMULATION = Emulation(
    name="throttling",
    moto_does="never throttles",
    aws_does="throttles bursts with ThrottlingException (HTTP 400), which the ASL's Retry must absorb",
    patches=_patches,
)
