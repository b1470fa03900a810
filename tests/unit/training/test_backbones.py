"""The backbones in plain torch: they run, take torchvision-named weights, and refuse other ones."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from backbones import (
    BACKBONES,
    WEIGHTS_FILES,
    build_backbone,
    imagenet_network,
    load_imagenet_weights,
    make_divisible,
    state_dict_problems,
)

HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None


@pytest.mark.parametrize("arch", BACKBONES)
def test_each_backbone_trains_on_a_small_batch(arch):
    torch.manual_seed(0)
    network = build_backbone(arch, 4, dropout=0.2).train()
    images = torch.rand(4, 3, 64, 64)

    loss = torch.nn.functional.cross_entropy(network(images), torch.tensor([0, 1, 2, 3]))
    loss.backward()

    assert network(images).shape == (4, 4)
    assert torch.isfinite(loss)
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in network.parameters())


@pytest.mark.parametrize("arch", BACKBONES)
def test_weights_load_before_the_head_is_replaced(arch):
    """A state dict of the ImageNet network (random here, torchvision's file in a job) ends up in
    every backbone tensor; only the new head is fresh."""
    torch.manual_seed(1)
    published = imagenet_network(arch).state_dict()

    network = build_backbone(arch, 3, dropout=0.1, weights=published)

    head = {id(p) for p in network.head_parameters()}
    loaded = network.state_dict()
    kept = [name for name, p in network.named_parameters() if id(p) not in head]
    assert kept
    for name in kept:
        assert torch.equal(loaded[name], published[name]), name
    for name in (n for n in loaded if n.endswith(("running_mean", "running_var"))):
        assert torch.equal(loaded[name], published[name]), name
    assert [next(iter(p.shape)) for p in network.head_parameters()] == [3, 3]


@pytest.mark.parametrize("arch", BACKBONES)
def test_a_file_without_batch_norm_step_counters_still_loads(arch):
    published = {k: v for k, v in imagenet_network(arch).state_dict().items() if "num_batches" not in k}

    assert load_imagenet_weights(imagenet_network(arch), published) == len(published)


def test_weights_of_the_other_backbone_are_refused_with_the_mismatches_named():
    resnet_weights = imagenet_network("resnet18").state_dict()

    with pytest.raises(ValueError, match=r"missing: features\.0\.0\.weight.*and \d+ more") as error:
        load_imagenet_weights(imagenet_network("mobilenet_v3_small"), resnet_weights)

    assert "unexpected: conv1.weight" in str(error.value)


def test_a_tensor_of_the_wrong_shape_is_named():
    weights = imagenet_network("resnet18").state_dict()
    weights["fc.weight"] = torch.zeros(10, 512)

    problems = state_dict_problems(imagenet_network("resnet18"), weights)

    assert problems == ["1 wrong shape: fc.weight (10, 512) (expected (1000, 512))"]


def test_squeeze_channels_follow_torchvisions_rounding():
    assert [make_divisible(c // 4) for c in (16, 96, 120, 144, 240, 288, 576)] == [8, 24, 32, 40, 64, 72, 144]


def test_weights_files_are_named_after_their_backbone():
    assert set(WEIGHTS_FILES) == set(BACKBONES)
    assert all(name.startswith(f"{arch}-") for arch, name in WEIGHTS_FILES.items())


@pytest.mark.skipif(not HAS_TORCHVISION, reason="torchvision is not installed (the project does not need it)")
@pytest.mark.parametrize("arch", BACKBONES)
def test_names_shapes_and_outputs_equal_torchvisions(arch):
    from torchvision import models

    theirs = getattr(models, arch)(weights=None).eval()
    ours = imagenet_network(arch).eval()

    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }
    ours.load_state_dict(theirs.state_dict(), strict=True)
    images = torch.rand(2, 3, 96, 96)
    with torch.no_grad():
        assert torch.allclose(ours(images), theirs(images), atol=1e-5)
