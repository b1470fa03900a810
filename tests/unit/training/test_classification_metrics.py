"""Metrics by label name."""

import pytest
from classification_metrics import classification_report

LABELS = ["crack", "dent", "ok"]


def test_perfect_predictions_score_one_everywhere():
    truth = ["ok", "dent", "crack", "ok"]

    report = classification_report(truth, truth, LABELS, "ok")

    assert (report["accuracy"], report["macro_f1"], report["min_defect_recall"]) == (1.0, 1.0, 1.0)
    assert report["confusion_matrix"] == [[1, 0, 0], [0, 1, 0], [0, 0, 2]]


def test_per_class_precision_recall_and_support():
    truth = ["dent", "dent", "ok", "ok"]
    predicted = ["dent", "ok", "ok", "ok"]

    report = classification_report(truth, predicted, LABELS, "ok")

    assert report["per_class"]["dent"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": pytest.approx(2 / 3),
        "support": 2,
    }
    assert report["per_class"]["ok"]["precision"] == pytest.approx(2 / 3)
    assert report["min_defect_recall"] == 0.5


def test_labels_without_support_do_not_count_in_macro_f1_or_min_recall():
    report = classification_report(["ok", "dent"], ["ok", "dent"], LABELS, "ok")

    assert report["per_class"]["crack"]["support"] == 0
    assert (report["macro_f1"], report["min_defect_recall"]) == (1.0, 1.0)


def test_unknown_predicted_label_counts_as_wrong():
    report = classification_report(["dent", "ok"], ["rust", "ok"], LABELS, "ok")

    assert report["accuracy"] == 0.5
    assert report["unknown_predictions"] == 1
    assert report["per_class"]["dent"]["recall"] == 0.0


def test_true_label_outside_the_list_is_an_error():
    with pytest.raises(ValueError, match="missing from the label list"):
        classification_report(["rust"], ["ok"], LABELS, "ok")


def test_no_defect_class_gives_zero_min_defect_recall():
    assert classification_report(["ok"], ["ok"], ["ok"], "ok")["min_defect_recall"] == 0.0
