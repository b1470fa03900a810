"""SageMaker Model Monitor's data-quality file formats: ``statistics.json``, ``constraints.json`` and
``constraint_violations.json``, written and read without the SageMaker SDK.

The evaluation job writes the monitoring baseline with :func:`write_baseline`; the built-in analyzer
on AWS and ``monitoring/local_analyzer.py`` locally read it back. The layout follows the schemas in
the Model Monitor developer guide ("Schema for Statistics", "Schema for Constraints", "Schema for
Violations"):

- ``statistics.json``: ``version`` 0, ``dataset.item_count`` and, per feature, ``name``,
  ``inferred_type`` (``Integral`` | ``Fractional``) and ``numerical_statistics`` with ``common``
  (``num_present``, ``num_missing``), ``mean``, ``sum``, ``std_dev``, ``min``, ``max`` and
  ``distribution.kll``: ``buckets`` (10 equal-width buckets between min and max with their counts,
  as the built-in container materialises them) and ``sketch`` (a KLL quantile sketch:
  ``parameters`` ``c`` and ``k``, ``data`` = one list of retained items per compactor level, an item
  on level ``h`` standing for ``2**h`` values). Up to ``k`` values the sketch holds every value
  exactly (level 0 only); beyond, levels are compacted deterministically (keep every other sorted
  item, alternating the offset), which is the KLL scheme without its random coin.
- ``constraints.json``: ``version`` 0, per feature ``name``, ``inferred_type``, ``completeness`` and
  ``num_constraints.is_non_negative``, and ``monitoring_config`` with
  ``distribution_constraints.comparison_threshold`` (the drift threshold) and ``comparison_method``
  (``Robust`` | ``Simple``).
- ``constraint_violations.json``: ``{"violations": [{"feature_name", "constraint_check_type",
  "description"}]}``.

Only the standard library is used, so the module also runs where numpy is absent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

FORMAT_VERSION = 0
STATISTICS_FILE = "statistics.json"
CONSTRAINTS_FILE = "constraints.json"
VIOLATIONS_FILE = "constraint_violations.json"

INTEGRAL = "Integral"
FRACTIONAL = "Fractional"
NUMERIC_TYPES = (INTEGRAL, FRACTIONAL)
COMPARISON_METHODS = ("Robust", "Simple")

DEFAULT_DRIFT_THRESHOLD = 0.1
DEFAULT_COMPARISON_METHOD = "Robust"
DEFAULT_DATATYPE_CHECK_THRESHOLD = 0.1
DISTRIBUTION_BUCKETS = 10
KLL_K = 2048
KLL_C = 0.64


class BaselineFormatError(ValueError):
    """A statistics, constraints or violations document does not follow Model Monitor's format."""


# --- KLL sketch -----------------------------------------------------------------------------------


def kll_sketch(values: Iterable[float], *, k: int = KLL_K, c: float = KLL_C) -> dict[str, Any]:
    """Return a KLL sketch of ``values`` in Model Monitor's layout (``parameters``, ``data``)."""
    levels: list[list[float]] = [[]]
    compactions = 0
    for value in values:
        levels[0].append(float(value))
        if len(levels[0]) > _level_capacity(0, len(levels), k, c):
            compactions = _compress(levels, k, c, compactions)
    return {"parameters": {"c": c, "k": k}, "data": [sorted(level) for level in levels]}


def _level_capacity(level: int, height: int, k: int, c: float) -> int:
    """KLL capacity: the top level holds ``k`` items, each level below ``c`` times fewer (min 2)."""
    return max(2, math.ceil(k * c ** (height - 1 - level)))


def _compress(levels: list[list[float]], k: int, c: float, compactions: int) -> int:
    """Compact every level over its capacity into the next one; return the updated compaction count."""
    level = 0
    while level < len(levels):
        if len(levels[level]) > _level_capacity(level, len(levels), k, c):
            if level + 1 == len(levels):
                levels.append([])
            items = sorted(levels[level])
            # An odd item stays behind so that no weight is lost; the offset alternates instead of
            # KLL's coin flip, which keeps baselines reproducible and the rank error unbiased.
            keep_back = items[-1:] if len(items) % 2 else []
            paired = items[: len(items) - len(keep_back)]
            offset = compactions % 2
            levels[level + 1].extend(paired[offset::2])
            levels[level] = keep_back
            compactions += 1
        level += 1
    return compactions


