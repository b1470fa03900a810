"""Synthetic photos, a monitoring baseline and capture windows shared by the monitoring tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from local_analyzer import AnalysisResult, analyze_capture_files
from PIL import Image
from simulated_capture import (
    PhotoPool,
    StandInClassifier,
    split_photo_pools,
    write_stand_in_baseline,
    write_traffic_window,
)

from mlops_local.synthetic_images import generate_dataset

LABELS = ("crack", "dent", "ok", "scratch")
BASELINE_PER_CLASS = 50
TRAFFIC_PER_CLASS = 30
WINDOW = 100
WINDOW_HOUR = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)


@pytest.fixture(scope="session")
def photo_pools(tmp_path_factory) -> tuple[PhotoPool, PhotoPool]:
    """(baseline pool, traffic pool): disjoint synthetic photos per label."""
    root = tmp_path_factory.mktemp("photos")
    dataset = generate_dataset(root, images_per_class=BASELINE_PER_CLASS + TRAFFIC_PER_CLASS, seed=5)
    return split_photo_pools(dataset.images, BASELINE_PER_CLASS)


@pytest.fixture(scope="session")
def classifier() -> StandInClassifier:
    return StandInClassifier(LABELS)


@pytest.fixture(scope="session")
def baseline_dir(tmp_path_factory, photo_pools, classifier) -> Path:
    """The evaluation job's baseline: features of every baseline photo, default threshold."""
    baseline_pool, _ = photo_pools
    return write_stand_in_baseline(baseline_pool, classifier, tmp_path_factory.mktemp("baseline"))


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
        variant = tmp_path / "capture" / "defect-classifier" / "AllTraffic"
        return write_traffic_window(
            variant,
            traffic_pool,
            WINDOW,
            classifier,
            moment=WINDOW_HOUR,
            shift=shift,
            weights=weights,
            seed=seed,
            batch_size=batch_size,
        )

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
