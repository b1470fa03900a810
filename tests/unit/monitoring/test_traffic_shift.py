"""Shifted traffic for the drift demo, the tests and the benchmark."""

from collections import Counter

import pytest
from image_features import image_features
from PIL import Image
from traffic_shift import DEFECT_OUTBREAK, blurred, darker, new_camera, sample_traffic


@pytest.fixture(scope="module")
def photo(photo_pools):
    _, traffic = photo_pools
    return traffic["ok"][0]


def test_darker_lowers_brightness(photo):
    assert image_features(darker(photo))["brightness"] < 0.7 * image_features(photo)["brightness"]


def test_blurred_lowers_sharpness(photo):
    assert image_features(blurred(photo))["sharpness"] < 0.5 * image_features(photo)["sharpness"]


def test_new_camera_casts_colour_and_changes_resolution(photo):
    shifted = new_camera(photo)

    assert shifted.size == (128, 128)
    assert image_features(shifted)["red_ratio"] > image_features(photo)["red_ratio"]
    assert image_features(shifted)["blue_ratio"] < image_features(photo)["blue_ratio"]


def test_shifts_accept_any_mode():
    grey = Image.new("L", (16, 16), 128)

    assert darker(grey).mode == "RGB"
    assert new_camera(grey, size=(8, 8)).size == (8, 8)


def test_uniform_mix_by_default():
    pool = {"a": [1], "b": [2]}

    counts = Counter(label for label, _ in sample_traffic(pool, 2000, seed=3))

    assert 900 < counts["a"] < 1100


def test_defect_outbreak_makes_scratches_the_majority():
    pool = {label: [label] for label in ("crack", "dent", "ok", "scratch")}

    counts = Counter(label for label, _ in sample_traffic(pool, 1000, weights=DEFECT_OUTBREAK, seed=3))

    assert counts["scratch"] > 600
    assert all(counts[label] < 150 for label in ("crack", "dent", "ok"))


def test_sampling_is_deterministic_for_a_seed():
    pool = {"a": [1, 2, 3], "b": [4, 5]}

    assert sample_traffic(pool, 20, seed=9) == sample_traffic(pool, 20, seed=9)


def test_items_come_from_their_own_label():
    pool = {"a": ["a1", "a2"], "b": ["b1"]}

    assert all(item.startswith(label) for label, item in sample_traffic(pool, 50, seed=1))


def test_mix_naming_unknown_labels_is_refused():
    with pytest.raises(ValueError, match="unknown"):
        sample_traffic({"a": [1]}, 5, weights={"a": 1.0, "unknown": 1.0})


def test_empty_pool_is_refused():
    with pytest.raises(ValueError, match="no items"):
        sample_traffic({"a": []}, 5)
