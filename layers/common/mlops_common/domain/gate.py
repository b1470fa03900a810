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


def _absolute_checks(evaluation: Evaluation, thresholds: GateThresholds) -> tuple[list[str], list[str]]:
    passes: list[str] = []
    failures: list[str] = []
    challenger = evaluation.challenger
    if challenger.accuracy is None:
        failures.append("FAIL accuracy: missing or not a number")
    elif challenger.accuracy >= thresholds.min_accuracy:
        passes.append(f"PASS accuracy {challenger.accuracy:.4f} >= {thresholds.min_accuracy:.4f}")
    else:
        failures.append(f"FAIL accuracy {challenger.accuracy:.4f} < {thresholds.min_accuracy:.4f}")

    defect_classes = [label for label in evaluation.labels if label != evaluation.normal_class]
    if not defect_classes:
        failures.append("FAIL labels: no defect class in the evaluation")
    for label, recall in _defect_recalls(challenger, defect_classes).items():
        if recall is None:
            failures.append(f"FAIL recall[{label}]: missing or not a number")
        elif recall >= thresholds.min_defect_recall:
            passes.append(f"PASS recall[{label}] {recall:.4f} >= {thresholds.min_defect_recall:.4f}")
        else:
            failures.append(f"FAIL recall[{label}] {recall:.4f} < {thresholds.min_defect_recall:.4f}")
    return passes, failures


def _champion_checks(evaluation: Evaluation, margin: float) -> tuple[list[str], list[str]]:
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
            failures.append(f"FAIL {metric} vs champion: challenger value missing")
        elif theirs is None:
            passes.append(f"PASS {metric} vs champion: champion value missing, comparison skipped")
        elif ours >= theirs - margin:
            passes.append(f"PASS {metric} {ours:.4f} >= champion {theirs:.4f} - margin {margin:.4f}")
        else:
            failures.append(f"FAIL {metric} {ours:.4f} < champion {theirs:.4f} - margin {margin:.4f}")
    return passes, failures


def evaluate_gate(evaluation: Evaluation, thresholds: GateThresholds) -> GateResult:
    """Pass only if every absolute threshold holds and the challenger does not trail the champion.

    Every check contributes a reason (``PASS ...`` or ``FAIL ...``), so the notification tells
    the whole story. Missing or non-finite metrics fail closed.
    """
    abs_passes, abs_failures = _absolute_checks(evaluation, thresholds)
    cmp_passes, cmp_failures = _champion_checks(evaluation, thresholds.champion_margin)
    failures = abs_failures + cmp_failures
    return GateResult(passed=not failures, reasons=failures + abs_passes + cmp_passes)
