"""The ``pretrained`` channel: which file is read, what is refused, and with which message."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest
import torch
from backbones import imagenet_network
from defect_model import build_model
from hyperparameters import Hyperparameters
from pretrained_weights import (
    CHANNEL_ENV,
    DEFAULT_CHANNEL_DIR,
    PretrainedWeightsError,
    channel_dir,
    resolve,
)

ARCH = "mobilenet_v3_small"  # the smaller backbone keeps these tests fast


def write_weights(folder: Path, arch: str = ARCH, name: str | None = None, state=None) -> Path:
    """A weights file as torchvision publishes them: the ImageNet network's state dict (random)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"{arch}-0123abcd.pth")
    torch.save(imagenet_network(arch).state_dict() if state is None else state, path)
    return path


def test_the_channel_file_is_loaded_into_the_backbone(tmp_path, caplog):
    torch.manual_seed(3)
    path = write_weights(tmp_path / "pretrained")
    on_disk = torch.load(path, weights_only=True)

    with caplog.at_level(logging.INFO):
        weights = resolve(Hyperparameters.for_model(ARCH), {CHANNEL_ENV: str(tmp_path / "pretrained")})
    assert weights is not None
    network = build_model(ARCH, 4, weights=weights.state_dict)

    assert weights.summary() == {
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "tensors": len(on_disk),
    }
    state = network.state_dict()
    assert all(
        torch.equal(state[name], on_disk[name]) for name in state if not name.startswith("classifier.3")
    )
    assert f"loaded {len(on_disk)} tensors from {path}" in caplog.text


def test_a_backbone_without_the_channel_fails_naming_the_channel_and_the_parameter(tmp_path):
    with pytest.raises(PretrainedWeightsError, match=r"'pretrained' training channel.*PretrainedWeightsKey"):
        resolve(Hyperparameters.for_model("resnet18"), {CHANNEL_ENV: str(tmp_path / "absent")})


def test_an_empty_channel_fails_naming_the_file_to_upload(tmp_path):
    (tmp_path / "pretrained").mkdir()

    with pytest.raises(PretrainedWeightsError, match=r"no \.pth file.*resnet18-f37072fd\.pth"):
        resolve(Hyperparameters.for_model("resnet18"), {CHANNEL_ENV: str(tmp_path / "pretrained")})


def test_weights_of_another_network_are_refused_with_the_mismatches_listed(tmp_path):
    write_weights(tmp_path, arch="resnet18", name="weights.pth")

    with pytest.raises(
        PretrainedWeightsError, match=r"does not fit model=mobilenet_v3_small.*missing: features"
    ):
        resolve(Hyperparameters.for_model(ARCH), {CHANNEL_ENV: str(tmp_path)})


def test_a_file_that_is_no_state_dict_is_refused(tmp_path):
    write_weights(tmp_path, state=[torch.zeros(2)])

    with pytest.raises(PretrainedWeightsError, match="not a state dict"):
        resolve(Hyperparameters.for_model(ARCH), {CHANNEL_ENV: str(tmp_path)})


def test_among_several_files_the_one_named_after_the_backbone_is_taken(tmp_path):
    write_weights(tmp_path, arch="resnet18", name="resnet18-f37072fd.pth")
    wanted = write_weights(tmp_path / "nested", name="mobilenet_v3_small-047dcff4.pth")

    weights = resolve(Hyperparameters.for_model(ARCH), {CHANNEL_ENV: str(tmp_path)})

    assert weights is not None
    assert weights.path == wanted


def test_several_candidate_files_are_refused(tmp_path):
    write_weights(tmp_path, name="a.pth")
    write_weights(tmp_path, name="b.pth")

    with pytest.raises(PretrainedWeightsError, match=r"several \.pth files.*a\.pth, b\.pth"):
        resolve(Hyperparameters.for_model(ARCH), {CHANNEL_ENV: str(tmp_path)})


@pytest.mark.parametrize(
    "hp",
    [Hyperparameters(), Hyperparameters.for_model("resnet18", pretrained=False)],
    ids=["small_cnn", "off"],
)
def test_no_weights_are_needed_for_small_cnn_or_without_pretrained(hp, tmp_path):
    assert resolve(hp, {CHANNEL_ENV: str(tmp_path / "absent")}) is None


def test_the_container_path_is_the_default():
    assert channel_dir({}) == DEFAULT_CHANNEL_DIR == Path("/opt/ml/input/data/pretrained")
