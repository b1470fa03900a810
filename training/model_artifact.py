"""The ``model.pt`` file (docs/contracts.md "Training") and loading a model from any of its forms,
and the ``diagnostics.json`` training writes beside it.

A model arrives as an unpacked model directory, a directory holding ``model.tar.gz`` (a processing
job input), or the ``model.tar.gz`` itself. ``model.pt`` holds only tensors and plain values, so it
loads with ``weights_only=True``: no pickled code from an artefact ever runs. Its ``arch`` names the
network, which ``defect_model.build_model`` rebuilds in plain torch (no download, no torchvision)
before the weights are loaded, on the CPU or the GPU the caller picks.
"""

from __future__ import annotations

import json
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import defect_model
import torch
from torch import nn

MODEL_FILE = "model.pt"
MODEL_ARCHIVE = "model.tar.gz"
DIAGNOSTICS_FILE = "diagnostics.json"
# diagnostics.json is a few kilobytes; anything far larger is not one.
MAX_DIAGNOSTICS_BYTES = 1024 * 1024


@dataclass
class LoadedModel:
    """A network ready for inference plus everything needed to feed it and name its outputs."""

    network: nn.Module
    arch: str
    labels: list[str]
    normal_class: str
    image_size: int
    mean: list[float]
    std: list[float]
    model_version: str
    hyperparameters: dict[str, Any] = field(default_factory=dict)


def save_model_file(
    path: Path,
    *,
    network: nn.Module,
    arch: str,
    labels: list[str],
    normal_class: str,
    image_size: int,
    mean: list[float],
    std: list[float],
    model_version: str,
    hyperparameters: dict[str, Any],
) -> None:
    """Write ``model.pt`` with the keys of the contract."""
    torch.save(
        {
            "state_dict": {name: tensor.detach().cpu() for name, tensor in network.state_dict().items()},
            "arch": arch,
            "labels": list(labels),
            "normal_class": normal_class,
            "image_size": int(image_size),
            "mean": [float(m) for m in mean],
            "std": [float(s) for s in std],
            "model_version": model_version,
            "hyperparameters": hyperparameters,
        },
        path,
    )


def load_model_file(path: Path, device: torch.device | None = None) -> LoadedModel:
    """Load ``model.pt`` into an eval-mode network on ``device`` (the CPU when None); a model
    trained on a GPU loads on a CPU and the other way round."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    network = defect_model.build_model(saved["arch"], len(saved["labels"]))
    network.load_state_dict(saved["state_dict"])
    network.to(device or torch.device("cpu")).eval()
    return LoadedModel(
        network=network,
        arch=saved["arch"],
        labels=list(saved["labels"]),
        normal_class=saved["normal_class"],
        image_size=int(saved["image_size"]),
        mean=list(saved["mean"]),
        std=list(saved["std"]),
        model_version=str(saved["model_version"]),
        hyperparameters=dict(saved.get("hyperparameters", {})),
    )


def find_model_source(location: Path) -> Path | None:
    """Return the ``model.pt`` or ``model.tar.gz`` at ``location``, or None if it holds no model.

    ``location`` may be a model directory, a directory holding ``model.tar.gz`` (at any depth, as
    a processing input copies an S3 prefix), or the archive or model file itself.
    """
    if location.is_file():
        return location if location.name in {MODEL_FILE, MODEL_ARCHIVE} else None
    if not location.is_dir():
        return None
    for name in (MODEL_FILE, MODEL_ARCHIVE):
        if (location / name).is_file():
            return location / name
    archives = sorted(location.rglob(MODEL_ARCHIVE))
    return archives[0] if archives else None


def load_model(location: Path, device: torch.device | None = None) -> LoadedModel:
    """Load a model from a directory, a directory holding ``model.tar.gz``, or the archive, onto
    ``device`` (the CPU when None)."""
    source = find_model_source(location)
    if source is None:
        raise FileNotFoundError(f"no {MODEL_FILE} or {MODEL_ARCHIVE} at {location}")
    if source.name == MODEL_FILE:
        return load_model_file(source, device)
    with tempfile.TemporaryDirectory(prefix="model-") as unpacked, tarfile.open(source, "r:gz") as archive:
        # The "data" filter refuses absolute paths, links out of the folder and device files.
        archive.extractall(unpacked, filter="data")
        model_file = Path(unpacked) / MODEL_FILE
        if not model_file.is_file():
            raise FileNotFoundError(f"{source} holds no {MODEL_FILE} at its root")
        return load_model_file(model_file, device)


def load_diagnostics(location: Path) -> dict[str, Any] | None:
    """The training diagnostics stored with a model (``diagnostics.json`` in the model directory or
    at the root of ``model.tar.gz``); None when the model has none (trained before they existed).

    Raises ``ValueError`` when the file is there but is not a JSON object of a sensible size.
    """
    source = find_model_source(location)
    if source is None:
        raise FileNotFoundError(f"no {MODEL_FILE} or {MODEL_ARCHIVE} at {location}")
    if source.name == MODEL_FILE:
        path = source.parent / DIAGNOSTICS_FILE
        if not path.is_file():
            return None
        if path.stat().st_size > MAX_DIAGNOSTICS_BYTES:
            raise ValueError(f"{path} is larger than {MAX_DIAGNOSTICS_BYTES} bytes")
        raw = path.read_bytes()
    else:
        with tarfile.open(source, "r:gz") as archive:
            # At the archive's root, named with or without a leading "./".
            names = {m.name.removeprefix("./"): m for m in archive.getmembers()}
            member = names.get(DIAGNOSTICS_FILE)
            if member is None:
                return None
            if not member.isfile() or member.size > MAX_DIAGNOSTICS_BYTES:
                raise ValueError(f"{DIAGNOSTICS_FILE} in {source} is not a regular file of a sensible size")
            stream = archive.extractfile(member)
            raw = stream.read() if stream is not None else b""
    document = json.loads(raw)
    if not isinstance(document, dict):
        raise ValueError(f"{DIAGNOSTICS_FILE} of {location} is not a JSON object")
    return document
