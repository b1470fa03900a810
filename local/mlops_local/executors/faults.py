"""What to break, and a record of what did break: fault injection for the local runtime.

A ``FaultPlan`` holds rules such as "interrupt the next spot training job after its first epoch" or
"throttle the next 3 CreateTrainingJob calls". Executors (and the embedded AWS layer, for
throttling) ask the plan at the point where the fault would strike; a rule that matches is consumed
and the firing is recorded, so tests and the CLI can tell that a fault really happened.

CLI form: ``<kind>[:<option>[,<option>...]]`` where an option is ``key=value`` (``count``, ``jobs``,
``after_epoch``) or, for ``throttle``, the API operation name, e.g. ``spot-interruption``,
``spot-interruption:count=2,after_epoch=1``, ``spot-capacity:count=3``,
``throttle:CreateTrainingJob,count=2``, ``training-failure:jobs=*-002-*``,
``endpoint-update-failure``, ``endpoint-slow-start:seconds=20``. ``count=all`` makes a rule never run out.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

FaultKind = Literal[
    "spot-interruption",
    "spot-capacity",
    "throttle",
    "training-failure",
    "glue-failure",
    "endpoint-update-failure",
    "endpoint-slow-start",
]

FAULT_DESCRIPTIONS: dict[str, str] = {
    "spot-interruption": "reclaim the spot instance of the next spot training job after an epoch; "
    "the job resumes from its checkpoint (options: count, jobs, after_epoch)",
    "spot-capacity": "fail the next spot training or tuning job with SageMaker's capacity error, "
    "so the pipeline falls back to on-demand (options: count, jobs)",
    "throttle": "answer the named API operation with ThrottlingException, e.g. "
    "throttle:CreateTrainingJob (options: count)",
    "training-failure": "make the next training job's script fail with its own error (options: count, jobs)",
    "glue-failure": "make the next Glue job run fail with its script's error "
    "(options: count, jobs = job name pattern)",
    "endpoint-update-failure": "fail the next endpoint deployment's health check; the old model keeps "
    "serving (options: count, jobs = endpoint name pattern)",
    "endpoint-slow-start": "make the next endpoint deployment's container take longer to pass its health "
    "check, as real instances take minutes (options: count, jobs = endpoint name pattern, seconds; "
    "default 10)",
}


class FaultSpecError(ValueError):
    """A fault description from the command line that cannot be understood."""


@dataclass
class FaultRule:
    """One thing to break: ``remaining`` more times (None = every time), for targets matching ``jobs``."""

    kind: FaultKind
    remaining: int | None = 1
    jobs: str = "*"  # fnmatch pattern on the job, endpoint or (for throttle) operation name
    after_epoch: int = 1  # spot interruption: reclaim the instance once this epoch has been logged
    operation: str | None = None  # throttle: the API operation, e.g. CreateTrainingJob
    seconds: int = 10  # endpoint slow start: how long the container takes to pass its health check

    def matches(self, kind: str, target: str) -> bool:
        """Whether this rule breaks ``target`` now."""
        if self.kind != kind or self.remaining == 0:
            return False
        if self.operation is not None and self.operation != target:
            return False
        return fnmatch.fnmatchcase(target, self.jobs)


@dataclass(frozen=True)
class FiredFault:
    """A fault that struck: what, where, when."""

    kind: str
    target: str
    at: datetime
    detail: str = ""


@dataclass
class FaultPlan:
    """A thread-safe set of fault rules and the log of those that fired."""

    rules: list[FaultRule] = field(default_factory=list)
    fired: list[FiredFault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def from_specs(cls, specs: list[str] | tuple[str, ...]) -> FaultPlan:
        """Build a plan from CLI strings such as ``spot-interruption`` or ``throttle:CreateTrainingJob``."""
        plan = cls()
        for spec in specs:
            plan.add(parse_fault_spec(spec))
        return plan

    def add(self, rule: FaultRule) -> FaultRule:
        """Add one rule; returns it."""
        with self._lock:
            self.rules.append(rule)
        return rule

    def _take(self, kind: str, target: str, detail: str = "") -> FaultRule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(kind, target):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    self.fired.append(FiredFault(kind, target, datetime.now(UTC), detail))
                    return rule
        return None

    def take_spot_interruption(self, job_name: str) -> int | None:
        """For a spot job about to start: the epoch after which to reclaim it, or None."""
        rule = self._take("spot-interruption", job_name)
        return None if rule is None else max(1, rule.after_epoch)

    def take_spot_capacity_error(self, job_name: str) -> bool:
        """For a spot training or tuning job about to start: whether spot capacity is unavailable."""
        return self._take("spot-capacity", job_name) is not None

    def take_training_failure(self, job_name: str) -> bool:
        """For a training job about to start: whether its script must fail."""
        return self._take("training-failure", job_name) is not None

    def take_glue_failure(self, job_name: str) -> bool:
        """For a Glue job run about to start: whether its script must fail."""
        return self._take("glue-failure", job_name) is not None

    def take_endpoint_update_failure(self, endpoint_name: str) -> bool:
        """For an endpoint deployment: whether the new variant's health check must fail."""
        return self._take("endpoint-update-failure", endpoint_name) is not None

    def take_endpoint_slow_start(self, endpoint_name: str) -> int:
        """For an endpoint deployment: how many seconds its container takes to become healthy (0: none)."""
        rule = self._take("endpoint-slow-start", endpoint_name)
        return 0 if rule is None else rule.seconds

    def take_throttle(self, operation: str) -> bool:
        """For an API call (by operation name): whether to answer with ThrottlingException."""
        return self._take("throttle", operation) is not None

    def fired_count(self, kind: str) -> int:
        """How many times faults of ``kind`` struck."""
        with self._lock:
            return sum(1 for fault in self.fired if fault.kind == kind)

    def pending(self) -> list[FaultRule]:
        """Rules that can still fire."""
        with self._lock:
            return [rule for rule in self.rules if rule.remaining != 0]


def parse_fault_spec(spec: str) -> FaultRule:
    """Parse ``<kind>[:<option>,...]`` (see the module docstring) into a rule."""
    kind, _, options_text = spec.strip().partition(":")
    if kind not in FAULT_DESCRIPTIONS:
        known = ", ".join(FAULT_DESCRIPTIONS)
        raise FaultSpecError(f"unknown fault {kind!r}; known faults: {known}")
    rule = FaultRule(kind=kind)  # type: ignore[arg-type]  # checked against FAULT_DESCRIPTIONS above
    for option in filter(None, (part.strip() for part in options_text.split(","))):
        key, has_value, value = option.partition("=")
        if not has_value:
            if kind != "throttle" or rule.operation is not None:
                raise FaultSpecError(f"option {option!r} of {spec!r} is not key=value")
            rule.operation = option
        elif key == "count":
            rule.remaining = None if value == "all" else _positive_int(value, spec)
        elif key == "jobs":
            rule.jobs = value
        elif key == "after_epoch" and kind == "spot-interruption":
            rule.after_epoch = _positive_int(value, spec)
        elif key == "seconds" and kind == "endpoint-slow-start":
            rule.seconds = _positive_int(value, spec)
        else:
            raise FaultSpecError(f"unknown option {key!r} for fault {kind!r}")
    if kind == "throttle" and rule.operation is None:
        raise FaultSpecError("throttle needs an API operation name, e.g. throttle:CreateTrainingJob")
    return rule


def _positive_int(value: str, spec: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise FaultSpecError(f"{value!r} in {spec!r} is not a positive whole number")
    return int(value)
