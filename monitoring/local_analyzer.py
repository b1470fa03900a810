"""A local stand-in for Model Monitor's built-in data-quality analyzer, for image features.

It does what one execution of the built-in analyzer does with our record preprocessor:

1. read the window's data capture files and hand every record to
   ``record_preprocessor.preprocess_handler`` (the same script the schedule uploads);
2. describe the window's rows as ``statistics.json`` (KLL sketches included);
3. check them against the baseline's ``constraints.json`` / ``statistics.json``:
   ``missing_column_check``, ``extra_column_check``, ``data_type_check``, ``completeness_check``
   and ``baseline_drift_check``;
4. write ``constraint_violations.json`` and ``statistics.json`` and return the CloudWatch metrics
   the built-in analyzer publishes (``feature_baseline_drift_<feature>``).

Distance (``baseline_drift_check``): the L-infinity distance between the two empirical cumulative
distribution functions, read from the KLL sketches, i.e. the two-sample Kolmogorov-Smirnov
statistic D. That is what Model Monitor documents ("the maximum absolute difference between the
cumulative distribution functions") and what Deequ, the library under the built-in container,
computes. ``comparison_method`` picks the flavour:

- ``Simple`` (``linf_simple``): D itself;
- ``Robust`` (``linf_robust``): ``max(0, D - 1.8 * sqrt((n + m) / (n * m)))`` for ``n`` baseline and
  ``m`` window values: D less the KS critical value at alpha ~= 0.003, so a window of 100 images is
  not flagged for the sampling noise that a small sample always shows.

A violation is raised when the distance exceeds ``comparison_threshold``. Nothing here calls AWS:
the local runtime reads and writes S3 and publishes the returned metrics.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import model_monitor_format as mmf
from data_capture import InferenceRecord, read_records
from record_preprocessor import preprocess_handler

_LOG = logging.getLogger("local_analyzer")

METRICS_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
DRIFT_METRIC_PREFIX = "feature_baseline_drift_"
ROBUST_C_ALPHA = 1.8  # Deequ's default c(alpha) for linf_robust (alpha ~= 0.003)

ExecutionStatus = Literal["Completed", "CompletedWithViolations", "Failed"]
Preprocessor = Callable[[Any], Any]


@dataclass
class AnalysisResult:
    """What one monitoring execution produced."""

    status: ExecutionStatus
    violations: list[dict[str, str]]
    statistics: dict[str, Any] | None
    distances: dict[str, float]
    metrics: list[dict[str, Any]]
    records_read: int = 0
    records_skipped: int = 0
    failure_reason: str | None = None
    output_files: list[Path] = field(default_factory=list)

    @property
    def exit_message(self) -> str:
        """The processing job's ``ExitMessage``, which ``handle_drift`` matches on."""
        if self.status == "CompletedWithViolations":
            return (
                f"CompletedWithViolations: Job completed successfully with {len(self.violations)} violations."
            )
        if self.status == "Failed":
            return f"Failed: {self.failure_reason}"
        return "Completed: Job completed successfully with no violations."


def analyze_capture_files(
    capture_files: Sequence[Path],
    *,
    baseline_statistics: str | Path,
    baseline_constraints: str | Path,
    output_dir: str | Path,
    endpoint_name: str,
    schedule_name: str,
    timestamp: datetime | None = None,
    preprocessor: Preprocessor = preprocess_handler,
) -> AnalysisResult:
    """Run one monitoring execution over ``capture_files`` and write its reports into ``output_dir``.

    A malformed baseline fails the execution (``status`` ``Failed``, as the built-in job fails);
    malformed capture records are skipped and counted.
    """
    try:
        statistics = mmf.read_statistics(baseline_statistics)
        constraints = mmf.read_constraints(baseline_constraints)
    except mmf.BaselineFormatError as error:
        return _failed(f"baseline is not usable: {error}")
    records, unreadable = read_records(list(capture_files))
    rows, skipped = preprocess_records(records, preprocessor)
    if not rows:
        return _failed(
            "no usable captured records in the window",
            records_read=len(records) + len(unreadable),
            records_skipped=skipped + len(unreadable),
        )
    result = analyze_rows(
        rows,
        baseline_statistics=statistics,
        baseline_constraints=constraints,
        endpoint_name=endpoint_name,
        schedule_name=schedule_name,
        timestamp=timestamp,
    )
    result.records_read = len(records) + len(unreadable)
    result.records_skipped = skipped + len(unreadable)
    result.output_files = write_reports(result, output_dir)
    return result


def _failed(reason: str, *, records_read: int = 0, records_skipped: int = 0) -> AnalysisResult:
    _LOG.error("monitoring execution failed: %s", reason)
    return AnalysisResult(
        status="Failed",
        violations=[],
        statistics=None,
        distances={},
        metrics=[],
        records_read=records_read,
        records_skipped=records_skipped,
        failure_reason=reason,
    )


