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
