"""The recommendation as text and as JSON."""

from __future__ import annotations

import json

from mlops_planning.planner import Recommendation, recommend
from mlops_planning.render import render_json, render_text
from mlops_planning.requirements import Requirements


def test_text_has_each_choice_the_cost_and_the_overrides():
    recommendation = recommend(Requirements(images_total=2_000, requests_per_second=0.05))

    text = render_text(recommendation)

    for choice in recommendation.choices:
        assert f"  {choice.topic}: {choice.decision}\n      why: {choice.reason}\n" in text
    assert "Estimated cost (us-east-1, prices checked" in text
    assert "per month" in text
    assert "Considered and not chosen" in text
    assert "  GlueWorkerType=G.1X\n" in text


def test_text_for_an_unsupported_task_says_what_would_fit():
    text = render_text(recommend(Requirements(task="tabular")))

    assert "not supported by this pipeline" in text
    assert "What would fit:\n  - SageMaker Autopilot" in text
    assert "Template parameter overrides" not in text


def test_json_reads_back_as_the_recommendation():
    recommendation = recommend(Requirements(monthly_budget_usd=10))

    payload = render_json(recommendation)

    assert Recommendation.model_validate(json.loads(payload)) == recommendation
