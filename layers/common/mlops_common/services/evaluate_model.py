"""The promotion gate over ``evaluation.json``."""

from __future__ import annotations

from pydantic import ValidationError

from mlops_common.domain.gate import evaluate_gate
from mlops_common.models import Evaluation, GateDecision, GateInput, GateThresholds
from mlops_common.ports import JsonDocuments, ObjectNotFound
from mlops_common.settings import GateSettings


class EvaluationUnreadable(ValueError):
    """``evaluation.json`` is missing, or not in the format of docs/contracts.md."""


def evaluate_model(request: GateInput, *, store: JsonDocuments, settings: GateSettings) -> GateDecision:
    """Read the evaluation and decide; the decision lists every passed and failed check."""
    try:
        evaluation = Evaluation.model_validate(store.read_json(request.evaluation_uri))
    except ObjectNotFound as exc:
        raise EvaluationUnreadable(f"{request.evaluation_uri} does not exist") from exc
    except (ValueError, ValidationError) as exc:
        # Not JSON, larger or deeper than bounded_json reads, or not an evaluation.
        raise EvaluationUnreadable(f"{request.evaluation_uri}: {exc}") from exc
    thresholds = GateThresholds(
        min_accuracy=settings.gate_min_accuracy,
        min_defect_recall=settings.gate_min_defect_recall,
        champion_margin=settings.gate_champion_margin,
    )
    if evaluation.normal_class != settings.normal_class:
        # The evaluation names its own normal class; a mismatch means a misconfigured stack.
        raise EvaluationUnreadable(
            f"evaluation normal class {evaluation.normal_class!r} != configured {settings.normal_class!r}"
        )
    result = evaluate_gate(evaluation, thresholds)
    return GateDecision(
        passed=result.passed,
        reasons=result.reasons,
        challenger=evaluation.challenger.model_dump(mode="json"),
        champion=evaluation.champion.model_dump(mode="json") if evaluation.champion else None,
        thresholds=thresholds,
    )
