"""Classification metrics by label name: accuracy, per-class precision/recall/F1, macro F1,
the worst recall over defect classes, and the confusion matrix.

Predictions are label names, so a model trained on a different label set can be scored on the
same test split: a predicted label the test labels do not contain is simply wrong, and is counted
separately in ``unknown_predictions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def classification_report(
    true_labels: Sequence[str],
    predicted_labels: Sequence[str],
    labels: Sequence[str],
    normal_class: str,
) -> dict[str, Any]:
    """Score predictions against truth over ``labels`` (the test set's label list, sorted).

    Returns ``accuracy``, ``macro_f1`` (over labels with support), ``min_defect_recall`` (lowest
    recall of a label other than ``normal_class`` that has support), ``per_class``,
    ``confusion_matrix`` (rows = true label, columns = predicted label, in ``labels`` order) and
    ``unknown_predictions`` (predictions naming a label outside ``labels``).
    """
    if len(true_labels) != len(predicted_labels):
        raise ValueError(f"{len(true_labels)} true labels but {len(predicted_labels)} predictions")
    index = {label: i for i, label in enumerate(labels)}
    unknown_truth = sorted({label for label in true_labels if label not in index})
    if unknown_truth:
        raise ValueError(f"true labels missing from the label list: {unknown_truth}")
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    unknown_predictions = 0
    for truth, predicted in zip(true_labels, predicted_labels, strict=True):
        if predicted in index:
            matrix[index[truth], index[predicted]] += 1
        else:
            unknown_predictions += 1
    support = np.array([true_labels.count(label) for label in labels], dtype=np.int64) if labels else None
    per_class: dict[str, dict[str, float | int]] = {}
    for i, label in enumerate(labels):
        true_positive = int(matrix[i, i])
        predicted_count = int(matrix[:, i].sum())
        label_support = int(support[i]) if support is not None else 0
        precision = true_positive / predicted_count if predicted_count else 0.0
        recall = true_positive / label_support if label_support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": label_support}
    scored = [label for label in labels if per_class[label]["support"]]
    defect_recalls = [per_class[label]["recall"] for label in scored if label != normal_class]
    total = len(true_labels)
    return {
        "accuracy": float(np.trace(matrix)) / total if total else 0.0,
        "macro_f1": float(np.mean([per_class[label]["f1"] for label in scored])) if scored else 0.0,
        "min_defect_recall": float(min(defect_recalls)) if defect_recalls else 0.0,
        "per_class": per_class,
        "confusion_matrix": matrix.tolist(),
        "unknown_predictions": unknown_predictions,
    }
