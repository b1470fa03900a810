"""Training diagnostics from what training already measures, in place of SageMaker Debugger's rules.

Pure functions over one record of signals per epoch (``EpochSignals``), so each check is tested
with crafted histories and training pays for no extra forward pass: the signals are the losses and
validation accuracy every epoch computes anyway, the training accuracy counted from the logits of
the training batches, the global gradient norm of each step (one norm per parameter tensor) and the
learning rate the epoch trained with. See docs/training.md "Diagnostics".

Each check has a status, ``ok`` or ``issues_found`` (SageMaker Debugger's rule statuses were
``NoIssuesFound`` / ``IssuesFound``), and a one-line reason.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

OK = "ok"
ISSUES_FOUND = "issues_found"

CHECKS = (
    "loss_not_decreasing",
    "overfitting",
    "exploding_gradients",
    "vanishing_gradients",
    "class_imbalance",
    "stalled_learning_rate",
)


@dataclass(frozen=True)
class Thresholds:
    """The limits the checks apply; the defaults are what training uses."""

    # Epochs a trend must last (a flat training loss, a rising validation loss).
    window: int = 3
    # A training loss counts as decreasing when the last `window` epochs beat the best before them
    # by this fraction (0.1 %).
    min_loss_improvement: float = 0.001
    # A training loss below this has little left to lose: a flat loss is convergence, not a stall,
    # and tiny gradients are expected.
    converged_loss: float = 0.01
    # A learning rate annealed below this fraction of the initial one (the cosine schedule's end)
    # explains a flat training loss.
    annealed_learning_rate: float = 0.1
    # Training accuracy (measured on the augmented batches in training mode, so it reads low) above
    # validation accuracy by more than this is overfitting.
    accuracy_gap: float = 0.1
    # Global gradient norms (L2 over every parameter's gradient) above this, or not finite, explode.
    exploding_norm: float = 1000.0
    # An epoch's mean global gradient norm below this vanishes (while the loss is not converged).
    vanishing_norm: float = 1e-7
    # Largest over smallest class count of the training labels above this is imbalanced.
    imbalance_ratio: float = 10.0
    # A learning rate below max(stalled_learning_rate x initial, stalled_learning_rate_floor)
    # barely moves the weights.
    stalled_learning_rate: float = 0.001
    stalled_learning_rate_floor: float = 1e-7


THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class EpochSignals:
    """What one epoch measured, for the checks."""

    epoch: int
    train_loss: float
    validation_loss: float
    train_accuracy: float
    validation_accuracy: float
    learning_rate: float  # the rate the epoch trained with (before the scheduler's step)
    gradient_norm: float  # mean over the epoch's steps (finite ones)
    gradient_norm_max: float  # largest finite step norm
    nonfinite_gradient_steps: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain values (checkpoints and ``diagnostics.json``)."""
        return asdict(self)


@dataclass(frozen=True)
class Check:
    """One diagnostic's status and why."""

    status: str
    reason: str

    @property
    def has_issues(self) -> bool:
        return self.status == ISSUES_FOUND

    def as_dict(self) -> dict[str, str]:
        return {"status": self.status, "reason": self.reason}


def _ok(reason: str) -> Check:
    return Check(OK, reason)


def _issue(reason: str) -> Check:
    return Check(ISSUES_FOUND, reason)


def _finite(value: float) -> bool:
    return math.isfinite(value)


# --- the checks: each one is evaluated at the last epoch of `epochs` ------------------------------


