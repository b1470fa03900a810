"""Fitting a plan to a monthly budget: give up what costs least in quality first, and say so.

Each step changes one decision of the plan (fewer tuning trials, then none, daily instead of hourly
monitoring, the throughput minimum of endpoint instances) and returns a sentence for the warnings,
or None when it has nothing left to give. When every step is spent and the budget is still not
met, the plan keeps its cheapest form and a warning states the shortfall.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mlops_planning.cost_model import CostBreakdown, JobSizes
from mlops_planning.decisions import DAILY_TUNING_JOBS, MONITOR_DAILY, MONITOR_HOURLY

if TYPE_CHECKING:
    # The planner calls fit_budget with its Plan; importing it at run time would be circular.
    from mlops_planning.planner import Plan


def _cheaper_tuning(plan: Plan) -> str | None:
    jobs = int(plan.parameters.get("TuningMaxJobs", "1"))
    if plan.parameters.get("EnableTuning") != "true":
        return None
    if jobs > DAILY_TUNING_JOBS:
        plan.set_tuning(DAILY_TUNING_JOBS, 2, "Cut to fit the budget: fewer trials per run.")
        return f"tuning cut from {jobs} to {DAILY_TUNING_JOBS} trials to fit the budget"
    plan.set_tuning(
        0, 0, "Turned off to fit the budget: each run trains once with the default hyperparameters."
    )
    return "tuning turned off to fit the budget"


def _daily_monitoring(plan: Plan) -> str | None:
    if plan.parameters.get("MonitoringScheduleExpression") != MONITOR_HOURLY:
        return None
    plan.parameters["MonitoringScheduleExpression"] = MONITOR_DAILY
    old = plan.choices["Monitoring"]
    plan.choose(
        "Monitoring",
        old.decision.replace("hourly", "daily"),
        old.reason + " Daily to fit the budget.",
        old.source,
    )
    return "monitoring moved from hourly to daily to fit the budget"


def _fewer_endpoint_instances(plan: Plan) -> str | None:
    # A batch-only plan has no endpoint, so no EndpointInstanceCount to cut.
    if plan.endpoint_mode == "none":
        return None
    count = int(plan.parameters["EndpointInstanceCount"])
    if count <= plan.endpoint_min_instances:
        return None
    plan.parameters["EndpointInstanceCount"] = str(plan.endpoint_min_instances)
    old = plan.choices["Endpoint"]
    plan.choose(
        "Endpoint",
        old.decision.replace(f"{count} x", f"{plan.endpoint_min_instances} x"),
        old.reason + " Cut to the throughput minimum to fit the budget.",
        old.source,
    )
    return (
        f"endpoint cut from {count} to {plan.endpoint_min_instances} instance(s) to fit the budget:"
        " no Availability Zone redundancy"
    )


# In order: what costs least in quality first. Tuning is cut twice: first fewer trials, then off.
BUDGET_STEPS: tuple[Callable[[Plan], str | None], ...] = (
    _cheaper_tuning,
    _cheaper_tuning,
    _daily_monitoring,
    _fewer_endpoint_instances,
)


def fit_budget(plan: Plan, cost: CostBreakdown, sizes: JobSizes) -> tuple[CostBreakdown, JobSizes, bool]:
    """Apply ``BUDGET_STEPS`` until ``cost`` fits the requirements' budget.

    Returns the final cost, the job sizes it assumed, and whether the budget is met; the plan's
    parameters, choices and warnings are changed in place.
    """
    budget = plan.requirements.monthly_budget_usd
    if budget is None:
        raise ValueError("fit_budget needs requirements with a monthly_budget_usd")
    for step in BUDGET_STEPS:
        if cost.monthly_usd <= budget:
            return cost, sizes, True
        change = step(plan)
        if change:
            plan.warnings.append(change)
            cost, sizes = plan.estimate()
    if cost.monthly_usd <= budget:
        return cost, sizes, True
    req = plan.requirements
    need = (
        f"real-time latency at {req.requests_per_second:g} requests/s"
        if plan.endpoint_mode == "realtime"
        else "batch inference"
    )
    plan.warnings.append(
        f"The monthly budget of {budget:,.2f} USD is below the {cost.monthly_usd:,.2f} USD this pipeline"
        f" needs for {need} with {req.retrain} retraining; the cheapest configuration found is shown."
        + (
            " Managed spot would cut training cost, but interruptions are not tolerated."
            if not req.interruption_tolerant
            else ""
        )
    )
    return cost, sizes, False
