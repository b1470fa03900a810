"""A recommendation as text for people or JSON for programs."""

from __future__ import annotations

import json

from mlops_planning.planner import Recommendation


def render_json(recommendation: Recommendation) -> str:
    """The recommendation as indented JSON (``Recommendation.model_validate`` reads it back)."""
    return json.dumps(recommendation.model_dump(mode="json"), indent=2)


def render_text(recommendation: Recommendation) -> str:
    """The human-readable answer."""
    lines: list[str] = []
    if not recommendation.supported:
        lines.extend(recommendation.warnings)
        if recommendation.alternatives:
            lines.append("What would fit:")
            lines.extend(f"  - {a}" for a in recommendation.alternatives)
        return "\n".join(lines) + "\n"
    lines.append("Recommendation")
    for choice in recommendation.choices:
        lines.append(f"  {choice.topic}: {choice.decision}")
        lines.append(f"      why: {choice.reason}")
        lines.append(f"      source: {choice.source}")
    cost = recommendation.cost
    if cost is not None:
        lines.append("")
        lines.append(f"Estimated cost ({cost.region}, prices checked {cost.price_table_checked})")
        for item in cost.items:
            lines.append(
                f"  {item.name:<36} {item.usd_per_month:>10,.2f} USD/month  ({item.note or item.unit})"
            )
        lines.append(f"  {'per run':<36} {cost.per_run_usd:>10,.2f} USD")
        lines.append(f"  {'per month':<36} {cost.monthly_usd:>10,.2f} USD ({cost.runs_per_month:g} runs)")
    if recommendation.alternatives:
        lines.append("")
        lines.append("Considered and not chosen")
        lines.extend(f"  - {a}" for a in recommendation.alternatives)
    if recommendation.warnings:
        lines.append("")
        lines.append("Warnings")
        lines.extend(f"  ! {w}" for w in recommendation.warnings)
    lines.append("")
    lines.append("Template parameter overrides")
    lines.extend(f"  {k}={v}" for k, v in recommendation.parameters.items())
    return "\n".join(lines) + "\n"
