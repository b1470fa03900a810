"""Training a pretrained backbone end to end through the ``pretrained`` channel, and serving it."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import train
from backbones import imagenet_network
from PIL import Image
from pretrained_weights import CHANNEL_ENV, PretrainedWeightsError

ARCH = "mobilenet_v3_small"  # the faster backbone: two epochs on the test dataset take seconds


@pytest.fixture(scope="module")
def weights_channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``pretrained`` channel holding one weights file (a fresh network's random weights)."""
    channel = tmp_path_factory.mktemp("pretrained")
    torch.manual_seed(11)
    torch.save(imagenet_network(ARCH).state_dict(), channel / "mobilenet_v3_small-047dcff4.pth")
    return channel


@pytest.fixture(scope="module")
def tiny_dataset(dataset_writer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """30 photos per class: enough for every class in every split, quick to write and to train on."""
    return dataset_writer(tmp_path_factory.mktemp("tiny-dataset"), images_per_class=30)


@pytest.fixture(scope="module")
def backbone_model_dir(tiny_dataset, weights_channel, job_environment, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("backbone-job")
    env = {**job_environment(tiny_dataset, work), CHANNEL_ENV: str(weights_channel)}

    args = ["--model", ARCH, "--epochs", "2", "--num_threads", "1"]
    assert train.main(args, env) == 0
    return work / "model"


def test_metrics_name_the_weights_file_the_backbone_started_from(backbone_model_dir, weights_channel):
    metrics = json.loads((backbone_model_dir / "metrics.json").read_text())
    weights_file = weights_channel / "mobilenet_v3_small-047dcff4.pth"

    assert metrics["pretrained_weights"] == {
        "file": weights_file.name,
        "sha256": hashlib.sha256(weights_file.read_bytes()).hexdigest(),
        "tensors": len(torch.load(weights_file, weights_only=True)),
    }
    assert (metrics["device"], metrics["precision"], metrics["epochs_run"]) == ("cpu", "float32", 2)
    saved = torch.load(backbone_model_dir / "model.pt", weights_only=True)
    assert saved["arch"] == ARCH
    assert saved["hyperparameters"]["batch_size"] == 32  # the backbone's default
    assert saved["mean"] == pytest.approx([0.485, 0.456, 0.406])


def test_the_code_folder_serves_the_backbone_without_torchvision(backbone_model_dir, tmp_path):
    """Serving rebuilds the network from model.pt's ``arch`` in plain torch, offline."""
    script = (
        "import sys, base64, json; sys.modules['torchvision'] = None; sys.path.insert(0, sys.argv[1]); "
        "import inference; model = inference.model_fn(sys.argv[2]); "
        "images = inference.input_fn(sys.stdin.read(), 'application/json'); "
        "print(inference.output_fn(inference.predict_fn(images, model), 'application/json')[0])"
    )
    png = io.BytesIO()
    Image.new("RGB", (80, 80), (120, 110, 100)).save(png, format="PNG")
    body = json.dumps({"images": [base64.b64encode(png.getvalue()).decode()]})
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}

    result = subprocess.run(
        [sys.executable, "-c", script, str(backbone_model_dir / "code"), str(backbone_model_dir)],
        input=body, capture_output=True, text=True, cwd=tmp_path, env=env, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    prediction = json.loads(result.stdout)["predictions"][0]
    assert set(prediction["probabilities"]) == {"crack", "dent", "ok", "scratch"}
    assert sum(prediction["probabilities"].values()) == pytest.approx(1.0)


def test_a_backbone_without_its_weights_fails_before_reading_any_data(tmp_path, job_environment):
    """The data paths do not even exist: the job stops at the missing channel first."""
    missing = {"train": tmp_path / "no-train", "validation": tmp_path / "no-validation"}
    env = {**job_environment(missing, tmp_path), CHANNEL_ENV: str(tmp_path / "no-channel")}

    with pytest.raises(PretrainedWeightsError, match=r"PretrainedWeightsKey"):
        train.main(["--model", "resnet18"], env)


def test_the_loaded_file_is_logged_with_its_tensor_count(
    tiny_dataset, weights_channel, job_environment, tmp_path, caplog
):
    env = {**job_environment(tiny_dataset, tmp_path), CHANNEL_ENV: str(weights_channel)}

    with caplog.at_level(logging.INFO):
        assert train.main(["--model", ARCH, "--epochs", "1", "--num_threads", "1"], env) == 0

    weights_file = weights_channel / "mobilenet_v3_small-047dcff4.pth"
    sha256 = hashlib.sha256(weights_file.read_bytes()).hexdigest()
    messages = [record.getMessage() for record in caplog.records]
    assert [m for m in messages if m.startswith("pretrained weights:")] == [
        f"pretrained weights: loaded 244 tensors from {weights_file} (sha256 {sha256})"
    ]
