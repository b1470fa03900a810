"""Fixtures for the training code: contract-shaped Parquet datasets built from synthetic photos.

The Glue job is what writes datasets for real; these tests build the same schema directly with
pyarrow (no Spark), resizing each photo to the dataset's square size as the job does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import train

from mlops_local.executors.training import script_mode_environment
from mlops_local.synthetic_images import write_training_shards
from tests.conftest import built_once_per_run


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 4-class dataset of 100 photos per class at 64x64, shared by the whole run."""
    root = built_once_per_run(
        tmp_path_factory, "small-dataset", lambda folder: write_training_shards(folder, images_per_class=100)
    )
    return {split: root / split for split in ("train", "validation", "test")}


def training_environment(dataset: dict[str, Path], work: Path) -> dict[str, str]:
    """The script-mode environment of a training job over ``dataset`` with outputs under ``work``."""
    return script_mode_environment(
        "unit-test-job",
        {"train": dataset["train"], "validation": dataset["validation"]},
        model_dir=work / "model",
        output_data_dir=work / "output",
        checkpoint_dir=work / "checkpoints",
    )


# Short runs for tests: one thread (the machine is shared), a few epochs.
TEST_ARGS = ["--num_threads", "1", "--epochs", "15", "--batch_size", "8"]


@pytest.fixture(scope="session")
def job_environment():
    """``training_environment`` for tests that run their own training jobs."""
    return training_environment


@pytest.fixture(scope="session")
def dataset_writer():
    """``write_training_shards`` for tests that need a dataset of their own size."""
    return write_training_shards


@pytest.fixture(scope="session")
def trained_model_dir(small_dataset: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained once per run by the real entry point (in process), read by every worker."""

    def train_model(work: Path) -> None:
        assert train.main(TEST_ARGS, training_environment(small_dataset, work)) == 0

    return built_once_per_run(tmp_path_factory, "training-job", train_model) / "model"
