"""The promotion gate's edge cases."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from mlops_common.domain.gate import evaluate_gate
from mlops_common.models import Evaluation, GateThresholds

THRESHOLDS = GateThresholds(min_accuracy=0.9, min_defect_recall=0.85, champion_margin=0.01)
RAW = "<raw JSON token>"


@pytest.fixture
def evaluation_doc(load_event: Any) -> dict[str, Any]:
    return load_event("evaluation")


def decide(doc: dict[str, Any]) -> tuple[bool, list[str]]:
    result = evaluate_gate(Evaluation.model_validate(doc), THRESHOLDS)
    return result.passed, result.reasons


def decide_json(doc: dict[str, Any], token: str) -> tuple[bool, list[str]]:
    """Decide on ``doc`` as evaluation.json would hold it, with the ``RAW`` value written as ``token``."""
    text = json.dumps(doc).replace(json.dumps(RAW), token)
    return decide(json.loads(text))


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
    assert failures(reasons) == ["FAIL recall[dent] 0.5000 < 0.8500"]


def test_normal_class_recall_is_not_a_defect_threshold(evaluation_doc: dict[str, Any]) -> None:
    evaluation_doc["challenger"]["per_class"]["ok"]["recall"] = 0.1
    passed, _ = decide(evaluation_doc)
    assert passed


def test_missing_class_in_per_class_fails_closed(evaluation_doc: dict[str, Any]) -> None:
    del evaluation_doc["challenger"]["per_class"]["crack"]
    passed, reasons = decide(evaluation_doc)
    assert not passed
    assert failures(reasons) == ["FAIL recall[crack]: missing"]


def test_missing_accuracy_fails_closed(evaluation_doc: dict[str, Any]) -> None:
    evaluation_doc["challenger"]["accuracy"] = None
    passed, reasons = decide(evaluation_doc)
    assert not passed
    assert failures(reasons) == [
        "FAIL accuracy: missing",
        "FAIL accuracy vs champion: challenger value missing",
    ]


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ('"Infinity"', "FAIL accuracy: 'Infinity' is not a number"),
        ('"inf"', "FAIL accuracy: 'inf' is not a number"),
        ('"0.95"', "FAIL accuracy: '0.95' is not a number"),
        ("true", "FAIL accuracy: True is not a number"),
        ("1e999", "FAIL accuracy: inf is not finite"),
        ("-1e999", "FAIL accuracy: -inf is not finite"),
        ("NaN", "FAIL accuracy: nan is not finite"),
        ("7.5", "FAIL accuracy: 7.5 is outside [0, 1]"),
        ("-0.01", "FAIL accuracy: -0.01 is outside [0, 1]"),
    ],
)
def test_accuracy_that_is_not_a_proportion_fails_naming_its_value(
    evaluation_doc: dict[str, Any], token: str, reason: str
) -> None:
    evaluation_doc["challenger"]["accuracy"] = RAW
    passed, reasons = decide_json(evaluation_doc, token)
    assert not passed
    assert failures(reasons) == [reason]


def test_recall_outside_zero_to_one_fails_naming_its_value(evaluation_doc: dict[str, Any]) -> None:
    evaluation_doc["challenger"]["per_class"]["dent"]["recall"] = 42.0
    passed, reasons = decide(evaluation_doc)
    assert not passed
    assert failures(reasons) == ["FAIL recall[dent]: 42.0 is outside [0, 1]"]


def test_nan_recall_fails_closed(evaluation_doc: dict[str, Any]) -> None:
    evaluation_doc["challenger"]["per_class"]["scratch"]["recall"] = math.nan
    passed, reasons = decide(evaluation_doc)
    assert not passed
    assert failures(reasons) == ["FAIL recall[scratch]: nan is not finite"]


def test_an_unusable_metric_the_gate_does_not_compare_still_fails(evaluation_doc: dict[str, Any]) -> None:
    evaluation_doc["challenger"]["per_class"]["ok"]["precision"] = "NaN"
    evaluation_doc["champion"] = None
    passed, reasons = decide(evaluation_doc)
    assert not passed
    assert failures(reasons) == ["FAIL precision[ok]: 'NaN' is not a number"]


def test_unusable_compared_metric_fails_once(evaluation_doc: dict[str, Any]) -> None:
    evaluation_doc["challenger"]["macro_f1"] = 7.5
    passed, reasons = decide(evaluation_doc)
    assert not passed
    assert failures(reasons) == ["FAIL macro_f1: 7.5 is outside [0, 1]"]


def test_missing_compared_metric_fails_against_a_champion(evaluation_doc: dict[str, Any]) -> None:
    del evaluation_doc["challenger"]["macro_f1"]
    passed, reasons = decide(evaluation_doc)
    assert not passed
    assert failures(reasons) == ["FAIL macro_f1 vs champion: challenger value missing"]


def test_champion_missing_a_metric_is_not_compared_on_it(evaluation_doc: dict[str, Any]) -> None:
    del evaluation_doc["champion"]["macro_f1"]
    passed, reasons = decide(evaluation_doc)
    assert passed
    assert "PASS macro_f1 vs champion: champion value missing, comparison cannot be made" in reasons


@pytest.mark.parametrize(
    ("token", "why"),
    [("1e999", "inf is not finite"), ('"Infinity"', "'Infinity' is not a number")],
)
def test_champion_with_a_non_finite_metric_is_not_compared_on_it(
    evaluation_doc: dict[str, Any], token: str, why: str
) -> None:
    evaluation_doc["champion"]["accuracy"] = RAW
    passed, reasons = decide_json(evaluation_doc, token)
    assert passed
    assert f"PASS accuracy vs champion: champion value {why}, comparison cannot be made" in reasons


def test_no_defect_class_fails(evaluation_doc: dict[str, Any]) -> None:
    evaluation_doc["labels"] = ["ok"]
    evaluation_doc["champion"] = None
    passed, reasons = decide(evaluation_doc)
    assert not passed
    assert failures(reasons) == ["FAIL labels: no defect class in the evaluation"]


def test_no_champion_is_decided_by_absolute_thresholds(evaluation_doc: dict[str, Any]) -> None:
    evaluation_doc["champion"] = None
    passed, reasons = decide(evaluation_doc)
    assert passed
    assert "PASS champion: none deployed, absolute thresholds decide" in reasons


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
    assert (
        "PASS champion: label set differs (['dent', 'ok', 'scratch'] vs "
        "['crack', 'dent', 'ok', 'scratch']), comparison skipped"
    ) in reasons


def test_every_failure_is_reported_not_only_the_first(evaluation_doc: dict[str, Any]) -> None:
    evaluation_doc["challenger"]["accuracy"] = 0.5
    evaluation_doc["challenger"]["per_class"]["dent"]["recall"] = 0.5
    evaluation_doc["challenger"]["macro_f1"] = 0.5
    passed, reasons = decide(evaluation_doc)
    assert not passed
    assert len(failures(reasons)) == 4  # accuracy, recall[dent], accuracy and macro_f1 vs champion
