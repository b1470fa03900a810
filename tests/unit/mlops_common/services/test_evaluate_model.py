"""evaluate_model's use case with an in-memory store: the gate's decision from ``evaluation.json``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mlops_common.models import GateInput
from mlops_common.services.evaluate_model import EvaluationUnreadable, evaluate_model
from mlops_common.settings import GateSettings
from tests.unit.mlops_common.fakes import FakeDocuments

URI = "s3://artifacts/evaluation/run-1/evaluation.json"
GATE = GateSettings(normal_class="ok", gate_min_accuracy=0.9, gate_min_defect_recall=0.85)


def test_decision_carries_the_thresholds_and_every_reason(load_event: Callable[[str], Any]) -> None:
    decision = evaluate_model(
        GateInput(evaluation_uri=URI), store=FakeDocuments({URI: load_event("evaluation")}), settings=GATE
    )
    assert decision.passed is True
    assert decision.thresholds.min_defect_recall == 0.85
    assert all(reason.startswith("PASS") for reason in decision.reasons)


def test_a_foreign_normal_class_is_a_misconfigured_stack(load_event: Callable[[str], Any]) -> None:
    settings = GateSettings(normal_class="good")
    with pytest.raises(EvaluationUnreadable, match="normal class"):
        evaluate_model(
            GateInput(evaluation_uri=URI),
            store=FakeDocuments({URI: load_event("evaluation")}),
            settings=settings,
        )


def test_a_missing_evaluation_is_unreadable() -> None:
    with pytest.raises(EvaluationUnreadable, match="does not exist"):
        evaluate_model(GateInput(evaluation_uri=URI), store=FakeDocuments(), settings=GATE)


DIAGNOSTICS = {
    "status": "issues_found",
    "issues": [
        "overfitting: validation loss rose 0.3 -> 0.5 in epochs 5-7 while training loss fell 0.4 -> 0.2"
    ],
    "checks": {
        "overfitting": {"status": "issues_found", "reason": "validation loss rose ..."},
        "class_imbalance": {
            "status": "ok",
            "reason": "largest class 'ok' has 72 images, smallest 'dent' 66 (1.1x)",
        },
    },
}


def _decide(evaluation: dict[str, Any]) -> Any:
    return evaluate_model(
        GateInput(evaluation_uri=URI), store=FakeDocuments({URI: evaluation}), settings=GATE
    )


def test_the_challengers_training_diagnostics_pass_through_to_the_notifications(
    load_event: Callable[[str], Any],
) -> None:
    evaluation = load_event("evaluation")
    evaluation["challenger"]["diagnostics"] = DIAGNOSTICS

    decision = _decide(evaluation)

    assert decision.to_json()["challenger"]["diagnostics"] == DIAGNOSTICS
    # They inform people; the gate's decision does not read them.
    assert decision.passed is True


@pytest.mark.parametrize(
    "diagnostics",
    [None, "issues", {"status": "broken"}, {"status": "ok", "checks": {"x": {"status": "maybe"}}}],
)
def test_absent_or_malformed_diagnostics_read_null_and_never_block_the_gate(
    load_event: Callable[[str], Any], diagnostics: Any
) -> None:
    evaluation = load_event("evaluation")
    if diagnostics is not None:
        evaluation["challenger"]["diagnostics"] = diagnostics

    decision = _decide(evaluation)

    assert decision.to_json()["challenger"]["diagnostics"] is None
    assert decision.passed is True