def sketch_cdf_points(sketch: Mapping[str, Any]) -> tuple[list[float], list[float]]:
    """Return the sketch's distinct values and the weighted fraction of values at or below each."""
    weighted: list[tuple[float, int]] = []
    for level, items in enumerate(sketch["data"]):
        weighted.extend((float(item), 2**level) for item in items)
    weighted.sort()
    total = sum(weight for _, weight in weighted)
    values: list[float] = []
    fractions: list[float] = []
    cumulative = 0
    for value, weight in weighted:
        cumulative += weight
        if values and values[-1] == value:
            fractions[-1] = cumulative / total
        else:
            values.append(value)
            fractions.append(cumulative / total)
    return values, fractions


def sketch_count(sketch: Mapping[str, Any]) -> int:
    """Number of values the sketch stands for."""
    return sum(len(items) * 2**level for level, items in enumerate(sketch["data"]))


# --- statistics -----------------------------------------------------------------------------------


def infer_type(values: Sequence[float | int]) -> str:
    """``Integral`` when every value is a whole number (bools excluded), else ``Fractional``."""
    if values and all(_is_whole(value) for value in values):
        return INTEGRAL
    return FRACTIONAL


def _is_whole(value: float | int) -> bool:
    return not isinstance(value, bool) and float(value).is_integer()


def is_number(value: object) -> bool:
    """True for finite ints and floats (bools and NaN/inf are not numbers here)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def feature_statistics(
    name: str, values: Sequence[object], *, inferred_type: str | None = None
) -> dict[str, Any]:
    """Statistics of one feature in Model Monitor's ``features[]`` layout.

    Values that are not finite numbers (``None``, strings, NaN) count as missing.
    """
    present = [float(value) for value in values if is_number(value)]  # type: ignore[arg-type]
    kind = inferred_type or infer_type(present)
    stats: dict[str, Any] = {
        "common": {"num_present": len(present), "num_missing": len(values) - len(present)},
    }
    if present:
        total = math.fsum(present)
        mean = total / len(present)
        variance = math.fsum((value - mean) ** 2 for value in present) / len(present)
        low, high = min(present), max(present)
        stats.update(
            {
                "mean": mean,
                "sum": total,
                "std_dev": math.sqrt(variance),
                "min": low,
                "max": high,
                "distribution": {
                    "kll": {"buckets": equal_width_buckets(present), "sketch": kll_sketch(present)}
                },
            }
        )
    return {"name": name, "inferred_type": kind, "numerical_statistics": stats}


def equal_width_buckets(values: Sequence[float], count: int = DISTRIBUTION_BUCKETS) -> list[dict[str, float]]:
    """``count`` equal-width buckets from min to max with how many values fall in each."""
    low, high = min(values), max(values)
    if low == high:
        return [{"lower_bound": low, "upper_bound": high, "count": float(len(values))}]
    width = (high - low) / count
    counts = [0] * count
    for value in values:
        counts[min(int((value - low) / width), count - 1)] += 1
    return [
        {"lower_bound": low + i * width, "upper_bound": low + (i + 1) * width, "count": float(n)}
        for i, n in enumerate(counts)
    ]


def compute_statistics(
    rows: Sequence[Mapping[str, object]],
    feature_names: Sequence[str] | None = None,
    *,
    inferred_types: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``statistics.json`` of ``rows`` (one dict of feature values per item).

    ``feature_names`` fixes the columns and their order (default: every key seen, first-seen order);
    ``inferred_types`` forces a column's type, e.g. the baseline's, so that a window is described in
    the same terms as the baseline it is compared with.
    """
    names = list(feature_names) if feature_names is not None else _column_names(rows)
    forced = inferred_types or {}
    features = [
        feature_statistics(name, [row.get(name) for row in rows], inferred_type=forced.get(name))
        for name in names
    ]
    return {"version": FORMAT_VERSION, "dataset": {"item_count": len(rows)}, "features": features}