def check_loss_not_decreasing(
    epochs: Sequence[EpochSignals], initial_learning_rate: float, t: Thresholds = THRESHOLDS
) -> Check:
    """Issues when the training loss of the last ``window`` epochs is no new best."""
    if not epochs:
        return _ok("no epoch trained yet")
    losses = [e.train_loss for e in epochs]
    if not all(_finite(loss) for loss in losses[-t.window :]):
        return _issue(f"training loss is not finite at epoch {epochs[-1].epoch}")
    if len(epochs) <= t.window:
        return _ok(f"too few epochs to tell ({len(epochs)} of the {t.window + 1} needed)")
    before = min((loss for loss in losses[: -t.window] if _finite(loss)), default=math.inf)
    recent = min(losses[-t.window :])
    explained = _flat_loss_explained(epochs[-t.window :], before, recent, initial_learning_rate, t)
    if explained is not None:
        return _ok(explained)
    return _issue(
        f"training loss did not decrease in epochs {epochs[-t.window].epoch}-{epochs[-1].epoch}"
        f" (best {recent:.4g}, before {before:.4g})"
    )


def _flat_loss_explained(
    window: Sequence[EpochSignals], before: float, recent: float, initial_learning_rate: float, t: Thresholds
) -> str | None:
    """Why a training loss that looks flat is fine: still decreasing, converged, or at the end of the
    learning rate schedule; None when nothing explains it."""
    if recent < before * (1 - t.min_loss_improvement):
        return f"training loss still decreasing ({before:.4g} -> {recent:.4g})"
    if recent < t.converged_loss:
        return f"training loss converged ({recent:.4g} < {t.converged_loss:g})"
    window_rate = sum(e.learning_rate for e in window) / len(window)
    if window_rate < t.annealed_learning_rate * initial_learning_rate:
        return (
            f"training loss flat at {recent:.4g} as the learning rate annealed to {window_rate:.3g}"
            f" (initial {initial_learning_rate:.3g})"
        )
    return None


def check_overfitting(epochs: Sequence[EpochSignals], t: Thresholds = THRESHOLDS) -> Check:
    """Issues when the validation loss rose ``window`` epochs in a row while the training loss fell,
    or when training accuracy exceeds validation accuracy by more than ``accuracy_gap``."""
    if not epochs:
        return _ok("no epoch trained yet")
    last = epochs[-1]
    gap = last.train_accuracy - last.validation_accuracy
    if gap > t.accuracy_gap:
        return _issue(
            f"training accuracy {last.train_accuracy:.3f} exceeds validation accuracy"
            f" {last.validation_accuracy:.3f} by {gap:.3f} at epoch {last.epoch}"
        )
    if len(epochs) > t.window:
        span = epochs[-t.window - 1 :]
        validation = [e.validation_loss for e in span]
        rising = all(later > earlier for earlier, later in itertools.pairwise(validation))
        if rising and span[-1].train_loss < span[0].train_loss:
            return _issue(
                f"validation loss rose {validation[0]:.4g} -> {validation[-1]:.4g} in epochs"
                f" {span[1].epoch}-{last.epoch} while training loss fell"
                f" {span[0].train_loss:.4g} -> {last.train_loss:.4g}"
            )
    return _ok(f"accuracy gap {gap:.3f} at epoch {last.epoch}; validation loss not rising {t.window} epochs")


def check_exploding_gradients(epochs: Sequence[EpochSignals], t: Thresholds = THRESHOLDS) -> Check:
    """Issues when a step's global gradient norm was not finite or above ``exploding_norm``."""
    if not epochs:
        return _ok("no epoch trained yet")
    last = epochs[-1]
    if last.nonfinite_gradient_steps:
        return _issue(f"{last.nonfinite_gradient_steps} steps of epoch {last.epoch} had non-finite gradients")
    if last.gradient_norm_max > t.exploding_norm:
        return _issue(
            f"gradient norm reached {last.gradient_norm_max:.4g} at epoch {last.epoch}"
            f" (limit {t.exploding_norm:g})"
        )
    return _ok(f"largest gradient norm {last.gradient_norm_max:.4g} at epoch {last.epoch}")


