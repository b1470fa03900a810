"""Model Monitor's statistics/constraints/violations formats, written and read back."""

import bisect
import json
import random

import pytest
from model_monitor_format import (
    BaselineFormatError,
    compute_statistics,
    kll_sketch,
    read_constraints,
    read_statistics,
    read_violations,
    sketch_cdf_points,
    sketch_count,
    write_baseline,
    write_json,
)

ROWS = [
    {"brightness": 0.5, "predicted_class": 0, "width": 96.0},
    {"brightness": 0.25, "predicted_class": 1, "width": 96.0},
    {"brightness": 0.75, "predicted_class": 3, "width": 128.0},
    {"brightness": 0.5, "predicted_class": 1, "width": 96.0},
]


@pytest.fixture
def baseline_dir(tmp_path):
    write_baseline(ROWS, tmp_path, drift_threshold=0.2)
    return tmp_path


def _feature(statistics, name):
    return next(f for f in statistics["features"] if f["name"] == name)


def test_statistics_follow_model_monitor_schema(baseline_dir):
    statistics = json.loads((baseline_dir / "statistics.json").read_text())

    assert statistics["version"] == 0
    assert statistics["dataset"] == {"item_count": 4}
    brightness = _feature(statistics, "brightness")
    assert brightness["inferred_type"] == "Fractional"
    numeric = brightness["numerical_statistics"]
    assert numeric["common"] == {"num_present": 4, "num_missing": 0}
    assert numeric["mean"] == pytest.approx(0.5)
    assert numeric["sum"] == pytest.approx(2.0)
    assert numeric["std_dev"] == pytest.approx((0.125 / 4) ** 0.5)
    assert (numeric["min"], numeric["max"]) == (0.25, 0.75)
    kll = numeric["distribution"]["kll"]
    assert sum(bucket["count"] for bucket in kll["buckets"]) == 4
    assert kll["buckets"][0]["lower_bound"] == 0.25
    assert kll["buckets"][-1]["upper_bound"] == pytest.approx(0.75)
    assert kll["sketch"]["parameters"] == {"c": 0.64, "k": 2048}
    assert kll["sketch"]["data"] == [[0.25, 0.5, 0.5, 0.75]]


def test_whole_number_features_are_integral(baseline_dir):
    statistics = read_statistics(baseline_dir / "statistics.json")

    assert _feature(statistics, "predicted_class")["inferred_type"] == "Integral"
    assert _feature(statistics, "width")["inferred_type"] == "Integral"


def test_constraints_carry_the_drift_threshold_and_comparison_method(baseline_dir):
    constraints = read_constraints(baseline_dir / "constraints.json")

    distribution = constraints["monitoring_config"]["distribution_constraints"]
    assert distribution == {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.2,
        "comparison_method": "Robust",
    }
    assert constraints["features"][0] == {
        "name": "brightness",
        "inferred_type": "Fractional",
        "completeness": 1.0,
        "num_constraints": {"is_non_negative": True},
    }


def test_missing_values_are_counted_and_lower_completeness(tmp_path):
    rows = [{"brightness": 0.5}, {"brightness": None}, {"brightness": float("nan")}, {"brightness": 0.1}]
    write_baseline(rows, tmp_path)

    statistics = read_statistics(tmp_path / "statistics.json")
    constraints = read_constraints(tmp_path / "constraints.json")

    assert _feature(statistics, "brightness")["numerical_statistics"]["common"] == {
        "num_present": 2,
        "num_missing": 2,
    }
    assert constraints["features"][0]["completeness"] == 0.5


def test_feature_names_fix_column_order(tmp_path):
    write_baseline(ROWS, tmp_path, feature_names=["width", "brightness"])

    statistics = read_statistics(tmp_path / "statistics.json")

    assert [f["name"] for f in statistics["features"]] == ["width", "brightness"]


def test_empty_rows_are_refused(tmp_path):
    with pytest.raises(ValueError, match="at least one row"):
        write_baseline([], tmp_path)


@pytest.mark.parametrize("threshold", [-0.1, 1.5, float("nan")])
def test_out_of_range_thresholds_are_refused(tmp_path, threshold):
    with pytest.raises(ValueError, match="drift_threshold"):
        write_baseline(ROWS, tmp_path, drift_threshold=threshold)


def test_small_sketch_holds_every_value_exactly():
    sketch = kll_sketch([3.0, 1.0, 2.0])

    assert sketch["data"] == [[1.0, 2.0, 3.0]]
    assert sketch_cdf_points(sketch) == ([1.0, 2.0, 3.0], [1 / 3, 2 / 3, 1.0])


def test_large_sketch_compacts_but_keeps_count_and_ranks():
    generator = random.Random(3)
    values = [generator.gauss(0.0, 1.0) for _ in range(10_000)]

    sketch = kll_sketch(values, k=256)

    assert len(sketch["data"]) > 1
    assert sum(len(level) for level in sketch["data"]) < 1_000
    assert sketch_count(sketch) == 10_000
    ordered = sorted(values)
    points, fractions = sketch_cdf_points(sketch)
    worst = max(
        abs(f - bisect.bisect_right(ordered, x) / len(ordered))
        for x, f in zip(points, fractions, strict=True)
    )
    assert worst < 0.02


def test_statistics_round_trip_through_json(tmp_path):
    statistics = compute_statistics(ROWS)

    write_json(tmp_path / "statistics.json", statistics)

    assert read_statistics(tmp_path / "statistics.json") == statistics


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d.update(version=2), "version"),
        (lambda d: d.pop("dataset"), "item_count"),
        (lambda d: d.update(features=[]), "features"),
        (lambda d: d["features"][0].update(inferred_type="String"), "inferred_type"),
        (lambda d: d["features"][0]["numerical_statistics"].pop("mean"), "mean"),
        (lambda d: d["features"][0]["numerical_statistics"]["distribution"]["kll"].pop("sketch"), "sketch"),
        (lambda d: d["features"].append(dict(d["features"][0])), "twice"),
    ],
)
def test_malformed_statistics_are_rejected_with_the_reason(tmp_path, mutate, reason):
    statistics = compute_statistics(ROWS)
    mutate(statistics)
    path = write_json(tmp_path / "statistics.json", statistics)

    with pytest.raises(BaselineFormatError, match=reason):
        read_statistics(path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [("", "not JSON"), ("[1, 2]", "object"), ('{"version": 0, "features": "x"}', "features")],
)
def test_unreadable_constraints_are_rejected(tmp_path, content, reason):
    path = tmp_path / "constraints.json"
    path.write_text(content)

    with pytest.raises(BaselineFormatError, match=reason):
        read_constraints(path)


def test_unknown_comparison_method_is_rejected(baseline_dir):
    path = baseline_dir / "constraints.json"
    constraints = json.loads(path.read_text())
    constraints["monitoring_config"]["distribution_constraints"]["comparison_method"] = "Magic"
    path.write_text(json.dumps(constraints))

    with pytest.raises(BaselineFormatError, match="comparison_method"):
        read_constraints(path)


def test_missing_baseline_file_is_reported(tmp_path):
    with pytest.raises(BaselineFormatError, match="missing"):
        read_statistics(tmp_path / "statistics.json")


def test_violations_round_trip(tmp_path):
    violations = [
        {"feature_name": "brightness", "constraint_check_type": "baseline_drift_check", "description": "x"}
    ]
    write_json(tmp_path / "constraint_violations.json", {"violations": violations})

    assert read_violations(tmp_path / "constraint_violations.json") == violations