def _column_names(rows: Sequence[Mapping[str, object]]) -> list[str]:
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    return list(names)


# --- constraints ----------------------------------------------------------------------------------


def suggest_constraints(
    statistics: Mapping[str, Any],
    *,
    drift_threshold: float = DEFAULT_DRIFT_THRESHOLD,
    comparison_method: str = DEFAULT_COMPARISON_METHOD,
) -> dict[str, Any]:
    """``constraints.json`` suggested from baseline statistics, as the built-in baselining job does."""
    if comparison_method not in COMPARISON_METHODS:
        raise ValueError(f"comparison_method must be one of {COMPARISON_METHODS}, got {comparison_method!r}")
    if not (math.isfinite(drift_threshold) and 0.0 <= drift_threshold <= 1.0):
        raise ValueError(f"drift_threshold must lie in [0, 1], got {drift_threshold!r}")
    item_count = statistics["dataset"]["item_count"]
    features = []
    for feature in statistics["features"]:
        numeric = feature["numerical_statistics"]
        present = numeric["common"]["num_present"]
        features.append(
            {
                "name": feature["name"],
                "inferred_type": feature["inferred_type"],
                "completeness": present / item_count if item_count else 0.0,
                "num_constraints": {"is_non_negative": present > 0 and numeric["min"] >= 0},
            }
        )
    return {
        "version": FORMAT_VERSION,
        "features": features,
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": DEFAULT_DATATYPE_CHECK_THRESHOLD,
            "domain_content_threshold": DEFAULT_DATATYPE_CHECK_THRESHOLD,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": drift_threshold,
                "comparison_method": comparison_method,
            },
        },
    }


# --- files ----------------------------------------------------------------------------------------