def preprocess_records(
    records: Sequence[InferenceRecord], preprocessor: Preprocessor
) -> tuple[list[dict], int]:
    """Run the record preprocessor on every record; return the rows and how many records gave none.

    The preprocessor may return a dict (one row), a list of dicts, or ``[]``/``None`` (skip). A
    preprocessor that raises skips only that record, as a single bad record must not end the job.
    """
    rows: list[dict] = []
    skipped = 0
    for record in records:
        try:
            produced = preprocessor(record)
        except Exception:  # the preprocessor is user code: contain whatever it raises
            _LOG.exception("record preprocessor raised on a record; skipping it")
            produced = None
        batch = [produced] if isinstance(produced, dict) else produced
        kept = [row for row in batch or [] if isinstance(row, dict) and row]
        if not kept:
            skipped += 1
        rows.extend(kept)
    return rows, skipped


def analyze_rows(
    rows: Sequence[Mapping[str, object]],
    *,
    baseline_statistics: Mapping[str, Any],
    baseline_constraints: Mapping[str, Any],
    endpoint_name: str,
    schedule_name: str,
    timestamp: datetime | None = None,
) -> AnalysisResult:
    """Check ``rows`` against a parsed baseline; the pure core of :func:`analyze_capture_files`."""
    baseline_features = {feature["name"]: feature for feature in baseline_statistics["features"]}
    constrained = {feature["name"]: feature for feature in baseline_constraints["features"]}
    config = baseline_constraints.get("monitoring_config", {})
    window_columns = _columns(rows)
    names = list(baseline_features) + [name for name in window_columns if name not in baseline_features]
    window = mmf.compute_statistics(rows, names)
    window_features = {feature["name"]: feature for feature in window["features"]}

    violations: list[dict[str, str]] = []
    violations += _column_checks(baseline_features, window_columns)
    violations += _data_type_checks(rows, constrained, window_columns, config)
    violations += _completeness_checks(window_features, constrained, window_columns)
    distances, drift = _drift_checks(baseline_features, window_features, window_columns, config)
    violations += drift
    metrics = (
        drift_metrics(
            distances, endpoint_name=endpoint_name, schedule_name=schedule_name, timestamp=timestamp
        )
        if config.get("emit_metrics", "Enabled") == "Enabled"
        else []
    )
    return AnalysisResult(
        status="CompletedWithViolations" if violations else "Completed",
        violations=violations,
        statistics=window,
        distances=distances,
        metrics=metrics,
    )


