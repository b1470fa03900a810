"""Training: images per second, time to the accuracy bar, and the test-split result of the default model.

The synthetic dataset at its generator's defaults (seed 7, 200 photos per class, 4 classes) is
normalised to 64x64 PNGs and split 70/15/15 by a hash of the key, then written as Parquet shards
of the dataset contract (as the Glue job writes them, without starting Spark). The real entry
point ``train.main`` trains the default model with 2 threads, as on a 2-core machine.

- images per second: training samples x epochs / time spent in training epochs;
- time to the bar: training time until the first epoch whose validation accuracy and minimum
  defect-class recall both reach 0.95, plus the job's wall time from start to model.tar.gz contents;
- the bar itself is checked on the held-out test split with the kept (best-epoch) model.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in ("local", "training"):
    if str(ROOT / folder) not in sys.path:
        sys.path.insert(0, str(ROOT / folder))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import torch  # noqa: E402
import train  # noqa: E402
from classification_metrics import classification_report  # noqa: E402
from defect_model import predict_probabilities  # noqa: E402
from model_artifact import load_model  # noqa: E402
from parquet_dataset import load_split  # noqa: E402
from PIL import Image  # noqa: E402

from bench.common import BenchResult, Figure, write_result  # noqa: E402
from mlops_local.synthetic_images import generate_dataset  # noqa: E402

IMAGE_SIZE = 64
THREADS = 2
ACCURACY_BAR = 0.95
RECALL_BAR = 0.95
TIME_TARGET_S = 60.0
SCHEMA = pa.schema([
    ("key", pa.string()), ("source", pa.string()), ("label", pa.string()), ("split", pa.string()),
    ("sha256", pa.string()), ("image", pa.binary()), ("orig_width", pa.int32()),
    ("orig_height", pa.int32()), ("format", pa.string()),
])  # fmt: skip


def split_of(key: str) -> str:
    """70/15/15 split from a hash of the key (deterministic)."""
    position = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if position < 0.15 else "validation" if position < 0.30 else "train"


def write_synthetic_shards(root: Path) -> dict[str, Path]:
    """Generate the default synthetic dataset and write it as contract-shaped Parquet shards."""
    generated = generate_dataset(root / "raw")
    rows: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for label, paths in sorted(generated.images.items()):
        for path in paths:
            data = path.read_bytes()
            key = path.relative_to(root / "raw").as_posix()
            with Image.open(io.BytesIO(data)) as img:
                fmt, (width, height) = img.format, img.size
                small = img.convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
            png = io.BytesIO()
            small.save(png, format="PNG")
            split = split_of(key)
            rows[split].append({
                "key": key, "source": key.split("/")[0], "label": label, "split": split,
                "sha256": hashlib.sha256(data).hexdigest(), "image": png.getvalue(),
                "orig_width": width, "orig_height": height, "format": fmt,
            })  # fmt: skip
    folders = {}
    for split, split_rows in rows.items():
        (root / split).mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(split_rows, schema=SCHEMA), root / split / "part-00000.parquet")
        folders[split] = root / split
    return folders


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-train-") as work:
        root = Path(work)
        shards = write_synthetic_shards(root)
        env = {
            "SM_CHANNEL_TRAIN": str(shards["train"]),
            "SM_CHANNEL_VALIDATION": str(shards["validation"]),
            "SM_MODEL_DIR": str(root / "model"),
            "SM_OUTPUT_DATA_DIR": str(root / "output"),
            "SM_CHECKPOINT_DIR": str(root / "checkpoints"),
            "TRAINING_JOB_NAME": "bench-train",
        }
        load_before = os.getloadavg()
        started = time.perf_counter()
        status = train.main(["--num_threads", str(THREADS)], env)
        job_seconds = time.perf_counter() - started
        if status != 0:
            raise SystemExit(f"training failed with status {status}")
        model = load_model(root / "model")
        metrics = (root / "model" / "metrics.json").read_text()
        test = load_split(shards["test"])
        probabilities = predict_probabilities(model.network, test.images, model.mean, model.std)
        predicted = [model.labels[i] for i in probabilities.argmax(axis=1)]
        report = classification_report(test.labels, predicted, model.labels, model.normal_class)
        train_samples = len(load_split(shards["train"]))

    history = json.loads(metrics)["history"]
    epoch_seconds = sum(entry["seconds"] for entry in history)
    images_per_second = train_samples * len(history) / epoch_seconds
    elapsed = 0.0
    time_to_bar = None
    for entry in history:
        elapsed += entry["seconds"]
        if entry["accuracy"] >= ACCURACY_BAR and entry["min_defect_recall"] >= RECALL_BAR:
            time_to_bar = elapsed
            break
    met = report["accuracy"] >= ACCURACY_BAR and report["min_defect_recall"] >= RECALL_BAR
    figures = [
        Figure(
            what="training throughput (default small_cnn, 64x64)",
            how=f"train samples x epochs / epoch time, {THREADS} threads",
            result=round(images_per_second, 1),
            unit="images/s",
        ),
        Figure(
            what="training time to the accuracy bar",
            how="epoch time until validation accuracy and min defect recall >= 0.95",
            result=round(time_to_bar, 1) if time_to_bar is not None else -1.0,
            unit="s",
            target=f"< {TIME_TARGET_S:.0f} s",
            met=time_to_bar is not None and time_to_bar < TIME_TARGET_S,
        ),
        Figure(
            what="training job wall time",
            how="train.main from reading shards to model dir written (early stopping on)",
            result=round(job_seconds, 1),
            unit="s",
            target=f"< {TIME_TARGET_S:.0f} s",
            met=job_seconds < TIME_TARGET_S,
        ),
        Figure(
            what="test accuracy of the kept model",
            how="held-out test split (15 %) of the default synthetic dataset",
            result=round(report["accuracy"], 4),
            unit="",
            target=f">= {ACCURACY_BAR}",
            met=report["accuracy"] >= ACCURACY_BAR,
        ),
        Figure(
            what="test minimum defect-class recall",
            how="lowest recall over scratch, dent, crack on the test split",
            result=round(report["min_defect_recall"], 4),
            unit="",
            target=f">= {RECALL_BAR}",
            met=report["min_defect_recall"] >= RECALL_BAR,
        ),
    ]
    path = write_result(
        BenchResult(
            name="train",
            figures=figures,
            details={
                "threads": THREADS,
                "torch": torch.__version__,
                "load_average_before": load_before,
                "train_samples": train_samples,
                "test_samples": len(test),
                "epochs_run": len(history),
                "best_epoch": json.loads(metrics)["best_epoch"],
                "bar_met_on_test": met,
                "test_per_class_recall": {label: v["recall"] for label, v in report["per_class"].items()},
                "history": history,
            },
        )
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
