"""ResNet-18 and MobileNetV3-Small in plain torch, with torchvision's parameter and buffer names.

Every module sits at the attribute path torchvision gives it, so torchvision's published ImageNet
weight files (``resnet18-f37072fd.pth``, ``mobilenet_v3_small-047dcff4.pth``) load into these
networks with ``load_state_dict(strict=True)``, and training, evaluation and serving need no
torchvision. The layouts follow torchvision's model definitions
(https://github.com/pytorch/vision, torchvision/models/resnet.py, torchvision/models/mobilenetv3.py
and the blocks of torchvision/ops/misc.py), including their weight initialisation, so a network
trained from random weights starts where torchvision's would.

A backbone is built with its 1000-class ImageNet classifier, takes the weights file's tensors, and
only then gets the classifier head of this task (``replace_head``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import NamedTuple

import torch
from torch import nn

BACKBONES = ("resnet18", "mobilenet_v3_small")
IMAGENET_CLASSES = 1000
# torchvision's published ImageNet weights (IMAGENET1K_V1) for each backbone. The part after the
# dash is the start of the file's sha256, which torch.hub checks on download.
WEIGHTS_FILES = {
    "resnet18": "resnet18-f37072fd.pth",
    "mobilenet_v3_small": "mobilenet_v3_small-047dcff4.pth",
}
# How many mismatching names an error message lists of each kind.
SHOWN_MISMATCHES = 5


class Backbone(nn.Module):
    """A network whose classifier can be swapped for a new head (the rest is the backbone)."""

    def replace_head(self, num_classes: int, dropout: float) -> None:
        """Swap the ImageNet classifier for a freshly initialised one with ``num_classes`` outputs."""
        raise NotImplementedError

    def head_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of the layers ``replace_head`` created (everything else came pretrained)."""
        raise NotImplementedError


# ResNet-18 ---------------------------------------------------------------------------------------


def _conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a shortcut (torchvision's ``BasicBlock``)."""

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv3x3(in_channels, channels, stride)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(channels, channels)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, channels, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class ResNet18(Backbone):
    """torchvision's ``resnet18``: a 7x7 stem, four stages of two basic blocks, average pooling."""

    def __init__(self, num_classes: int = IMAGENET_CLASSES) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(64, 64), BasicBlock(64, 64))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, stride=2), BasicBlock(128, 128))
        self.layer3 = nn.Sequential(BasicBlock(128, 256, stride=2), BasicBlock(256, 256))
        self.layer4 = nn.Sequential(BasicBlock(256, 512, stride=2), BasicBlock(512, 512))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc: nn.Module = nn.Linear(512, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))

    def replace_head(self, num_classes: int, dropout: float) -> None:
        self.fc = nn.Sequential(nn.Dropout(dropout), nn.Linear(512, num_classes))

    def head_parameters(self) -> Iterator[nn.Parameter]:
        return self.fc.parameters()


# MobileNetV3-Small -------------------------------------------------------------------------------


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor``, never down by more than 10 %
    (torchvision/models/_utils.py ``_make_divisible``)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


# MobileNetV3 uses batch norm with eps 0.001 and momentum 0.01 (not in the state dict, so kept here).
_mobilenet_norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)


class ConvNormActivation(nn.Sequential):
    """Conv2d (no bias), batch norm, then an activation if any: indices 0, 1, 2 as in torchvision's
    ``Conv2dNormActivation``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        stride: int = 1,
        groups: int = 1,
        activation: Callable[..., nn.Module] | None,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride,
                padding=(kernel_size - 1) // 2,
                groups=groups,
                bias=False,
            ),
            _mobilenet_norm(out_channels),
        ]
        if activation is not None:
            layers.append(activation(inplace=True))
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    """Channel attention: pool, 1x1 conv down, ReLU, 1x1 conv up, hard sigmoid, scale the input."""

    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.activation = nn.ReLU()
        self.scale_activation = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.fc2(self.activation(self.fc1(self.avgpool(x))))
        return self.scale_activation(scale) * x


class BlockSettings(NamedTuple):
    """One row of torchvision's ``InvertedResidualConfig`` table (width 1.0, no dilation)."""

    in_channels: int
    kernel: int
    expanded: int
    out_channels: int
    use_se: bool
    hard_swish: bool
    stride: int


