"""The promotion gate's edge cases."""

from __future__ import annotations

import math
from typing import Any

import pytest

from mlops_common.domain.gate import evaluate_gate
from mlops_common.models import Evaluation, GateThresholds

THRESHOLDS = GateThresholds(min_accuracy=0.9, min_defect_recall=0.85, champion_margin=0.01)


@pytest.fixture
def evaluation_doc(load_event: Any) -> dict[str, Any]:
    return load_event("evaluation")


def decide(doc: dict[str, Any]) -> tuple[bool, list[str]]:
    result = evaluate_gate(Evaluation.model_validate(doc), THRESHOLDS)
    return result.passed, result.reasons


def failures(reasons: list[str]) -> list[str]:
    return [reason for reason in reasons if reason.startswith("FAIL")]


def test_good_challenger_passes_with_every_reason(evaluation_doc: dict[str, Any]) -> None:
    passed, reasons = decide(evaluation_doc)
    assert passed
    assert not failures(reasons)
    # accuracy + 3 defect recalls + 3 champion comparisons
    assert len(reasons) == 7
    assert not any("recall[ok]" in reason for reason in reasons)


def test_exactly_at_every_threshold_passes(evaluation_doc: dict[str, Any]) -> None:
    challenger = evaluation_doc["challenger"]
    challenger["accuracy"] = 0.9
    for label in ("crack", "dent", "scratch"):
        challenger["per_class"][label]["recall"] = 0.85
    evaluation_doc["champion"] = None
    passed, reasons = decide(evaluation_doc)
    assert passed, reasons


def test_just_below_accuracy_fails(evaluation_doc: dict[str, Any]) -> None:
    evaluation_doc["challenger"]["accuracy"] = 0.8999
    evaluation_doc["champion"] = None
    passed, reasons = decide(evaluation_doc)
    assert not passed
    assert failures(reasons) == ["FAIL accuracy 0.8999 < 0.9000"]


def test_one_weak_defect_class_fails_and_is_named(evaluation_doc: dict[str, Any]) -> None:
    evaluation_doc["challenger"]["per_class"]["dent"]["recall"] = 0.5
    passed, reasons = decide(evaluation_doc)
    assert not passed
    assert any(reason.startswith("FAIL recall[dent]") for reason in reasons)


def test_normal_class_recall_is_not_a_defect_threshold(evaluation_doc: dict[str, Any]) -> None:
    evaluation_doc["challenger"]["per_class"]["ok"]["recall"] = 0.1
    passed, _ = decide(evaluation_doc)
    assert passed


def test_missing_class_in_per_class_fails_closed(evaluation_doc: dict[str, Any]) -> None:
    del evaluation_doc["challenger"]["per_class"]["crack"]
    passed, reasons = decide(evaluation_doc)
    assert not passed
    assert "FAIL recall[crack]: missing or not a number" in reasons


@pytest.mark.parametrize("bad", [math.nan, None, math.inf])
def test_non_finite_or_missing_accuracy_fails_closed(evaluation_doc: dict[str, Any], bad: Any) -> None:
    evaluation_doc["challenger"]["accuracy"] = bad
    passed, reasons = decide(evaluation_doc)
    assert not passed
    assert "FAIL accuracy: missing or not a number" in reasons


def test_nan_recall_fails_closed(evaluation_doc: dict[str, Any]) -> None:
    evaluation_doc["challenger"]["per_class"]["scratch"]["recall"] = math.nan
    passed, _ = decide(evaluation_doc)
    assert not passed


def test_no_champion_is_decided_by_absolute_thresholds(evaluation_doc: dict[str, Any]) -> None:
    evaluation_doc["champion"] = None
    passed, reasons = decide(evaluation_doc)
    assert passed
    assert any("champion: none deployed" in reason for reason in reasons)


def test_worse_than_champion_beyond_margin_fails(evaluation_doc: dict[str, Any]) -> None:
    evaluation_doc["champion"]["macro_f1"] = 0.97  # challenger 0.948 < 0.97 - 0.01
    passed, reasons = decide(evaluation_doc)
    assert not passed
    assert failures(reasons) == ["FAIL macro_f1 0.9480 < champion 0.9700 - margin 0.0100"]


def test_worse_than_champion_within_margin_passes(evaluation_doc: dict[str, Any]) -> None:
    evaluation_doc["champion"]["accuracy"] = 0.96  # challenger 0.95 == 0.96 - 0.01
    passed, reasons = decide(evaluation_doc)
    assert passed, reasons


def test_champion_on_a_different_label_set_is_not_compared(evaluation_doc: dict[str, Any]) -> None:
    del evaluation_doc["champion"]["per_class"]["crack"]
    evaluation_doc["champion"]["accuracy"] = 0.99
    passed, reasons = decide(evaluation_doc)
    assert passed
    assert any("label set differs" in reason for reason in reasons)


def test_every_failure_is_reported_not_only_the_first(evaluation_doc: dict[str, Any]) -> None:
    evaluation_doc["challenger"]["accuracy"] = 0.5
    evaluation_doc["challenger"]["per_class"]["dent"]["recall"] = 0.5
    evaluation_doc["challenger"]["macro_f1"] = 0.5
    passed, reasons = decide(evaluation_doc)
    assert not passed
    assert len(failures(reasons)) == 4  # accuracy, recall[dent], accuracy and macro_f1 vs champion
