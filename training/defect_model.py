"""The networks: a small CNN (default) and two ImageNet backbones for transfer learning, all in
plain torch (``backbones.py`` holds ResNet-18 and MobileNetV3-Small with torchvision's layout).

Also the input normalisation they share, so training, evaluation and serving prepare pixels the
same way, on whichever device the network is.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import backbones
import numpy as np
import torch
from torch import nn

ARCHITECTURES = ("small_cnn", *backbones.BACKBONES)
# ImageNet statistics: the backbones' pretrained filters expect inputs normalised this way.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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


def build_model(
    arch: str,
    num_classes: int,
    *,
    dropout: float = 0.2,
    weights: Mapping[str, torch.Tensor] | None = None,
) -> nn.Module:
    """Build a network by name. ``weights``: a backbone's ImageNet state dict (torchvision's file),
    loaded before the classifier head is replaced; ``small_cnn`` has none."""
    if arch == "small_cnn":
        if weights is not None:
            raise ValueError("small_cnn has no pretrained weights")
        return SmallCNN(num_classes, dropout=dropout)
    if arch in backbones.BACKBONES:
        return backbones.build_backbone(arch, num_classes, dropout=dropout, weights=weights)
    raise ValueError(f"unknown model {arch!r}; expected one of {', '.join(ARCHITECTURES)}")


def parameter_groups(
    network: nn.Module, learning_rate: float, backbone_lr_factor: float, *, fine_tuning: bool
) -> list[dict[str, Any]]:
    """The optimiser's parameter groups. Fine-tuning a backbone: its new head first at
    ``learning_rate``, then the pretrained rest at ``learning_rate * backbone_lr_factor``; otherwise
    one group of every parameter."""
    if not (fine_tuning and isinstance(network, backbones.Backbone)):
        return [{"params": list(network.parameters()), "lr": learning_rate}]
    head = list(network.head_parameters())
    head_ids = {id(parameter) for parameter in head}
    rest = [parameter for parameter in network.parameters() if id(parameter) not in head_ids]
    return [
        {"params": head, "lr": learning_rate},
        {"params": rest, "lr": learning_rate * backbone_lr_factor},
    ]


def normalisation_for(
    arch: str, train_mean: Sequence[float], train_std: Sequence[float]
) -> tuple[list[float], list[float]]:
    """Per-channel mean and std used to normalise inputs (0..1 scale) for an architecture."""
    if arch in backbones.BACKBONES:
        return list(IMAGENET_MEAN), list(IMAGENET_STD)
    return [float(m) for m in train_mean], [max(float(s), 1e-3) for s in train_std]


def channel_statistics(images: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and std (0..1 scale) of an NxHxWx3 uint8 array."""
    pixels = images.reshape(-1, 3).astype(np.float64) / 255.0
    return pixels.mean(axis=0).tolist(), pixels.std(axis=0).tolist()


def model_device(network: nn.Module) -> torch.device:
    """The device the network's parameters are on."""
    return next(network.parameters()).device


def to_unit_tensor(images: np.ndarray, device: torch.device | None = None) -> torch.Tensor:
    """NxHxWx3 uint8 array -> Nx3xHxW float tensor in 0..1 (on ``device``, moved there as uint8)."""
    batch = torch.from_numpy(np.ascontiguousarray(images))
    if device is not None:
        batch = batch.to(device)
    return unit_tensor(batch)


def unit_tensor(images: torch.Tensor) -> torch.Tensor:
    """NxHxWx3 uint8 tensor -> Nx3xHxW float tensor in 0..1, on the same device."""
    return images.permute(0, 3, 1, 2).float().div_(255.0)


def normalise(
    batch: torch.Tensor, mean: Sequence[float] | torch.Tensor, std: Sequence[float] | torch.Tensor
) -> torch.Tensor:
    """Normalise an Nx3xHxW 0..1 tensor with per-channel mean and std (lists or tensors)."""
    mean_t = torch.as_tensor(mean, dtype=batch.dtype, device=batch.device).view(1, 3, 1, 1)
    std_t = torch.as_tensor(std, dtype=batch.dtype, device=batch.device).view(1, 3, 1, 1)
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
    """Class probabilities (N x classes, a CPU array) for NxHxWx3 uint8 images, in eval mode, on
    the network's device."""
    network.eval()
    device = model_device(network)
    outputs = []
    for start in range(0, len(images), batch_size):
        batch = normalise(to_unit_tensor(images[start : start + batch_size], device), mean, std)
        outputs.append(torch.softmax(network(batch), dim=1))
    if not outputs:
        return np.zeros((0, 0), dtype=np.float64)
    return torch.cat(outputs).double().cpu().numpy()