def check_vanishing_gradients(epochs: Sequence[EpochSignals], t: Thresholds = THRESHOLDS) -> Check:
    """Issues when an epoch's mean gradient norm is below ``vanishing_norm`` before convergence."""
    if not epochs:
        return _ok("no epoch trained yet")
    last = epochs[-1]
    if last.gradient_norm < t.vanishing_norm and not last.train_loss < t.converged_loss:
        return _issue(
            f"mean gradient norm {last.gradient_norm:.3g} at epoch {last.epoch} with training loss"
            f" {last.train_loss:.4g}: the weights no longer learn"
        )
    return _ok(f"mean gradient norm {last.gradient_norm:.4g} at epoch {last.epoch}")


def check_stalled_learning_rate(
    epochs: Sequence[EpochSignals], initial_learning_rate: float, t: Thresholds = THRESHOLDS
) -> Check:
    """Issues when an epoch trained at a learning rate near zero before the loss converged, or when
    the learning rate stayed the same for ``window`` epochs while the training loss did not decrease."""
    if not epochs:
        return _ok("no epoch trained yet")
    last = epochs[-1]
    near_zero = max(t.stalled_learning_rate * initial_learning_rate, t.stalled_learning_rate_floor)
    if last.learning_rate < near_zero and not last.train_loss < t.converged_loss:
        return _issue(
            f"epoch {last.epoch} trained at learning rate {last.learning_rate:.3g} (near zero: below"
            f" {near_zero:.3g}) with training loss {last.train_loss:.4g}"
        )
    recent = [e.learning_rate for e in epochs[-t.window :]]
    unchanged = len(epochs) > t.window and max(recent) - min(recent) <= 1e-9 * max(recent)
    if unchanged and check_loss_not_decreasing(epochs, initial_learning_rate, t).has_issues:
        return _issue(
            f"learning rate stayed at {last.learning_rate:.3g} in epochs {epochs[-t.window].epoch}-"
            f"{last.epoch} while the training loss did not decrease"
        )
    return _ok(f"learning rate {last.learning_rate:.3g} at epoch {last.epoch}")


def check_class_imbalance(class_counts: Mapping[str, int], t: Thresholds = THRESHOLDS) -> Check:
    """Issues when the largest training class outnumbers the smallest by more than ``imbalance_ratio``."""
    counts = {label: count for label, count in class_counts.items() if count > 0}
    if len(counts) < 2:
        return _ok("fewer than two classes")
    largest = max(counts, key=lambda label: counts[label])
    smallest = min(counts, key=lambda label: counts[label])
    ratio = counts[largest] / counts[smallest]
    described = (
        f"largest class {largest!r} has {counts[largest]} images, smallest {smallest!r}"
        f" {counts[smallest]} ({ratio:.1f}x)"
    )
    if ratio > t.imbalance_ratio:
        return _issue(f"{described}, above {t.imbalance_ratio:g}x")
    return _ok(described)


def epoch_checks(
    epochs: Sequence[EpochSignals],
    class_counts: Mapping[str, int],
    initial_learning_rate: float,
    t: Thresholds = THRESHOLDS,
) -> dict[str, Check]:
    """Every check as it stands at the last epoch of ``epochs`` (the per-epoch metric line)."""
    return {
        "loss_not_decreasing": check_loss_not_decreasing(epochs, initial_learning_rate, t),
        "overfitting": check_overfitting(epochs, t),
        "exploding_gradients": check_exploding_gradients(epochs, t),
        "vanishing_gradients": check_vanishing_gradients(epochs, t),
        "class_imbalance": check_class_imbalance(class_counts, t),
        "stalled_learning_rate": check_stalled_learning_rate(epochs, initial_learning_rate, t),
    }


# --- the verdict of a run ------------------------------------------------------------------------


def _first_issue(per_epoch: Sequence[Check]) -> Check | None:
    return next((check for check in per_epoch if check.has_issues), None)


