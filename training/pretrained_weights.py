"""The ``pretrained`` training channel: a backbone's ImageNet weights for jobs with network isolation.

Training jobs run with network isolation, so nothing is downloaded at run time: the weights file
(torchvision's published state dict, uploaded to S3 by scripts/fetch_pretrained_weights.py) reaches
the job as an input channel named ``pretrained``, which SageMaker copies to
``/opt/ml/input/data/pretrained`` and names in ``SM_CHANNEL_PRETRAINED``
(https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html).

Contract: the channel holds one ``*.pth`` file (at any depth), a state dict with torchvision's
names for the chosen backbone. When it holds several, the one named after the backbone
(``resnet18-*.pth``) is taken. The file is checked against the network before any data is read.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import backbones
import torch
from hyperparameters import Hyperparameters

LOG = logging.getLogger(__name__)

CHANNEL = "pretrained"
CHANNEL_ENV = "SM_CHANNEL_PRETRAINED"
DEFAULT_CHANNEL_DIR = Path("/opt/ml/input/data/pretrained")
# The template parameter holding the weights file's S3 key, which the pipeline turns into the channel.
TEMPLATE_PARAMETER = "PretrainedWeightsKey"
WEIGHTS_SUFFIX = ".pth"


class PretrainedWeightsError(ValueError):
    """The channel or its file cannot give the backbone its weights; the message says what to do."""


@dataclass(frozen=True)
class PretrainedWeights:
    """A weights file read from the channel and checked against its backbone."""

    path: Path
    sha256: str
    state_dict: dict[str, torch.Tensor]

    def summary(self) -> dict[str, Any]:
        """What ``metrics.json`` records: the file's name and sha256, and how many tensors it held."""
        return {"file": self.path.name, "sha256": self.sha256, "tensors": len(self.state_dict)}


def channel_dir(environ: Mapping[str, str]) -> Path:
    """The channel's folder: ``SM_CHANNEL_PRETRAINED``, else the container's default path."""
    return Path(environ.get(CHANNEL_ENV, str(DEFAULT_CHANNEL_DIR)))


def _how_to_provide(arch: str) -> str:
    return (
        f"upload torchvision's {backbones.WEIGHTS_FILES[arch]} with scripts/fetch_pretrained_weights.py "
        f"and set the {TEMPLATE_PARAMETER} template parameter to its S3 key (the pipeline passes it as "
        f"the {CHANNEL!r} channel), or set the hyperparameter pretrained=false to train from random weights"
    )


def find_weights_file(arch: str, folder: Path) -> Path:
    """The one ``*.pth`` file under ``folder``, or the one named after ``arch`` among several."""
    if not folder.is_dir():
        raise PretrainedWeightsError(
            f"model={arch} with pretrained=true needs ImageNet weights in the {CHANNEL!r} training channel "
            f"({CHANNEL_ENV}={folder}), and the job has no such channel: {_how_to_provide(arch)}"
        )
    files = sorted(path for path in folder.rglob(f"*{WEIGHTS_SUFFIX}") if path.is_file())
    if len(files) > 1:
        files = [path for path in files if path.name.startswith((f"{arch}-", f"{arch}."))] or files
    if not files:
        raise PretrainedWeightsError(
            f"the {CHANNEL!r} channel ({folder}) holds no {WEIGHTS_SUFFIX} file for model={arch}: "
            f"{_how_to_provide(arch)}"
        )
    if len(files) > 1:
        names = ", ".join(str(path.relative_to(folder)) for path in files)
        raise PretrainedWeightsError(
            f"the {CHANNEL!r} channel ({folder}) holds several {WEIGHTS_SUFFIX} files for model={arch} "
            f"({names}): keep one"
        )
    return files[0]


def read_weights(arch: str, path: Path) -> PretrainedWeights:
    """Read a weights file and check it fits ``arch`` (names and shapes) before training starts."""
    data = path.read_bytes()
    try:
        # weights_only: the file comes from outside the job; it may hold tensors, never code.
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise PretrainedWeightsError(f"{path} is not a readable torch state dict: {exc}") from exc
    if not isinstance(state, Mapping):
        raise PretrainedWeightsError(f"{path} holds a {type(state).__name__}, not a state dict")
    problems = backbones.state_dict_problems(backbones.imagenet_network(arch), state)
    if problems:
        raise PretrainedWeightsError(
            f"{path.name} does not fit model={arch} (expected torchvision's "
            f"{backbones.WEIGHTS_FILES[arch]} layout): " + "; ".join(problems)
        )
    return PretrainedWeights(path=path, sha256=hashlib.sha256(data).hexdigest(), state_dict=dict(state))


def resolve(hp: Hyperparameters, environ: Mapping[str, str]) -> PretrainedWeights | None:
    """The weights this job starts from: None for ``small_cnn`` or ``pretrained=false``; otherwise
    the channel's checked file, or ``PretrainedWeightsError`` saying what is missing."""
    if hp.model not in backbones.BACKBONES:
        return None
    if not hp.pretrained:
        LOG.info("model=%s with pretrained=false: training from random weights", hp.model)
        return None
    weights = read_weights(hp.model, find_weights_file(hp.model, channel_dir(environ)))
    LOG.info(
        "pretrained weights: loaded %d tensors from %s (sha256 %s)",
        len(weights.state_dict), weights.path, weights.sha256,
    )  # fmt: skip
    return weights