def write_baseline(
    rows: Sequence[Mapping[str, object]],
    out_dir: str | Path,
    *,
    drift_threshold: float = DEFAULT_DRIFT_THRESHOLD,
    comparison_method: str = DEFAULT_COMPARISON_METHOD,
    feature_names: Sequence[str] | None = None,
) -> tuple[Path, Path]:
    """Write ``statistics.json`` and ``constraints.json`` of ``rows`` into ``out_dir``; return both paths."""
    if not rows:
        raise ValueError("a monitoring baseline needs at least one row")
    statistics = compute_statistics(rows, feature_names)
    constraints = suggest_constraints(
        statistics, drift_threshold=drift_threshold, comparison_method=comparison_method
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return write_json(out / STATISTICS_FILE, statistics), write_json(out / CONSTRAINTS_FILE, constraints)


def write_json(path: str | Path, document: Mapping[str, Any]) -> Path:
    """Write ``document`` as indented JSON (atomically: a reader never sees half a file)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    partial.replace(target)
    return target


def read_statistics(path: str | Path) -> dict[str, Any]:
    """Read and validate a ``statistics.json``; raise :class:`BaselineFormatError` when malformed."""
    document = _read_document(path)
    return validate_statistics(document, source=str(path))


def read_constraints(path: str | Path) -> dict[str, Any]:
    """Read and validate a ``constraints.json``; raise :class:`BaselineFormatError` when malformed."""
    document = _read_document(path)
    return validate_constraints(document, source=str(path))


def read_violations(path: str | Path) -> list[dict[str, str]]:
    """Read a ``constraint_violations.json`` and return its violations."""
    document = _read_document(path)
    violations = document.get("violations")
    if not isinstance(violations, list) or not all(
        isinstance(item, dict) and {"feature_name", "constraint_check_type", "description"} <= item.keys()
        for item in violations
    ):
        raise BaselineFormatError(
            f"{path}: 'violations' must be a list of feature_name/constraint_check_type/description"
        )
    return violations


def _read_document(path: str | Path) -> dict[str, Any]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise BaselineFormatError(f"{path}: missing") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BaselineFormatError(f"{path}: not JSON ({error})") from error
    if not isinstance(document, dict):
        raise BaselineFormatError(f"{path}: top level must be an object")
    return document


def validate_statistics(document: Mapping[str, Any], *, source: str = "statistics") -> dict[str, Any]:
    """Check the parts of ``statistics.json`` the analyzer relies on; return it as a dict."""
    _check_version(document, source)
    dataset = document.get("dataset")
    if not isinstance(dataset, dict) or not _is_count(dataset.get("item_count")):
        raise BaselineFormatError(f"{source}: dataset.item_count must be a non-negative integer")
    for feature in _features(document, source):
        where = f"{source}: feature {feature['name']!r}"
        numeric = feature.get("numerical_statistics")
        if not isinstance(numeric, dict):
            raise BaselineFormatError(f"{where}: numerical_statistics missing")
        common = numeric.get("common")
        if not isinstance(common, dict) or not _is_count(common.get("num_present")):
            raise BaselineFormatError(f"{where}: common.num_present must be a non-negative integer")
        if common["num_present"] == 0:
            continue
        for key in ("mean", "sum", "std_dev", "min", "max"):
            if not is_number(numeric.get(key)):
                raise BaselineFormatError(f"{where}: {key} must be a finite number")
        sketch = numeric.get("distribution", {}).get("kll", {}).get("sketch")
        if not _is_sketch(sketch):
            raise BaselineFormatError(
                f"{where}: distribution.kll.sketch must hold parameters and data levels"
            )
    return dict(document)


def validate_constraints(document: Mapping[str, Any], *, source: str = "constraints") -> dict[str, Any]:
    """Check the parts of ``constraints.json`` the analyzer relies on; return it as a dict."""
    _check_version(document, source)
    _features(document, source)
    config = document.get("monitoring_config", {})
    if not isinstance(config, dict):
        raise BaselineFormatError(f"{source}: monitoring_config must be an object")
    distribution = config.get("distribution_constraints", {})
    if not isinstance(distribution, dict):
        raise BaselineFormatError(f"{source}: distribution_constraints must be an object")
    threshold = distribution.get("comparison_threshold", DEFAULT_DRIFT_THRESHOLD)
    if not is_number(threshold) or threshold < 0:
        raise BaselineFormatError(f"{source}: comparison_threshold must be a non-negative number")
    method = distribution.get("comparison_method", DEFAULT_COMPARISON_METHOD)
    if method not in COMPARISON_METHODS:
        raise BaselineFormatError(f"{source}: comparison_method must be one of {COMPARISON_METHODS}")
    return dict(document)


def _check_version(document: Mapping[str, Any], source: str) -> None:
    # The built-in container writes 0.0; both spell version 0.
    if document.get("version") != FORMAT_VERSION:
        raise BaselineFormatError(f"{source}: version must be 0, got {document.get('version')!r}")


def _features(document: Mapping[str, Any], source: str) -> list[dict[str, Any]]:
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise BaselineFormatError(f"{source}: features must be a non-empty list")
    seen: set[str] = set()
    for feature in features:
        if not isinstance(feature, dict) or not isinstance(feature.get("name"), str):
            raise BaselineFormatError(f"{source}: every feature needs a string name")
        if feature["name"] in seen:
            raise BaselineFormatError(f"{source}: feature {feature['name']!r} listed twice")
        seen.add(feature["name"])
        if feature.get("inferred_type") not in NUMERIC_TYPES:
            raise BaselineFormatError(
                f"{source}: feature {feature['name']!r} inferred_type must be one of {NUMERIC_TYPES}"
            )
    return features


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_sketch(sketch: object) -> bool:
    return (
        isinstance(sketch, dict)
        and isinstance(sketch.get("data"), list)
        and all(
            isinstance(level, list) and all(is_number(item) for item in level) for level in sketch["data"]
        )
        and sum(len(level) for level in sketch["data"]) > 0
    )
