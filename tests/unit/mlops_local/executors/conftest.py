"""Fixtures for the executor tests: an embedded S3 (moto) and an execution context bound to it."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from PIL import Image

from mlops_local.executors.base import ExecutionContext
from mlops_local.executors.faults import FaultPlan
from mlops_local.executors.training import script_mode_environment
from mlops_local.synthetic_images import dataset_rows, generate_dataset, write_dataset_shard
from tests.conftest import REPO_ROOT, built_once_per_run

REGION = "us-east-1"
BUCKET = "artifacts"
STAND_INS = Path(__file__).resolve().parent / "stand_ins"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An in-process AWS with one bucket."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        yield


@pytest.fixture
def s3(aws: None) -> Any:
    return boto3.client("s3", region_name=REGION)


@pytest.fixture
def faults() -> FaultPlan:
    return FaultPlan()


@pytest.fixture
def make_context(s3: Any, tmp_path: Path, faults: FaultPlan):
    """Build a fresh ExecutionContext per job (each job gets its own workdir)."""
    counter = iter(range(1000))
    recorded: list[tuple[dict[str, Any], Any]] = []

    def factory(**overrides: Any) -> ExecutionContext:
        workdir = tmp_path / f"job-{next(counter)}"
        workdir.mkdir()
        values: dict[str, Any] = {
            "s3": s3,
            "client": lambda service: boto3.client(service, region_name=REGION),
            "workdir": workdir,
            "project_root": REPO_ROOT,
            "faults": faults,
            "progress": lambda message: None,
            "record_training_job": lambda request, result: recorded.append((request, result)),
        }
        values.update(overrides)
        return ExecutionContext(**values)

    factory.recorded = recorded  # type: ignore[attr-defined]
    return factory


@pytest.fixture
def code_bundle(s3: Any):
    """Package a folder as a code archive in the bucket, as the deploy does; returns its URI."""
    return lambda folder, key: upload_code_bundle(s3, folder, key)


@pytest.fixture
def objects(s3: Any):
    """Write objects under a prefix; returns the prefix URI."""
    return lambda prefix, files: put_objects(s3, prefix, files)


def upload_code_bundle(s3: Any, folder: Path, key: str) -> str:
    """Package ``folder`` as a sourcedir.tar.gz in the bucket, as the deploy does; return its URI."""
    buffer = io.BytesIO()  # never written beside the code: the checkout stays clean
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(folder.iterdir()):
            if path.name != "__pycache__":
                tar.add(path, arcname=path.name)
    s3.put_object(Bucket=BUCKET, Key=key, Body=buffer.getvalue())
    return f"s3://{BUCKET}/{key}"


def put_objects(s3: Any, prefix: str, files: dict[str, bytes]) -> str:
    """Write objects under ``prefix``; return the prefix URI."""
    for name, body in files.items():
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{name}", Body=body)
    return f"s3://{BUCKET}/{prefix}/"


def upload_model(s3: Any, archive: Path, name: str) -> str:
    """Put a model.tar.gz where a training job named ``name`` leaves it; return its URI."""
    key = f"models/{name}/output/model.tar.gz"
    s3.upload_file(str(archive), BUCKET, key)
    return f"s3://{BUCKET}/{key}"


def png_bytes(shade: int = 100, *, green: int | None = None) -> bytes:
    """A 40x40 PNG of one colour: grey ``shade``, or ``shade`` with its own ``green`` channel."""
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), (shade, shade if green is None else green, shade)).save(buffer, format="PNG")
    return buffer.getvalue()


# An endpoint's DataCaptureConfig that records every request and response.
CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 100,
    "DestinationS3Uri": f"s3://{BUCKET}/capture",
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
}


METRICS = [
    {"Name": "validation:accuracy", "Regex": r"validation:accuracy=([0-9.]+);"},
    {"Name": "train:loss", "Regex": r"train:loss=([0-9.]+);"},
]


@pytest.fixture
def training_request(s3: Any):
    """Build a CreateTrainingJob request for the stand-in script, with its code and data in S3."""
    return lambda name="job-1", **options: stand_in_training_request(s3, name, **options)


def stand_in_training_request(s3: Any, name: str, *, spot: bool = False, epochs: int = 3) -> dict[str, Any]:
    code_uri = upload_code_bundle(s3, STAND_INS / "training", "code/abc123/sourcedir.tar.gz")
    train_uri = put_objects(s3, "datasets/v1/train", {"part-0.parquet": b"a", "part-1.parquet": b"b"})
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingInputMode": "File", "MetricDefinitions": METRICS},
        "HyperParameters": {
            "epochs": str(epochs),
            "learning_rate": "0.1",
            "epoch_seconds": "0.3",
            "sagemaker_program": json.dumps("train.py"),
            "sagemaker_submit_directory": json.dumps(code_uri),
        },
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": train_uri}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/models"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    if spot:
        request["EnableManagedSpotTraining"] = True
        request["StoppingCondition"]["MaxWaitTimeInSeconds"] = 1200
        request["CheckpointConfig"] = {"S3Uri": f"s3://{BUCKET}/checkpoints/{name}"}
    return request


def write_parquet_split(folder: Path, images_per_class: int, *, seed: int, image_size: int = 32) -> None:
    """Write one contract-shaped Parquet shard of synthetic photos (docs/contracts.md "Dataset")."""
    generated = generate_dataset(folder / "raw", images_per_class=images_per_class, seed=seed, image_size=48)
    write_dataset_shard(
        folder, dataset_rows(generated, image_size=image_size, split=folder.name)[folder.name]
    )
    shutil.rmtree(folder / "raw")


@pytest.fixture(scope="session")
def real_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Train and validation splits of a tiny synthetic dataset, as the Glue job writes them."""

    def write_splits(root: Path) -> None:
        for split, seed in (("train", 1), ("validation", 2)):
            (root / split).mkdir()
            write_parquet_split(root / split, 6, seed=seed)

    return built_once_per_run(tmp_path_factory, "real-dataset", write_splits)


def train_real_model(dataset: Path, workdir: Path, version: str) -> Path:
    """Run the real training/train.py for one epoch; return its model.tar.gz."""
    model_dir = workdir / "model"
    for folder in (model_dir, workdir / "output", workdir / "checkpoints"):
        folder.mkdir(parents=True)
    env = {
        **os.environ,
        **script_mode_environment(
            version,
            {"train": dataset / "train", "validation": dataset / "validation"},
            model_dir=model_dir,
            output_data_dir=workdir / "output",
            checkpoint_dir=workdir / "checkpoints",
        ),
        "PYTHONPATH": str(REPO_ROOT / "training"),
    }
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "training" / "train.py"), "--epochs", "1", "--batch_size", "8"],
        env=env,
        check=True,
        capture_output=True,
    )
    archive = workdir / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(model_dir.iterdir()):
            tar.add(path, arcname=path.name)
    return archive


@pytest.fixture(scope="session")
def real_models(real_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two versions of the real model (model.tar.gz each), trained once per test run."""
    versions = ("model-v1", "model-v2")

    def train_both(root: Path) -> None:
        for version in versions:
            train_real_model(real_dataset, root / version, version)

    root = built_once_per_run(tmp_path_factory, "real-models", train_both)
    return {version: root / version / "model.tar.gz" for version in versions}
