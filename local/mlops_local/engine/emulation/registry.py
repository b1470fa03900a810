"""``Emulation``: an AWS feature moto does not have and is not meant to have, played in process.

Emulations need the runtime's own services (the Lambda registry, the job and endpoint lifecycles,
the fault plan, the event router); ``LocalServices`` hands them in, so nothing here imports the
runtime back. ``event_targets`` is filled in once provisioning knows the stack's rules; emulations
read it on every call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlops_local.engine.eventbridge import EventTargets
from mlops_local.engine.jobs import EndpointLifecycle, JobLifecycle
from mlops_local.engine.lambdas import LambdaRegistry
from mlops_local.engine.patching import Patches, PatchSet


@dataclass
class LocalServices:
    """What the emulations run on."""

    lambdas: LambdaRegistry
    jobs: JobLifecycle
    endpoints: EndpointLifecycle
    # (service, operation) -> whether to answer ThrottlingException; None: nothing is throttled.
    should_throttle: Callable[[str, str], bool] | None = None
    event_targets: EventTargets | None = None
    # Filled once provisioning is done: what IAM enforcement reads about the stack
    # (``engine.iam.facts.StackFacts``), and the enforcement's own record of refusals.
    stack_facts: Any = None
    iam_authority: Any = None


@dataclass(eq=False)
class Emulation:
    """An AWS feature: what moto does instead, what AWS does, and the patches that play it."""

    name: str
    moto_does: str
    aws_does: str
    patches: Callable[[LocalServices], Patches]
    _applied: PatchSet = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._applied = PatchSet(self.name)

    @property
    def applied(self) -> bool:
        return self._applied.applied

    def apply(self, services: LocalServices) -> None:
        """Install the patches (after ``mock_aws`` has started)."""
        self._applied.enter(self.patches(services))

    def undo(self) -> None:
        """Restore what the last ``apply()`` replaced."""
        self._applied.undo()
