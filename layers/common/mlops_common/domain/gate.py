"""The promotion gate: may the challenger replace the champion?"""

from __future__ import annotations

from dataclasses import dataclass

from mlops_common.models import Evaluation, GateThresholds, ModelMetrics

# The metrics on which the challenger must not trail the champion by more than the margin.
COMPARED_METRICS = ("accuracy", "macro_f1", "min_defect_recall")


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reasons: list[str]


def _defect_recalls(metrics: ModelMetrics, defect_classes: list[str]) -> dict[str, float | None]:
    return {
        label: (metrics.per_class[label].recall if label in metrics.per_class else None)
        for label in defect_classes
    }


def _unusable_values(metrics: ModelMetrics) -> dict[str, str]:
    """Every metric of one model that is not a proportion, named as the reasons name it."""
    found = metrics.unusable
    for label, class_metrics in metrics.per_class.items():
        found.update({f"{name}[{label}]": why for name, why in class_metrics.unusable.items()})
    return found


def _absolute_checks(
    evaluation: Evaluation, thresholds: GateThresholds, unusable: dict[str, str]
) -> tuple[list[str], list[str]]:
    """The challenger's own thresholds; a value in ``unusable`` has failed already and is not repeated."""
    passes: list[str] = []
    failures: list[str] = []
    challenger = evaluation.challenger
    if challenger.accuracy is None:
        if "accuracy" not in unusable:
            failures.append("FAIL accuracy: missing")
    elif challenger.accuracy >= thresholds.min_accuracy:
        passes.append(f"PASS accuracy {challenger.accuracy:.4f} >= {thresholds.min_accuracy:.4f}")
    else:
        failures.append(f"FAIL accuracy {challenger.accuracy:.4f} < {thresholds.min_accuracy:.4f}")

    defect_classes = [label for label in evaluation.labels if label != evaluation.normal_class]
    if not defect_classes:
        failures.append("FAIL labels: no defect class in the evaluation")
    for label, recall in _defect_recalls(challenger, defect_classes).items():
        if recall is None:
            if f"recall[{label}]" not in unusable:
                failures.append(f"FAIL recall[{label}]: missing")
        elif recall >= thresholds.min_defect_recall:
            passes.append(f"PASS recall[{label}] {recall:.4f} >= {thresholds.min_defect_recall:.4f}")
        else:
            failures.append(f"FAIL recall[{label}] {recall:.4f} < {thresholds.min_defect_recall:.4f}")
    return passes, failures


def _champion_checks(
    evaluation: Evaluation, margin: float, unusable: dict[str, str]
) -> tuple[list[str], list[str]]:
    champion = evaluation.champion
    if champion is None:
        return ["PASS champion: none deployed, absolute thresholds decide"], []
    champion_labels = set(champion.per_class)
    if champion_labels and champion_labels != set(evaluation.labels):
        # A champion that cannot predict the new classes is not comparable on this test split.
        return [
            "PASS champion: label set differs "
            f"({sorted(champion_labels)} vs {sorted(evaluation.labels)}), comparison skipped"
        ], []
    passes: list[str] = []
    failures: list[str] = []
    for metric in COMPARED_METRICS:
        theirs = getattr(champion, metric)
        ours = getattr(evaluation.challenger, metric)
        if ours is None:
            if metric not in unusable:
                failures.append(f"FAIL {metric} vs champion: challenger value missing")
        elif theirs is None:
            # The comparison cannot be made, and that does not fail the gate: a champion whose
            # evaluation lost a metric (or wrote "Infinity" or 7.5) must not block its own
            # replacement forever, and the challenger has met every absolute threshold on its own.
            why = champion.unusable.get(metric, "missing")
            passes.append(f"PASS {metric} vs champion: champion value {why}, comparison cannot be made")
        elif ours >= theirs - margin:
            passes.append(f"PASS {metric} {ours:.4f} >= champion {theirs:.4f} - margin {margin:.4f}")
        else:
            failures.append(f"FAIL {metric} {ours:.4f} < champion {theirs:.4f} - margin {margin:.4f}")
    return passes, failures


def evaluate_gate(evaluation: Evaluation, thresholds: GateThresholds) -> GateResult:
    """Pass only if every absolute threshold holds and the challenger does not trail the champion.

    Every check contributes a reason (``PASS ...`` or ``FAIL ...``), so the notification tells
    the whole story. Missing metrics fail closed, and so does any challenger metric that is not a
    proportion (not a number, not finite, or outside [0, 1]), named with its value: such an
    ``evaluation.json`` cannot be trusted, whichever metric it is.
    """
    unusable = _unusable_values(evaluation.challenger)
    integrity_failures = [f"FAIL {name}: {why}" for name, why in unusable.items()]
    abs_passes, abs_failures = _absolute_checks(evaluation, thresholds, unusable)
    cmp_passes, cmp_failures = _champion_checks(evaluation, thresholds.champion_margin, unusable)
    failures = integrity_failures + abs_failures + cmp_failures
    return GateResult(passed=not failures, reasons=failures + abs_passes + cmp_passes)
