"""Data preparation throughput: the Glue job on local Spark against a plain single-process loop.

Both sides do the same work on the same generated photos (96x96 JPEG/PNG, four classes, a few
duplicates): read every file, place it, validate and fully decode it, hash it, normalise it to
64x64 RGB PNG, measure its features, assign its split, drop duplicates and write one Parquet file
per split. Spark runs ``glue/prepare_dataset.py``'s plan (``prepare_dataset``) on ``local[N]``
with N = the machine's cores; the loop calls the same ``image_preparation.object_record`` per file
in one Python process. Rates are images per second of wall time in a warm SparkSession; the
session start-up and the first (cold) run on 1,000 images are reported on their own, since a Glue
job run pays both once.

Run: ``.venv/bin/python -m bench.prepare_dataset`` (writes bench/results/prepare_dataset.json).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.common import BenchResult, Figure, use_flat_modules, write_result

use_flat_modules("training", "glue")

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from image_preparation import ImageLimits, PreparationSettings, object_record  # noqa: E402
from object_layout import parse_source_roots  # noqa: E402
from prepare_dataset import JobConfig, local_spark_session, prepare_dataset, ship_worker_modules  # noqa: E402

from mlops_local.synthetic_images import generate_dataset  # noqa: E402

SIZES = (1_000, 10_000, 50_000)
# Spark/loop rate ratio each size must reach on 2 cores; 1,000 images is there for the fixed costs.
TARGET_RATIOS = {10_000: 1.0, 50_000: 1.5}
CLASSES = ("ok", "scratch", "dent", "crack")
IMAGE_SIZE = 64


def plain_loop(source: Path, output: Path) -> int:
    """The single-process baseline: the same per-object work and outputs, no Spark; returns kept."""
    settings = PreparationSettings(
        roots=tuple(parse_source_roots(str(source))),
        image_size=IMAGE_SIZE,
        val_fraction=0.15,
        test_fraction=0.15,
        limits=ImageLimits(),
    )
    kept: dict[str, dict[str, Any]] = {}
    for path in sorted(source.rglob("*")):
        if not path.is_file():
            continue
        record = object_record(f"file:{path}", path.read_bytes(), settings)
        if record["reason"] is None and (
            record["sha256"] not in kept or record["key"] < kept[record["sha256"]]["key"]
        ):
            kept[record["sha256"]] = record
    columns = ("key", "source", "label", "split", "sha256", "image", "orig_width", "orig_height", "format")
    by_split: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in kept.values():
        by_split[record["split"]].append({name: record[name] for name in columns})
    for split, rows in by_split.items():
        (output / split).mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows), output / split / "part-00000.parquet")
    return len(kept)


def main() -> None:
    cores = os.cpu_count() or 1
    runs: dict[int, dict[str, float]] = {}
    cold_seconds = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-prepare-") as work:
        started = time.perf_counter()
        spark = local_spark_session(cores=cores, app_name="bench-prepare-dataset")
        startup = time.perf_counter() - started
        ship_worker_modules(spark)
        try:
            for size in SIZES:
                source = Path(work) / f"in-{size}"
                started = time.perf_counter()
                generate_dataset(
                    source, images_per_class=size // len(CLASSES), classes=CLASSES,
                    sources=("line-a", "line-b"), duplicates=size // 100,
                )  # fmt: skip
                generation = time.perf_counter() - started
                files = sum(1 for path in source.rglob("*") if path.is_file())
                config = JobConfig(str(source), f"{work}/out-{size}", "bench", image_size=IMAGE_SIZE)
                if size == SIZES[0]:
                    # A Glue job run always starts cold (JVM JIT, Python workers importing numpy, pandas,
                    # pyarrow, Pillow): time that once, then measure the steady rate.
                    started = time.perf_counter()
                    prepare_dataset(spark, replace(config, dataset_version="cold"))
                    cold_seconds = time.perf_counter() - started
                started = time.perf_counter()
                result = prepare_dataset(spark, config)
                spark_seconds = time.perf_counter() - started
                started = time.perf_counter()
                kept = plain_loop(source, Path(work) / f"loop-{size}")
                loop_seconds = time.perf_counter() - started
                assert kept == result.stats["accounting"]["kept"], "the two paths disagree"
                runs[size] = {
                    "files": files,
                    "generation_seconds": round(generation, 2),
                    "spark_seconds": round(spark_seconds, 2),
                    "loop_seconds": round(loop_seconds, 2),
                    "spark_images_per_second": round(files / spark_seconds, 1),
                    "loop_images_per_second": round(files / loop_seconds, 1),
                }
                print(f"{size} images: {runs[size]}", flush=True)
        finally:
            spark.stop()

    figures = [
        Figure(
            what=f"prepare {size:,} images (local Spark, {cores} cores)",
            how="wall time of prepare_dataset() incl. listing, decode, dedup, Parquet and JSON writes",
            result=run["spark_images_per_second"],
            unit="images/s",
            baseline=run["loop_images_per_second"],
            baseline_what="same work in one Python process",
            ratio=round(ratio := run["spark_images_per_second"] / run["loop_images_per_second"], 2),
            target=f">= {TARGET_RATIOS[size]}x the loop" if size in TARGET_RATIOS else None,
            # On the unrounded ratio: 0.996 is not 1.0.
            met=ratio >= TARGET_RATIOS[size] if size in TARGET_RATIOS else None,
        )
        for size, run in runs.items()
    ]
    ratios = ", ".join(
        f"{run['spark_images_per_second'] / run['loop_images_per_second']:.2f} at {size:,} images"
        for size, run in runs.items()
    )
    notes = (
        f"Spark/loop rate ratio: {ratios}, on {cores} cores. The per-image work (full decode, resize,"
        " PNG encode, features, SHA-256) is the same on both sides and is done once: Spark reads and"
        " prepares every object in one pass whose result stays cached on the executors, hands the"
        " driver its metadata (no image bytes), and writes each split with a filter on that cache (no"
        " shuffle, no join). What Spark adds is the JVM (reading files, Arrow batches to and from the"
        " Python workers, the cache, Parquet), on the same 2 cores as the Python workers; at 1,000"
        " images its fixed costs per action (scheduling, starting Python workers) are not yet amortised."
    )
    write_result(
        BenchResult(
            name="prepare_dataset",
            figures=figures,
            details={
                "runs": {str(size): run for size, run in runs.items()},
                "spark_startup_seconds": round(startup, 2),
                "spark_cold_run_seconds": round(cold_seconds, 2),
                "cores": cores,
                "image_size": IMAGE_SIZE,
                # A cold 1,000-image run stands in for one Glue job's duration in the cost model.
                "job_seconds": round(startup + cold_seconds, 2),
                "notes": notes,
            },
        )
    )


if __name__ == "__main__":
    main()
