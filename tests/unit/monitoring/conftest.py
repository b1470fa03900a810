"""Synthetic photos, a monitoring baseline and capture windows shared by the monitoring tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from image_features import FEATURE_NAMES
from local_analyzer import AnalysisResult, analyze_capture_files
from model_monitor_format import write_baseline
from PIL import Image
from simulated_capture import StandInClassifier, inference_response, write_capture
from traffic_shift import sample_traffic

from mlops_local.synthetic_images import generate_dataset

LABELS = ("crack", "dent", "ok", "scratch")
BASELINE_PER_CLASS = 50
TRAFFIC_PER_CLASS = 30
WINDOW = 100
WINDOW_HOUR = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)


def _load(paths: list[Path]) -> list[Image.Image]:
    images = []
    for path in paths:
        with Image.open(path) as img:
            images.append(img.convert("RGB"))
    return images


@pytest.fixture(scope="session")
def photo_pools(tmp_path_factory) -> tuple[dict[str, list[Image.Image]], dict[str, list[Image.Image]]]:
    """(baseline pool, traffic pool): disjoint synthetic photos per label."""
    root = tmp_path_factory.mktemp("photos")
    dataset = generate_dataset(root, images_per_class=BASELINE_PER_CLASS + TRAFFIC_PER_CLASS, seed=5)
    baseline = {label: _load(paths[:BASELINE_PER_CLASS]) for label, paths in dataset.images.items()}
    traffic = {label: _load(paths[BASELINE_PER_CLASS:]) for label, paths in dataset.images.items()}
    return baseline, traffic


@pytest.fixture(scope="session")
def classifier() -> StandInClassifier:
    return StandInClassifier(LABELS)


@pytest.fixture(scope="session")
def baseline_dir(tmp_path_factory, photo_pools, classifier) -> Path:
    """The evaluation job's baseline: features of every baseline photo, default threshold."""
    baseline_pool, _ = photo_pools
    batch = [(label, img) for label in LABELS for img in baseline_pool[label]]
    rows = [prediction["features"] for prediction in inference_response(batch, classifier)["predictions"]]
    out = tmp_path_factory.mktemp("baseline")
    write_baseline(rows, out, feature_names=FEATURE_NAMES)
    return out


@pytest.fixture
def traffic_window(tmp_path, photo_pools, classifier) -> Callable[..., Path]:
    """Write one capture file of ``WINDOW`` traffic images (optionally shifted) and return its path."""
    _, traffic_pool = photo_pools

    def write(
        *,
        shift: Callable[[Image.Image], Image.Image] | None = None,
        weights: Mapping[str, float] | None = None,
        seed: int = 1,
        batch_size: int = 4,
    ) -> Path:
        traffic = sample_traffic(traffic_pool, WINDOW, weights=weights, seed=seed)
        if shift is not None:
            traffic = [(label, shift(img)) for label, img in traffic]
        variant = tmp_path / "capture" / "defect-classifier" / "AllTraffic"
        return write_capture(variant, traffic, classifier, moment=WINDOW_HOUR, batch_size=batch_size)

    return write


@pytest.fixture
def analyze(tmp_path, baseline_dir) -> Callable[..., AnalysisResult]:
    """Run the local analyzer on capture files against the session baseline."""

    def run(files: list[Path], *, baseline: Path | None = None) -> AnalysisResult:
        source = baseline or baseline_dir
        return analyze_capture_files(
            files,
            baseline_statistics=source / "statistics.json",
            baseline_constraints=source / "constraints.json",
            output_dir=tmp_path / "report",
            endpoint_name="defect-classifier",
            schedule_name="defect-classifier-data-quality",
            timestamp=WINDOW_HOUR,
        )

    return run
