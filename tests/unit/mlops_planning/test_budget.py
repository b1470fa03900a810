"""Fitting a plan to a budget: what is given up first, and the warning when nothing fits."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mlops_planning.budget import BUDGET_STEPS, fit_budget
from mlops_planning.cost_model import load_price_table
from mlops_planning.planner import Plan, Recommendation, recommend
from mlops_planning.requirements import Requirements

Recommend = Callable[[str], Recommendation]


def test_small_line_fits_its_budget_and_explains_why_not_serverless(recommend_profile: Recommend):
    recommendation = recommend_profile("small_line")

    assert recommendation.within_budget is True
    assert recommendation.cost is not None
    assert recommendation.cost.monthly_usd <= 150
    assert any("Serverless inference" in a and "Model Monitor" in a for a in recommendation.alternatives)


def test_budget_that_cannot_be_met_is_a_warning_with_the_minimum(recommend_profile: Recommend):
    recommendation = recommend_profile("impossible_budget")

    assert recommendation.within_budget is False
    assert recommendation.cost is not None
    warning = next(w for w in recommendation.warnings if "below the" in w)
    assert "100.00 USD" in warning
    assert f"{recommendation.cost.monthly_usd:,.2f} USD" in warning
    assert "real-time latency at 50 requests/s" in warning
    assert any(a.startswith("Batch-only inference") for a in recommendation.alternatives)


def test_steps_give_up_tuning_then_hourly_monitoring_then_redundancy():
    requirements = Requirements(
        images_total=300_000, requests_per_second=3, retrain="weekly", monthly_budget_usd=1.0
    )

    recommendation = recommend(requirements)

    changes = [w for w in recommendation.warnings if w.endswith("fit the budget") or "fit the budget:" in w]
    assert changes == [
        "tuning cut from 12 to 4 trials to fit the budget",
        "tuning turned off to fit the budget",
        "monitoring moved from hourly to daily to fit the budget",
        "endpoint cut from 2 to 1 instance(s) to fit the budget: no Availability Zone redundancy",
    ]
    assert len(BUDGET_STEPS) == len(changes)


def test_a_budget_that_fits_changes_nothing():
    generous = recommend(Requirements(images_total=300_000, requests_per_second=20, monthly_budget_usd=1e6))
    unbounded = recommend(Requirements(images_total=300_000, requests_per_second=20))

    assert generous.within_budget is True
    assert generous.parameters == unbounded.parameters
    assert unbounded.within_budget is None


def test_a_batch_only_plan_over_budget_keeps_its_cheapest_form():
    # No endpoint: the endpoint step has nothing to cut (it used to fail on the missing instance count).
    requirements = Requirements(
        images_total=200_000, images_per_day=5_000, latency="batch", retrain="daily", monthly_budget_usd=1.0
    )

    recommendation = recommend(requirements)

    assert recommendation.within_budget is False
    assert "EndpointInstanceCount" not in recommendation.parameters
    assert any("needs for batch inference" in w for w in recommendation.warnings)
    assert not any(a.startswith("Batch-only inference") for a in recommendation.alternatives)


def test_fit_budget_needs_a_budget():
    unbounded = recommend(Requirements())
    assert unbounded.cost is not None
    assert unbounded.job_sizes is not None

    with pytest.raises(ValueError, match="monthly_budget_usd"):
        fit_budget(Plan(Requirements(), load_price_table()), unbounded.cost, unbounded.job_sizes)