def _columns(rows: Sequence[Mapping[str, object]]) -> list[str]:
    """Columns with at least one value present in the window, first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update({name: None for name, value in row.items() if value is not None})
    return list(seen)


def _column_checks(baseline: Mapping[str, Any], window_columns: Sequence[str]) -> list[dict[str, str]]:
    present = set(window_columns)
    missing = [
        _violation(
            name, "missing_column_check", f"Baseline column {name!r} is absent from the analysed data."
        )
        for name in baseline
        if name not in present
    ]
    extra = [
        _violation(name, "extra_column_check", f"Column {name!r} is not in the baseline.")
        for name in window_columns
        if name not in baseline
    ]
    return missing + extra


def _data_type_checks(
    rows: Sequence[Mapping[str, object]],
    constrained: Mapping[str, Any],
    window_columns: Sequence[str],
    config: Mapping[str, Any],
) -> list[dict[str, str]]:
    threshold = float(config.get("datatype_check_threshold", mmf.DEFAULT_DATATYPE_CHECK_THRESHOLD))
    violations = []
    for name in window_columns:
        if name not in constrained:
            continue
        expected = constrained[name]["inferred_type"]
        values = [row[name] for row in rows if row.get(name) is not None]
        wrong = sum(1 for value in values if not _conforms(value, expected))
        if values and wrong / len(values) > threshold:
            violations.append(
                _violation(
                    name,
                    "data_type_check",
                    f"Data type match requirement is not met. Expected data type: {expected}, "
                    f"{wrong} of {len(values)} values ({wrong / len(values):.1%}) do not match; "
                    f"datatype_check_threshold is {threshold}.",
                )
            )
    return violations


def _conforms(value: object, expected: str) -> bool:
    """An Integral column takes whole numbers; a Fractional one takes any finite number."""
    if not mmf.is_number(value):
        return False
    return expected == mmf.FRACTIONAL or float(value).is_integer()  # type: ignore[arg-type]


def _completeness_checks(
    window: Mapping[str, Any], constrained: Mapping[str, Any], window_columns: Sequence[str]
) -> list[dict[str, str]]:
    violations = []
    for name in window_columns:
        if name not in constrained or "completeness" not in constrained[name]:
            continue
        common = window[name]["numerical_statistics"]["common"]
        total = common["num_present"] + common["num_missing"]
        completeness = common["num_present"] / total if total else 0.0
        required = float(constrained[name]["completeness"])
        if completeness < required - 1e-9:
            violations.append(
                _violation(
                    name,
                    "completeness_check",
                    f"Data completeness requirement is not met. Expected completeness {required:.4f}, "
                    f"observed {completeness:.4f}.",
                )
            )
    return violations


def _drift_checks(
    baseline: Mapping[str, Any],
    window: Mapping[str, Any],
    window_columns: Sequence[str],
    config: Mapping[str, Any],
) -> tuple[dict[str, float], list[dict[str, str]]]:
    distribution = config.get("distribution_constraints", {})
    if distribution.get("perform_comparison", "Enabled") != "Enabled":
        return {}, []
    threshold = float(distribution.get("comparison_threshold", mmf.DEFAULT_DRIFT_THRESHOLD))
    method = distribution.get("comparison_method", mmf.DEFAULT_COMPARISON_METHOD)
    distances: dict[str, float] = {}
    violations = []
    for name in window_columns:
        base_sketch = _sketch(baseline.get(name))
        window_sketch = _sketch(window.get(name))
        if base_sketch is None or window_sketch is None:
            continue
        distance = baseline_distance(base_sketch, window_sketch, method=method)
        distances[name] = distance
        if distance > threshold:
            violations.append(
                _violation(
                    name,
                    "baseline_drift_check",
                    f"Baseline drift distance: {distance:.4f} exceeds threshold: {threshold} "
                    f"(comparison_method {method}).",
                )
            )
    return distances, violations


def _sketch(feature: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if feature is None:
        return None
    return feature["numerical_statistics"].get("distribution", {}).get("kll", {}).get("sketch")


def baseline_distance(
    baseline: Mapping[str, Any], current: Mapping[str, Any], *, method: str = "Robust"
) -> float:
    """Distribution distance between two KLL sketches: ``linf_simple`` or ``linf_robust`` (module doc)."""
    simple = linf_distance(baseline, current)
    if method == "Simple":
        return simple
    n, m = mmf.sketch_count(baseline), mmf.sketch_count(current)
    return max(0.0, simple - ROBUST_C_ALPHA * math.sqrt((n + m) / (n * m)))


def linf_distance(first: Mapping[str, Any], second: Mapping[str, Any]) -> float:
    """Largest gap between the two sketches' cumulative distribution functions (KS statistic D)."""
    first_values, first_cdf = mmf.sketch_cdf_points(first)
    second_values, second_cdf = mmf.sketch_cdf_points(second)
    largest = 0.0
    for value in set(first_values) | set(second_values):
        gap = abs(_cdf_at(first_values, first_cdf, value) - _cdf_at(second_values, second_cdf, value))
        largest = max(largest, gap)
    return largest


def _cdf_at(values: Sequence[float], cdf: Sequence[float], point: float) -> float:
    index = bisect.bisect_right(values, point)
    return cdf[index - 1] if index else 0.0


def drift_metrics(
    distances: Mapping[str, float],
    *,
    endpoint_name: str,
    schedule_name: str,
    timestamp: datetime | None = None,
) -> list[dict[str, Any]]:
    """CloudWatch ``MetricData`` (PutMetricData shape) for each feature's drift distance.

    Publish with ``put_metric_data(Namespace=METRICS_NAMESPACE, MetricData=...)``.
    """
    dimensions = [
        {"Name": "Endpoint", "Value": endpoint_name},
        {"Name": "MonitoringSchedule", "Value": schedule_name},
    ]
    metrics = []
    for name, distance in distances.items():
        datum: dict[str, Any] = {
            "MetricName": f"{DRIFT_METRIC_PREFIX}{name}",
            "Dimensions": dimensions,
            "Value": distance,
            "Unit": "None",
        }
        if timestamp is not None:
            datum["Timestamp"] = timestamp
        metrics.append(datum)
    return metrics


def write_reports(result: AnalysisResult, output_dir: str | Path) -> list[Path]:
    """Write ``constraint_violations.json`` and the window's ``statistics.json`` into ``output_dir``."""
    out = Path(output_dir)
    written = [mmf.write_json(out / mmf.VIOLATIONS_FILE, {"violations": result.violations})]
    if result.statistics is not None:
        written.append(mmf.write_json(out / mmf.STATISTICS_FILE, result.statistics))
    return written


def _violation(feature: str, check: str, description: str) -> dict[str, str]:
    return {"feature_name": feature, "constraint_check_type": check, "description": description}
