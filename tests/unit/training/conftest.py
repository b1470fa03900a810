"""Fixtures for the training code: contract-shaped Parquet datasets built from synthetic photos.

The Glue job is what writes datasets for real; these tests build the same schema directly with
pyarrow (no Spark), resizing each photo to the dataset's square size as the job does.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import train
from PIL import Image

from mlops_local.synthetic_images import generate_dataset

SPLITS = ("train", "validation", "test")


def split_of(key: str, *, validation: float = 0.15, test: float = 0.15) -> str:
    """Deterministic split from a hash of the key."""
    position = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if position < test:
        return "test"
    return "validation" if position < test + validation else "train"


def write_parquet_dataset(
    root: Path,
    *,
    images_per_class: int,
    image_size: int = 64,
    classes: tuple[str, ...] = ("ok", "scratch", "dent", "crack"),
    seed: int = 7,
) -> dict[str, Path]:
    """Generate photos under ``root/raw`` and write ``root/<split>/part-00000.parquet``."""
    generated = generate_dataset(root / "raw", images_per_class=images_per_class, classes=classes, seed=seed)
    rows: dict[str, list[dict[str, object]]] = {split: [] for split in SPLITS}
    for label, paths in sorted(generated.images.items()):
        for path in paths:
            original = path.read_bytes()
            key = path.relative_to(root / "raw").as_posix()
            with Image.open(io.BytesIO(original)) as img:
                fmt, (width, height) = img.format, img.size
                resized = img.convert("RGB").resize((image_size, image_size), Image.Resampling.BILINEAR)
            png = io.BytesIO()
            resized.save(png, format="PNG")
            split = split_of(key)
            rows[split].append({
                "key": key, "source": key.split("/")[0], "label": label, "split": split,
                "sha256": hashlib.sha256(original).hexdigest(), "image": png.getvalue(),
                "orig_width": width, "orig_height": height, "format": fmt,
            })  # fmt: skip
    schema = pa.schema([
        ("key", pa.string()), ("source", pa.string()), ("label", pa.string()), ("split", pa.string()),
        ("sha256", pa.string()), ("image", pa.binary()), ("orig_width", pa.int32()),
        ("orig_height", pa.int32()), ("format", pa.string()),
    ])  # fmt: skip
    folders = {}
    for split in SPLITS:
        folder = root / split
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows[split], schema=schema), folder / "part-00000.parquet")
        folders[split] = folder
    return folders


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 4-class dataset of 100 photos per class at 64x64, shared by the whole session."""
    return write_parquet_dataset(tmp_path_factory.mktemp("dataset"), images_per_class=100)


def training_environment(dataset: dict[str, Path], work: Path) -> dict[str, str]:
    """The script-mode environment of a training job over ``dataset`` with outputs under ``work``."""
    return {
        "SM_CHANNEL_TRAIN": str(dataset["train"]),
        "SM_CHANNEL_VALIDATION": str(dataset["validation"]),
        "SM_MODEL_DIR": str(work / "model"),
        "SM_OUTPUT_DATA_DIR": str(work / "output"),
        "SM_CHECKPOINT_DIR": str(work / "checkpoints"),
        "TRAINING_JOB_NAME": "unit-test-job",
    }


# Short runs for tests: one thread (the machine is shared), a few epochs.
TEST_ARGS = ["--num_threads", "1", "--epochs", "15", "--batch_size", "8"]


@pytest.fixture(scope="session")
def job_environment():
    """``training_environment`` for tests that run their own training jobs."""
    return training_environment


@pytest.fixture(scope="session")
def dataset_writer():
    """``write_parquet_dataset`` for tests that need a dataset of their own size."""
    return write_parquet_dataset


@pytest.fixture(scope="session")
def trained_model_dir(small_dataset: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained once per session by the real entry point (in process)."""
    work = tmp_path_factory.mktemp("training-job")
    assert train.main(TEST_ARGS, training_environment(small_dataset, work)) == 0
    return work / "model"
