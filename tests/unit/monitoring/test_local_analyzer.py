"""The local analyzer: the built-in analyzer's checks over captured image traffic."""

import json
import math

import pytest
from local_analyzer import (
    DRIFT_METRIC_PREFIX,
    METRICS_NAMESPACE,
    analyze_rows,
    baseline_distance,
    drift_metrics,
)
from model_monitor_format import compute_statistics, kll_sketch, suggest_constraints
from traffic_shift import DEFECT_OUTBREAK, blurred, darker, new_camera


def _drifted_features(result):
    return {
        v["feature_name"] for v in result.violations if v["constraint_check_type"] == "baseline_drift_check"
    }


# --- end to end over capture files ----------------------------------------------------------------


def test_in_distribution_traffic_has_no_violations(traffic_window, analyze):
    result = analyze([traffic_window(seed=1)])

    assert result.status == "Completed"
    assert result.violations == []
    assert result.records_read == 25  # 100 images in batches of 4
    assert result.statistics["dataset"]["item_count"] == 100


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_other_in_distribution_windows_stay_quiet(traffic_window, analyze, seed):
    assert analyze([traffic_window(seed=seed, batch_size=1)]).violations == []


def test_darker_traffic_drifts_brightness(traffic_window, analyze):
    result = analyze([traffic_window(shift=darker)])

    assert result.status == "CompletedWithViolations"
    assert "brightness" in _drifted_features(result)


def test_blurred_traffic_drifts_sharpness(traffic_window, analyze):
    result = analyze([traffic_window(shift=blurred)])

    assert "sharpness" in _drifted_features(result)


def test_new_camera_drifts_colour_and_size(traffic_window, analyze):
    result = analyze([traffic_window(shift=new_camera)])

    assert {"red_ratio", "blue_ratio", "width", "height"} <= _drifted_features(result)


def test_shifted_class_mix_drifts_predicted_class_only(traffic_window, analyze):
    result = analyze([traffic_window(weights=DEFECT_OUTBREAK)])

    assert _drifted_features(result) == {"predicted_class"}


def test_reports_are_written_in_model_monitor_format(tmp_path, traffic_window, analyze):
    result = analyze([traffic_window(shift=darker)])

    violations = json.loads((tmp_path / "report" / "constraint_violations.json").read_text())
    statistics = json.loads((tmp_path / "report" / "statistics.json").read_text())
    assert violations == {"violations": result.violations}
    assert set(violations["violations"][0]) == {"feature_name", "constraint_check_type", "description"}
    assert statistics["dataset"]["item_count"] == 100


def test_drift_metrics_are_emitted_per_feature(traffic_window, analyze):
    result = analyze([traffic_window(shift=darker)])

    brightness = next(m for m in result.metrics if m["MetricName"] == "feature_baseline_drift_brightness")
    assert brightness["Value"] == pytest.approx(result.distances["brightness"])
    assert brightness["Dimensions"] == [
        {"Name": "Endpoint", "Value": "defect-classifier"},
        {"Name": "MonitoringSchedule", "Value": "defect-classifier-data-quality"},
    ]
    assert len(result.metrics) == 11


def test_exit_message_matches_what_handle_drift_looks_for(traffic_window, analyze):
    assert analyze([traffic_window(shift=darker)]).exit_message.startswith("CompletedWithViolations")
    assert analyze([traffic_window()]).exit_message.startswith("Completed:")


def test_malformed_capture_lines_are_skipped_not_fatal(traffic_window, analyze):
    capture = traffic_window()
    with capture.open("a") as handle:
        handle.write("{truncated json\n")
        handle.write('"just a string"\n')
        handle.write('{"captureData": {"endpointOutput": {"data": "{}", "encoding": "JSON"}}}\n')

    result = analyze([capture])

    assert result.status == "Completed"
    assert result.records_read == 28
    assert result.records_skipped == 3


def test_window_without_usable_records_fails_the_execution(tmp_path, analyze):
    capture = tmp_path / "empty.jsonl"
    capture.write_text("{not json\n")

    result = analyze([capture])

    assert result.status == "Failed"
    assert "no usable captured records" in result.failure_reason
    assert result.exit_message.startswith("Failed")


@pytest.mark.parametrize(
    ("file_name", "content"),
    [
        ("statistics.json", "{not json"),
        ("statistics.json", json.dumps({"version": 0, "dataset": {"item_count": 1}, "features": []})),
        ("constraints.json", json.dumps({"version": 0})),
    ],
)
def test_malformed_baseline_fails_the_execution_with_the_reason(
    baseline_copy, traffic_window, analyze, file_name, content
):
    broken = baseline_copy()
    (broken / file_name).write_text(content)

    result = analyze([traffic_window()], baseline=broken)

    assert result.status == "Failed"
    assert "baseline is not usable" in result.failure_reason
    assert file_name in result.failure_reason


@pytest.fixture
def baseline_copy(tmp_path, baseline_dir):
    """Copy the session baseline into a folder a test may break."""

    def copy():
        folder = tmp_path / "baseline-copy"
        folder.mkdir()
        for name in ("statistics.json", "constraints.json"):
            (folder / name).write_text((baseline_dir / name).read_text())
        return folder

    return copy


