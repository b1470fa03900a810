"""Features of images and predictions shared by the dataset, the evaluation and the endpoint."""

import numpy as np
import pytest
from image_features import FEATURE_NAMES, image_features, prediction_features
from PIL import Image


def test_feature_names_list_image_then_prediction_features_in_order():
    assert FEATURE_NAMES == (
        "brightness", "contrast", "sharpness", "red_ratio", "green_ratio", "blue_ratio",
        "width", "height", "predicted_class", "top_confidence", "margin",
    )  # fmt: skip


def test_uniform_grey_image_has_mid_brightness_and_no_contrast_or_sharpness():
    features = image_features(Image.new("RGB", (40, 30), (128, 128, 128)))

    assert features["brightness"] == pytest.approx(128 / 255)
    assert features["contrast"] == pytest.approx(0.0)
    assert features["sharpness"] == pytest.approx(0.0)
    assert features["red_ratio"] == pytest.approx(1 / 3)
    assert (features["width"], features["height"]) == (40, 30)


def test_black_image_has_equal_colour_ratios():
    features = image_features(Image.new("RGB", (8, 8), (0, 0, 0)))

    assert features["brightness"] == 0.0
    assert features["blue_ratio"] == pytest.approx(1 / 3)


def test_colour_ratios_follow_channel_means():
    features = image_features(Image.new("RGB", (8, 8), (200, 100, 0)))

    assert features["red_ratio"] == pytest.approx(2 / 3)
    assert features["green_ratio"] == pytest.approx(1 / 3)
    assert features["blue_ratio"] == pytest.approx(0.0)


def test_checkerboard_has_full_contrast_and_is_sharper_than_its_blurred_copy():
    board = (np.indices((32, 32)).sum(axis=0) % 2 * 255).astype(np.uint8)
    sharp = Image.fromarray(board).convert("RGB")
    blurred = sharp.resize((8, 8), Image.Resampling.BILINEAR).resize((32, 32), Image.Resampling.BILINEAR)

    features = image_features(sharp)

    assert features["contrast"] == pytest.approx(0.5)
    assert features["sharpness"] > image_features(blurred)["sharpness"]


def test_any_mode_is_converted_to_rgb_first():
    grey = image_features(Image.new("L", (10, 10), 255))
    rgba = image_features(Image.new("RGBA", (10, 10), (255, 255, 255, 0)))

    assert grey["brightness"] == pytest.approx(1.0)
    assert rgba["brightness"] == pytest.approx(1.0)


def test_tiny_image_has_zero_sharpness():
    assert image_features(Image.new("RGB", (2, 1), (9, 9, 9)))["sharpness"] == 0.0


def test_received_size_overrides_the_reported_size():
    features = image_features(Image.new("RGB", (64, 64)), received_size=(640, 480))

    assert (features["width"], features["height"]) == (640, 480)


def test_prediction_features_of_a_probability_vector():
    features = prediction_features([0.1, 0.7, 0.2], ["crack", "dent", "ok"])

    assert features == {
        "predicted_class": 1,
        "top_confidence": pytest.approx(0.7),
        "margin": pytest.approx(0.5),
    }


def test_single_class_prediction_has_full_margin():
    assert prediction_features([1.0], ["ok"])["margin"] == 1.0


def test_probabilities_must_match_labels():
    with pytest.raises(ValueError, match="one per label"):
        prediction_features([0.5, 0.5], ["a", "b", "c"])
