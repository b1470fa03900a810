"""Reading Model Monitor violation reports."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_common.domain.drift import parse_violation_report, summarize_violations
from mlops_common.domain.errors import ViolationReportInvalid


def test_report_gives_features_and_distances(load_event: Any) -> None:
    violations = parse_violation_report(load_event("constraint_violations"))
    assert [(v.feature_name, v.distance, v.threshold) for v in violations] == [
        ("brightness", 0.3142, 0.1),
        ("predicted_class", 0.1875, 0.1),
    ]


def test_summary_lists_largest_drift_first(load_event: Any) -> None:
    violations = parse_violation_report(load_event("constraint_violations"))
    lines = summarize_violations(list(reversed(violations))).splitlines()
    assert lines[0] == "- brightness [baseline_drift_check]: distance 0.3142 (threshold 0.1)"
    assert lines[1].startswith("- predicted_class")


def test_violation_without_distance_keeps_its_description() -> None:
    violations = parse_violation_report(
        {
            "violations": [
                {
                    "feature_name": "width",
                    "constraint_check_type": "data_type_check",
                    "description": "Data type mismatch",
                }
            ]
        }
    )
    assert violations[0].distance is None
    assert "Data type mismatch" in summarize_violations(violations)


@pytest.mark.parametrize(
    "report",
    [
        [],
        {"violation": []},
        {"violations": "none"},
        {"violations": ["brightness"]},
        {"violations": [{"constraint_check_type": "baseline_drift_check"}]},
    ],
)
def test_malformed_report_is_a_clear_error(report: Any) -> None:
    with pytest.raises(ViolationReportInvalid):
        parse_violation_report(report)