def run_checks(
    epochs: Sequence[EpochSignals],
    class_counts: Mapping[str, int],
    initial_learning_rate: float,
    best_epoch: int,
    t: Thresholds = THRESHOLDS,
) -> dict[str, Check]:
    """The verdict of each check over a whole run whose kept model is ``best_epoch``'s.

    - ``loss_not_decreasing``: as training ended (a plateau it recovered from is not kept against it).
    - ``overfitting``: at the kept epoch, the model that was saved; overfitting that began only
      after it is what early stopping is for, and the reason says so.
    - gradients and the learning rate: issues at any epoch, the first one named.
    - ``class_imbalance``: the training labels.
    """
    prefixes = [epochs[: index + 1] for index in range(len(epochs))]
    kept = [prefix for prefix in prefixes if prefix[-1].epoch <= best_epoch] or prefixes[:1]
    checks = {
        "loss_not_decreasing": check_loss_not_decreasing(epochs, initial_learning_rate, t),
        "class_imbalance": check_class_imbalance(class_counts, t),
    }
    overfit_kept = check_overfitting(kept[-1], t) if kept else check_overfitting([], t)
    later = _first_issue([check_overfitting(prefix, t) for prefix in prefixes[len(kept) :]])
    if overfit_kept.has_issues or later is None:
        checks["overfitting"] = overfit_kept
    else:
        checks["overfitting"] = _ok(f"only after the kept epoch {best_epoch}: {later.reason}")
    for name, check in (
        ("exploding_gradients", check_exploding_gradients),
        ("vanishing_gradients", check_vanishing_gradients),
    ):
        per_epoch = [check(prefix, t) for prefix in prefixes]
        checks[name] = _first_issue(per_epoch) or (per_epoch[-1] if per_epoch else check([], t))
    stalled = [check_stalled_learning_rate(prefix, initial_learning_rate, t) for prefix in prefixes]
    checks["stalled_learning_rate"] = _first_issue(stalled) or (
        stalled[-1] if stalled else check_stalled_learning_rate([], initial_learning_rate, t)
    )
    return {name: checks[name] for name in CHECKS}


def summary(checks: Mapping[str, Check]) -> dict[str, Any]:
    """``{"status", "issues", "checks"}``: what the evaluation, the gate and notifications carry."""
    issues = [f"{name}: {check.reason}" for name, check in checks.items() if check.has_issues]
    return {
        "status": ISSUES_FOUND if issues else OK,
        "issues": issues,
        "checks": {name: check.as_dict() for name, check in checks.items()},
    }


def diagnostics_document(
    epochs: Sequence[EpochSignals],
    class_counts: Mapping[str, int],
    initial_learning_rate: float,
    best_epoch: int,
    t: Thresholds = THRESHOLDS,
) -> dict[str, Any]:
    """``diagnostics.json``: the run's verdict, the class counts, the thresholds and every epoch's
    signals with the checks that had issues at that epoch."""
    per_epoch = []
    for index, signals in enumerate(epochs):
        at_epoch = epoch_checks(epochs[: index + 1], class_counts, initial_learning_rate, t)
        per_epoch.append({
            **signals.as_dict(),
            "issues": [name for name, check in at_epoch.items() if check.has_issues],
        })  # fmt: skip
    return {
        **summary(run_checks(epochs, class_counts, initial_learning_rate, best_epoch, t)),
        "best_epoch": best_epoch,
        "class_counts": dict(class_counts),
        "initial_learning_rate": initial_learning_rate,
        "thresholds": asdict(t),
        "epochs": per_epoch,
    }


def metric_fields(checks: Mapping[str, Check], signals: EpochSignals | None) -> str:
    """The diagnostics part of a metric line (``MetricDefinitions``: docs/training.md)."""
    parts = []
    if signals is not None:
        if _finite(signals.gradient_norm):
            parts.append(f"diagnostics:gradient_norm={signals.gradient_norm:.6g};")
        if _finite(signals.gradient_norm_max):
            parts.append(f"diagnostics:gradient_norm_max={signals.gradient_norm_max:.6g};")
        parts.append(f"diagnostics:train_accuracy={signals.train_accuracy:.4f};")
    parts.append(f"diagnostics:issues={sum(check.has_issues for check in checks.values())};")
    parts += [f"diagnostics:{name}={int(check.has_issues)};" for name, check in checks.items()]
    return " ".join(parts)
