"""Reading Model Monitor violation reports."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_common.domain.drift import parse_violation_report, summarize_violations
from mlops_common.domain.errors import ViolationReportInvalid
from mlops_common.models import Violation


def violation(feature: str, distance: float | None, threshold: float | None = None) -> Violation:
    return Violation(
        feature_name=feature,
        constraint_check_type="baseline_drift_check",
        description=f"{feature} drifted",
        distance=distance,
        threshold=threshold,
    )


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


def test_violations_without_a_distance_come_after_every_distance() -> None:
    summary = summarize_violations(
        [violation("width", None), violation("contrast", 0.0), violation("sharpness", -1.5)]
    )
    assert [line.split(" ")[1] for line in summary.splitlines()] == ["contrast", "sharpness", "width"]


def test_distance_without_threshold_is_shown_alone() -> None:
    assert summarize_violations([violation("brightness", 0.3)]) == (
        "- brightness [baseline_drift_check]: distance 0.3"
    )


def test_an_empty_violation_list_says_so() -> None:
    assert summarize_violations([]) == "no violations reported"


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
    assert summarize_violations(violations) == "- width [data_type_check]: Data type mismatch"


def test_violation_without_description_or_distance_says_no_distance() -> None:
    violations = parse_violation_report(
        {"violations": [{"feature_name": "width", "constraint_check_type": "completeness_check"}]}
    )
    assert violations[0].description == ""
    assert summarize_violations(violations) == "- width [completeness_check]: no distance reported"


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ([], "^expected an object with a 'violations' list$"),
        ({"violation": []}, "^expected an object with a 'violations' list$"),
        ({"violations": "none"}, "^expected an object with a 'violations' list$"),
        ({"violations": ["brightness"]}, "^violation 0 is not an object$"),
        (
            {"violations": [{"feature_name": "a", "constraint_check_type": "b"}, 7]},
            "^violation 1 is not an object$",
        ),
        (
            {"violations": [{"constraint_check_type": "baseline_drift_check"}]},
            "^violation 0 lacks a field: 'feature_name'$",
        ),
    ],
)
def test_malformed_report_is_a_clear_error(report: Any, message: str) -> None:
    with pytest.raises(ViolationReportInvalid, match=message):
        parse_violation_report(report)
