"""The networks: a small CNN in plain torch (default) and a torchvision ResNet-18 for transfer learning.

Also the input normalisation both share, so training, evaluation and serving prepare pixels the
same way. torchvision is imported only when ``resnet18`` is asked for: it is absent from some
environments and the default model does not need it.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

ARCHITECTURES = ("small_cnn", "resnet18")
# ResNet-18's ImageNet statistics: its pretrained filters expect inputs normalised this way.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Optional training channel holding torchvision's resnet18 weights file, for jobs that run with
# network isolation and so cannot download them.
PRETRAINED_CHANNEL_ENV = "SM_CHANNEL_PRETRAINED"


class SmallCNN(nn.Module):
    """A fixed high-pass filter, four conv blocks and a max+mean pooled head: small enough to
    train on a CPU in seconds.

    Defects are small local marks (a scratch, a dent, a crack) while lighting, exposure and the
    background change slowly across a photo. Subtracting the local mean (a 15x15 box blur) removes
    the slow part before the first convolution, which on the synthetic dataset roughly halves the
    epochs needed to reach the accuracy bar. The head pools with max as well as mean: a mark
    anywhere in the image lights up the max even when it barely moves the mean.
    """

    def __init__(
        self, num_classes: int, *, dropout: float = 0.2, width: int = 16, detail_kernel: int = 15
    ) -> None:
        super().__init__()
        self.detail_kernel = detail_kernel
        channels = (3, width, width * 2, width * 4, width * 4)
        blocks: list[nn.Module] = []
        for c_in, c_out in itertools.pairwise(channels):
            blocks += [
                nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(channels[-1] * 2, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature_map = self.features(x - local_mean(x, self.detail_kernel))
        pooled = torch.cat([feature_map.amax(dim=(2, 3)), feature_map.mean(dim=(2, 3))], dim=1)
        return self.head(pooled)


def local_mean(images: torch.Tensor, kernel: int) -> torch.Tensor:
    """Mean over the ``kernel`` x ``kernel`` window around each pixel (clipped at the borders).

    Same values as ``avg_pool2d(..., stride=1, count_include_pad=False)``, computed from running
    sums along each axis: a few operations per pixel instead of ``kernel**2`` (6x faster here).
    """
    radius = kernel // 2
    result = images
    for dim in (2, 3):
        size = result.shape[dim]
        running = torch.cat([torch.zeros_like(result.narrow(dim, 0, 1)), result.cumsum(dim)], dim)
        position = torch.arange(size, device=images.device)
        low = (position - radius).clamp(min=0)
        high = (position + radius).clamp(max=size - 1) + 1
        window_sum = running.index_select(dim, high) - running.index_select(dim, low)
        shape = [1, 1, 1, 1]
        shape[dim] = size
        result = window_sum / (high - low).view(shape).to(images.dtype)
    return result


def build_model(arch: str, num_classes: int, *, dropout: float = 0.2, pretrained: bool = False) -> nn.Module:
    """Build a network by name; ``pretrained`` loads ImageNet weights (resnet18 only)."""
    if arch == "small_cnn":
        return SmallCNN(num_classes, dropout=dropout)
    if arch == "resnet18":
        return _build_resnet18(num_classes, dropout=dropout, pretrained=pretrained)
    raise ValueError(f"unknown model {arch!r}; expected one of {', '.join(ARCHITECTURES)}")


def _build_resnet18(num_classes: int, *, dropout: float, pretrained: bool) -> nn.Module:
    try:
        from torchvision import models  # noqa: PLC0415 - optional dependency, only for this model
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "model=resnet18 needs torchvision (present in SageMaker's PyTorch images)"
        ) from exc
    network = models.resnet18(weights=None)
    if pretrained:
        network.load_state_dict(_resnet18_pretrained_state(models))
    network.fc = nn.Sequential(nn.Dropout(dropout), nn.Linear(network.fc.in_features, num_classes))
    return network


def _resnet18_pretrained_state(models: object) -> dict[str, torch.Tensor]:  # pragma: no cover - AWS only
    channel = os.environ.get(PRETRAINED_CHANNEL_ENV)
    if channel:
        weight_files = sorted(Path(channel).glob("*.pth"))
        if weight_files:
            return torch.load(weight_files[0], map_location="cpu", weights_only=True)
    # No channel: download through torchvision (needs network access from the training job).
    weights = models.ResNet18_Weights.DEFAULT  # type: ignore[attr-defined]
    return weights.get_state_dict(progress=False)


def normalisation_for(
    arch: str, train_mean: Sequence[float], train_std: Sequence[float]
) -> tuple[list[float], list[float]]:
    """Per-channel mean and std used to normalise inputs (0..1 scale) for an architecture."""
    if arch == "resnet18":
        return list(IMAGENET_MEAN), list(IMAGENET_STD)
    return [float(m) for m in train_mean], [max(float(s), 1e-3) for s in train_std]


def channel_statistics(images: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and std (0..1 scale) of an NxHxWx3 uint8 array."""
    pixels = images.reshape(-1, 3).astype(np.float64) / 255.0
    return pixels.mean(axis=0).tolist(), pixels.std(axis=0).tolist()


def to_unit_tensor(images: np.ndarray) -> torch.Tensor:
    """NxHxWx3 uint8 array -> Nx3xHxW float tensor in 0..1."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255.0)


def normalise(batch: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Normalise an Nx3xHxW 0..1 tensor with per-channel mean and std."""
    mean_t = torch.tensor(mean, dtype=batch.dtype).view(1, 3, 1, 1)
    std_t = torch.tensor(std, dtype=batch.dtype).view(1, 3, 1, 1)
    return (batch - mean_t) / std_t


@torch.inference_mode()
def predict_probabilities(
    network: nn.Module,
    images: np.ndarray,
    mean: Sequence[float],
    std: Sequence[float],
    *,
    batch_size: int = 256,
) -> np.ndarray:
    """Class probabilities (N x classes) for NxHxWx3 uint8 images, in eval mode."""
    network.eval()
    outputs = []
    for start in range(0, len(images), batch_size):
        batch = normalise(to_unit_tensor(images[start : start + batch_size]), mean, std)
        outputs.append(torch.softmax(network(batch), dim=1))
    if not outputs:
        return np.zeros((0, 0), dtype=np.float64)
    return torch.cat(outputs).double().numpy()
