"""The networks and their input preparation."""

import numpy as np
import pytest
import torch
from defect_model import (
    ARCHITECTURES,
    SmallCNN,
    build_model,
    local_mean,
    normalisation_for,
    predict_probabilities,
)


@pytest.mark.parametrize("kernel", [3, 15])
def test_local_mean_equals_average_pooling_that_ignores_padding(kernel):
    images = torch.rand(2, 3, 20, 17)
    expected = torch.nn.functional.avg_pool2d(
        images, kernel, stride=1, padding=kernel // 2, count_include_pad=False
    )

    assert torch.allclose(local_mean(images, kernel), expected, atol=1e-6)


def test_small_cnn_ignores_a_uniform_brightness_offset():
    """The high-pass input makes a constant added to the whole image invisible to the network."""
    network = SmallCNN(4).eval()
    images = torch.rand(2, 3, 64, 64)

    with torch.no_grad():
        assert torch.allclose(network(images), network(images + 0.3), atol=1e-5)


def test_predict_probabilities_gives_one_distribution_per_image():
    network = build_model("small_cnn", 3)
    images = np.random.default_rng(0).integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)

    probabilities = predict_probabilities(network, images, [0.5] * 3, [0.2] * 3, batch_size=2)

    assert probabilities.shape == (5, 3)
    assert np.allclose(probabilities.sum(axis=1), 1.0)


@pytest.mark.parametrize("arch", ["resnet18", "mobilenet_v3_small"])
def test_backbones_use_imagenet_normalisation(arch):
    mean, std = normalisation_for(arch, [0.1] * 3, [0.1] * 3)

    assert mean == pytest.approx([0.485, 0.456, 0.406])
    assert std == pytest.approx([0.229, 0.224, 0.225])


def test_unknown_architecture_is_refused():
    with pytest.raises(ValueError, match="unknown model"):
        build_model("vgg", 2)


def test_small_cnn_takes_no_pretrained_weights():
    with pytest.raises(ValueError, match="no pretrained weights"):
        build_model("small_cnn", 2, weights={})


def test_the_architectures_are_the_small_cnn_and_the_backbones():
    assert ARCHITECTURES == ("small_cnn", "resnet18", "mobilenet_v3_small")
