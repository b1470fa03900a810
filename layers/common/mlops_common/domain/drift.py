"""Reading Model Monitor violation reports and saying what drifted."""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import ValidationError

from mlops_common.domain.errors import ViolationReportInvalid
from mlops_common.models import Violation

# Model Monitor writes e.g. "Baseline drift distance: 0.31 exceeds threshold: 0.1".
_DISTANCE = re.compile(r"distance:?\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)", re.IGNORECASE)
_THRESHOLD = re.compile(r"threshold:?\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)", re.IGNORECASE)

VIOLATIONS_FILE = "constraint_violations.json"


def _first_number(pattern: re.Pattern[str], text: str) -> float | None:
    match = pattern.search(text)
    return float(match.group(1)) if match else None


def parse_violation_report(report: Any) -> list[Violation]:
    """The violations of a ``constraint_violations.json`` document; raises on any other shape."""
    if not isinstance(report, dict) or not isinstance(report.get("violations"), list):
        raise ViolationReportInvalid("expected an object with a 'violations' list")
    violations: list[Violation] = []
    for index, entry in enumerate(report["violations"]):
        if not isinstance(entry, dict):
            raise ViolationReportInvalid(f"violation {index} is not an object")
        description = str(entry.get("description", ""))
        try:
            violations.append(
                Violation(
                    feature_name=entry["feature_name"],
                    constraint_check_type=entry["constraint_check_type"],
                    description=description,
                    distance=_first_number(_DISTANCE, description),
                    threshold=_first_number(_THRESHOLD, description),
                )
            )
        except (KeyError, ValidationError) as exc:
            raise ViolationReportInvalid(f"violation {index} lacks a field: {exc}") from exc
    return violations


def summarize_violations(violations: list[Violation]) -> str:
    """One line per violated feature, largest drift first: what the notification says."""
    if not violations:
        return "no violations reported"
    # Violations without a distance (a type or completeness check) come after every drift distance.
    ordered = sorted(violations, key=lambda v: math.inf if v.distance is None else -v.distance)
    lines = []
    for violation in ordered:
        amount = (
            f"distance {violation.distance:g}"
            + (f" (threshold {violation.threshold:g})" if violation.threshold is not None else "")
            if violation.distance is not None
            else violation.description or "no distance reported"
        )
        lines.append(f"- {violation.feature_name} [{violation.constraint_check_type}]: {amount}")
    return "\n".join(lines)