# --- checks on rows -------------------------------------------------------------------------------


def _baseline(rows, **kwargs):
    statistics = compute_statistics(rows)
    return statistics, suggest_constraints(statistics, **kwargs)


def _analyze(rows, statistics, constraints):
    return analyze_rows(
        rows,
        baseline_statistics=statistics,
        baseline_constraints=constraints,
        endpoint_name="e",
        schedule_name="s",
    )


BASE_ROWS = [{"brightness": 0.3 + 0.001 * i, "predicted_class": i % 4} for i in range(200)]


def test_missing_and_extra_columns_are_flagged():
    statistics, constraints = _baseline(BASE_ROWS)
    rows = [{"brightness": row["brightness"], "exposure": 1.0} for row in BASE_ROWS[:50]]

    result = _analyze(rows, statistics, constraints)

    checks = {(v["feature_name"], v["constraint_check_type"]) for v in result.violations}
    assert ("predicted_class", "missing_column_check") in checks
    assert ("exposure", "extra_column_check") in checks


def test_fractional_values_in_an_integral_column_fail_the_data_type_check():
    statistics, constraints = _baseline(BASE_ROWS)
    rows = [dict(row, predicted_class=row["predicted_class"] + 0.5) for row in BASE_ROWS[:50]]

    result = _analyze(rows, statistics, constraints)

    assert ("predicted_class", "data_type_check") in {
        (v["feature_name"], v["constraint_check_type"]) for v in result.violations
    }


def test_a_few_strings_stay_under_the_data_type_threshold():
    statistics, constraints = _baseline(BASE_ROWS)
    rows = [dict(row) for row in BASE_ROWS]
    rows[0]["brightness"] = "bright"

    result = _analyze(rows, statistics, constraints)

    assert "data_type_check" not in {v["constraint_check_type"] for v in result.violations}


def test_missing_values_fail_the_completeness_check():
    statistics, constraints = _baseline(BASE_ROWS)
    rows = [dict(row, brightness=None) if i % 2 else dict(row) for i, row in enumerate(BASE_ROWS)]

    result = _analyze(rows, statistics, constraints)

    assert ("brightness", "completeness_check") in {
        (v["feature_name"], v["constraint_check_type"]) for v in result.violations
    }


def test_disabled_comparison_reports_no_drift():
    statistics, constraints = _baseline(BASE_ROWS)
    constraints["monitoring_config"]["distribution_constraints"]["perform_comparison"] = "Disabled"
    rows = [dict(row, brightness=0.9) for row in BASE_ROWS]

    result = _analyze(rows, statistics, constraints)

    assert result.distances == {}
    assert result.violations == []


def test_threshold_decides_whether_a_distance_is_a_violation():
    shifted = [dict(row, brightness=row["brightness"] + 0.1) for row in BASE_ROWS]
    loose = _analyze(shifted, *_baseline(BASE_ROWS, drift_threshold=0.9))
    strict = _analyze(shifted, *_baseline(BASE_ROWS, drift_threshold=0.1))

    assert loose.distances["brightness"] == strict.distances["brightness"]
    assert 0.1 < strict.distances["brightness"] < 0.9
    assert "brightness" in _drifted_features(strict)
    assert "brightness" not in _drifted_features(loose)


# --- distance -------------------------------------------------------------------------------------


def test_simple_distance_is_the_largest_cdf_gap():
    baseline = kll_sketch([1.0, 2.0, 3.0, 4.0])
    current = kll_sketch([3.0, 4.0, 5.0, 6.0])

    assert baseline_distance(baseline, current, method="Simple") == pytest.approx(0.5)


def test_identical_samples_have_zero_distance():
    sketch = kll_sketch([0.1, 0.2, 0.2, 0.7])

    assert baseline_distance(sketch, sketch, method="Simple") == 0.0


def test_robust_distance_subtracts_the_ks_critical_value():
    baseline = kll_sketch([float(i) for i in range(100)])
    current = kll_sketch([float(i) + 50 for i in range(100)])

    robust = baseline_distance(baseline, current, method="Robust")

    assert robust == pytest.approx(0.5 - 1.8 * math.sqrt(200 / 10_000))


def test_robust_distance_is_never_negative():
    baseline = kll_sketch([1.0, 2.0, 3.0])
    current = kll_sketch([1.5, 2.5])

    assert baseline_distance(baseline, current, method="Robust") == 0.0


def test_metric_data_has_put_metric_data_shape():
    metrics = drift_metrics({"sharpness": 0.4}, endpoint_name="ep", schedule_name="sched")

    assert metrics == [
        {
            "MetricName": f"{DRIFT_METRIC_PREFIX}sharpness",
            "Dimensions": [
                {"Name": "Endpoint", "Value": "ep"},
                {"Name": "MonitoringSchedule", "Value": "sched"},
            ],
            "Value": 0.4,
            "Unit": "None",
        }
    ]
    assert METRICS_NAMESPACE == "aws/sagemaker/Endpoints/data-metrics"


def test_emit_metrics_disabled_returns_none():
    statistics, constraints = _baseline(BASE_ROWS)
    constraints["monitoring_config"]["emit_metrics"] = "Disabled"

    assert _analyze(BASE_ROWS, statistics, constraints).metrics == []