class InvertedResidual(nn.Module):
    """Expand (1x1), depthwise (k x k), optional squeeze-excitation, project (1x1), as ``block``."""

    def __init__(self, settings: BlockSettings) -> None:
        super().__init__()
        c_in, kernel, expanded, c_out, use_se, hard_swish, stride = settings
        self.use_res_connect = stride == 1 and c_in == c_out
        activation = nn.Hardswish if hard_swish else nn.ReLU
        layers: list[nn.Module] = []
        if expanded != c_in:
            layers.append(ConvNormActivation(c_in, expanded, 1, activation=activation))
        layers.append(
            ConvNormActivation(
                expanded, expanded, kernel, stride=stride, groups=expanded, activation=activation
            )
        )
        if use_se:
            layers.append(SqueezeExcitation(expanded, make_divisible(expanded // 4)))
        layers.append(ConvNormActivation(expanded, c_out, 1, activation=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.block(x)
        if self.use_res_connect:
            result += x
        return result


# (input channels, kernel, expanded channels, output channels, squeeze-excitation, hard swish,
# stride): torchvision's ``_mobilenet_v3_conf("mobilenet_v3_small")`` at width 1.0.
MOBILENET_V3_SMALL_BLOCKS = tuple(
    BlockSettings(*row)
    for row in (
        (16, 3, 16, 16, True, False, 2),
        (16, 3, 72, 24, False, False, 2),
        (24, 3, 88, 24, False, False, 1),
        (24, 5, 96, 40, True, True, 2),
        (40, 5, 240, 40, True, True, 1),
        (40, 5, 240, 40, True, True, 1),
        (40, 5, 120, 48, True, True, 1),
        (48, 5, 144, 48, True, True, 1),
        (48, 5, 288, 96, True, True, 2),
        (96, 5, 576, 96, True, True, 1),
        (96, 5, 576, 96, True, True, 1),
    )
)
MOBILENET_V3_SMALL_LAST_CHANNEL = 1024


class MobileNetV3Small(Backbone):
    """torchvision's ``mobilenet_v3_small``: 11 inverted-residual blocks between a 3x3 stem and a
    1x1 convolution to 576 channels, then a 576 -> 1024 -> classes classifier."""

    def __init__(self, num_classes: int = IMAGENET_CLASSES, dropout: float = 0.2) -> None:
        super().__init__()
        last_block_channels = MOBILENET_V3_SMALL_BLOCKS[-1].out_channels
        features: list[nn.Module] = [
            ConvNormActivation(
                3, MOBILENET_V3_SMALL_BLOCKS[0].in_channels, 3, stride=2, activation=nn.Hardswish
            )
        ]
        features += [InvertedResidual(settings) for settings in MOBILENET_V3_SMALL_BLOCKS]
        features.append(
            ConvNormActivation(last_block_channels, 6 * last_block_channels, 1, activation=nn.Hardswish)
        )
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(6 * last_block_channels, MOBILENET_V3_SMALL_LAST_CHANNEL),
            nn.Hardswish(inplace=True),
            nn.Dropout(p=dropout, inplace=True),
            nn.Linear(MOBILENET_V3_SMALL_LAST_CHANNEL, num_classes),
        )
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0, 0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)

    def replace_head(self, num_classes: int, dropout: float) -> None:
        # The pretrained 576 -> 1024 layer stays (part of the backbone); the last layer is new.
        self.classifier[2] = nn.Dropout(p=dropout, inplace=True)
        self.classifier[3] = nn.Linear(MOBILENET_V3_SMALL_LAST_CHANNEL, num_classes)

    def head_parameters(self) -> Iterator[nn.Parameter]:
        return self.classifier[3].parameters()


# Building and loading ----------------------------------------------------------------------------


def imagenet_network(arch: str) -> Backbone:
    """The backbone with torchvision's 1000-class ImageNet classifier, randomly initialised."""
    if arch == "resnet18":
        return ResNet18()
    if arch == "mobilenet_v3_small":
        return MobileNetV3Small()
    raise ValueError(f"unknown backbone {arch!r}; expected one of {', '.join(BACKBONES)}")


def _is_optional(name: str) -> bool:
    # Batch norm's step counter: absent from some published files, and unused by the model (its
    # momentum is fixed), so a file without it still loads.
    return name.endswith(".num_batches_tracked")


def state_dict_problems(network: nn.Module, state: Mapping[str, object]) -> list[str]:
    """What keeps ``state`` from loading into ``network`` exactly (empty when it loads): missing
    and unexpected names, and tensors of another shape; at most ``SHOWN_MISMATCHES`` named each."""
    expected = network.state_dict()
    missing = [name for name in expected if name not in state and not _is_optional(name)]
    unexpected = [name for name in state if name not in expected]
    wrong_shape = [
        f"{name} {tuple(value.shape)} (expected {tuple(expected[name].shape)})"
        if isinstance(value, torch.Tensor)
        else f"{name} is a {type(value).__name__}, not a tensor"
        for name, value in state.items()
        if name in expected and (not isinstance(value, torch.Tensor) or value.shape != expected[name].shape)
    ]
    problems = []
    for what, names in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape)):
        if names:
            shown = "; ".join(names[:SHOWN_MISMATCHES])
            more = f" and {len(names) - SHOWN_MISMATCHES} more" if len(names) > SHOWN_MISMATCHES else ""
            problems.append(f"{len(names)} {what}: {shown}{more}")
    return problems


def load_imagenet_weights(network: Backbone, state: Mapping[str, torch.Tensor]) -> int:
    """Load a torchvision state dict into a backbone that still has its ImageNet classifier
    (``strict=True``); returns how many tensors were loaded. Raises ``ValueError`` naming the
    mismatches when the file is for another network."""
    problems = state_dict_problems(network, state)
    if problems:
        raise ValueError(
            f"the weights do not fit {type(network).__name__} (torchvision's layout): " + "; ".join(problems)
        )
    complete = dict(state)
    for name, value in network.state_dict().items():
        if _is_optional(name) and name not in complete:
            complete[name] = torch.zeros_like(value)
    network.load_state_dict(complete, strict=True)
    return len(state)


def build_backbone(
    arch: str, num_classes: int, *, dropout: float, weights: Mapping[str, torch.Tensor] | None = None
) -> Backbone:
    """A backbone for ``num_classes``: ImageNet ``weights`` loaded first when given, then a new head."""
    network = imagenet_network(arch)
    if weights is not None:
        load_imagenet_weights(network, weights)
    network.replace_head(num_classes, dropout)
    return network
