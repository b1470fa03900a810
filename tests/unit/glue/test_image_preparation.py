"""Per-object rules of the data-preparation job, without Spark."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from image_decoding import decode_image
from image_features import IMAGE_FEATURE_NAMES
from image_preparation import (
    ImageLimits,
    ImageRejected,
    PreparationSettings,
    assign_split,
    content_hash,
    object_record,
    prepare_batches,
    prepare_image,
)
from object_layout import parse_source_root
from PIL import Image

from mlops_local.synthetic_images import generate_dataset, make_image

LIMITS = ImageLimits()


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _reason_code(data: bytes, limits: ImageLimits = LIMITS) -> str:
    with pytest.raises(ImageRejected) as rejected:
        prepare_image(data, image_size=64, limits=limits)
    return rejected.value.code


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    dataset = generate_dataset(tmp_path_factory.mktemp("bad"), images_per_class=1, bad_files=True)
    return {bad.path.name: bad.path.read_bytes() for bad in dataset.bad_files}


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("empty.jpg", "empty_file"),
        ("notes.jpg", "unrecognised_format"),
        ("truncated.jpg", "truncated_or_corrupt"),
        ("bomb.png", "decompression_bomb"),
        ("tiny.png", "too_small"),
    ],
)
def test_bad_files_are_rejected_with_their_reason(bad_files: dict[str, bytes], name: str, code: str) -> None:
    assert _reason_code(bad_files[name]) == code


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("png-named.jpg", "PNG"), ("cmyk.jpg", "JPEG"), ("sixteen-bit.png", "PNG"), ("café.jpg", "JPEG")],
)
def test_awkward_valid_files_are_kept_by_content(bad_files: dict[str, bytes], name: str, fmt: str) -> None:
    prepared = prepare_image(bad_files[name], image_size=64, limits=LIMITS)

    assert prepared.format == fmt
    assert decode_image(prepared.png).size == (64, 64)


def test_sixteen_bit_images_are_rescaled_not_clipped_to_white(bad_files: dict[str, bytes]) -> None:
    prepared = prepare_image(bad_files["sixteen-bit.png"], image_size=64, limits=LIMITS)

    assert 0.05 < prepared.features["brightness"] < 0.9


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "WEBP"])
def test_every_allowed_format_is_accepted(fmt: str) -> None:
    prepared = prepare_image(_encode(make_image("dent"), fmt), image_size=48, limits=LIMITS)

    assert prepared.format == fmt
    assert Image.open(io.BytesIO(prepared.png)).size == (48, 48)


def test_formats_outside_the_allow_list_are_rejected() -> None:
    assert _reason_code(_encode(make_image("ok"), "GIF")) == "unsupported_format"


def test_modes_without_an_rgb_conversion_are_rejected() -> None:
    floats = Image.fromarray(np.random.default_rng(0).random((40, 40), dtype=np.float32))

    assert _reason_code(_encode(floats, "TIFF")) == "unsupported_mode"


def test_transparent_pixels_become_white() -> None:
    clear = Image.new("RGBA", (40, 40), (0, 0, 0, 0))

    prepared = prepare_image(_encode(clear, "PNG"), image_size=32, limits=LIMITS)

    assert np.asarray(Image.open(io.BytesIO(prepared.png))).min() == 255


def test_images_over_the_largest_side_are_rejected() -> None:
    wide = _encode(Image.new("L", (400, 40)), "PNG")

    assert _reason_code(wide, ImageLimits(max_side=300)) == "too_large"


def test_images_over_the_pixel_limit_are_bombs_even_below_pillow_limit() -> None:
    large = _encode(Image.new("L", (200, 200)), "PNG")

    assert _reason_code(large, ImageLimits(max_pixels=30_000)) == "decompression_bomb"


def test_prepared_image_keeps_original_size_hash_and_statistics() -> None:
    data = _encode(make_image("crack").resize((120, 90)), "JPEG")

    prepared = prepare_image(data, image_size=64, limits=LIMITS)

    assert (prepared.orig_width, prepared.orig_height) == (120, 90)
    assert prepared.sha256 == content_hash(data)
    assert prepared.pixels == 64 * 64
    assert all(0 < total < prepared.pixels for total in prepared.channel_sum)
    assert set(prepared.features) == set(IMAGE_FEATURE_NAMES)
    assert (prepared.features["width"], prepared.features["height"]) == (120, 90)


def test_split_depends_only_on_the_hash() -> None:
    digest = content_hash(b"some image")

    assert {assign_split(digest, val_fraction=0.2, test_fraction=0.1) for _ in range(3)} == {
        assign_split(digest, val_fraction=0.2, test_fraction=0.1)
    }


def test_split_fractions_are_respected_over_many_hashes() -> None:
    splits = [
        assign_split(content_hash(str(i).encode()), val_fraction=0.2, test_fraction=0.1) for i in range(5000)
    ]

    assert splits.count("test") / 5000 == pytest.approx(0.1, abs=0.02)
    assert splits.count("validation") / 5000 == pytest.approx(0.2, abs=0.02)


def test_split_fractions_must_leave_training_data() -> None:
    with pytest.raises(ValueError, match="training share"):
        assign_split(content_hash(b"x"), val_fraction=0.5, test_fraction=0.5)


def _settings(root: Path) -> PreparationSettings:
    return PreparationSettings(
        roots=(parse_source_root(str(root)),), image_size=32, val_fraction=0.1, test_fraction=0.1
    )


def test_object_record_of_a_valid_image(tmp_path: Path) -> None:
    data = _encode(make_image("scratch"), "PNG")

    record = object_record(f"file:{tmp_path}/line-a/scratch/c++.png", data, _settings(tmp_path))

    assert record["reason"] is None
    assert (record["key"], record["source"], record["label"]) == (
        f"{tmp_path}/line-a/scratch/c++.png",
        "line-a",
        "scratch",
    )
    assert record["split"] in {"train", "validation", "test"}


def test_object_record_of_a_misplaced_object_is_not_decoded(tmp_path: Path) -> None:
    record = object_record(f"file:{tmp_path}/loose.jpg", b"anything", _settings(tmp_path))

    assert record["reason"].startswith("unexpected_layout")
    assert record["image"] is None


def test_batches_map_one_row_per_object(tmp_path: Path) -> None:
    batch = pd.DataFrame(
        {
            "path": [f"file:{tmp_path}/a/ok/1.png", f"file:{tmp_path}/a/ok/2.jpg"],
            "content": [_encode(make_image("ok"), "PNG"), b"not an image"],
        }
    )

    (out,) = list(prepare_batches(iter([batch]), _settings(tmp_path)))

    assert list(out["reason"].isna()) == [True, False]
    assert out.loc[1, "reason"].startswith("unrecognised_format")


def test_batches_carry_each_objects_modification_time(tmp_path: Path) -> None:
    batch = pd.DataFrame(
        {
            "path": [f"file:{tmp_path}/a/ok/1.png", f"file:{tmp_path}/loose.jpg"],
            "content": [_encode(make_image("ok"), "PNG"), b"x"],
            "modified": [1_767_225_600, 1_767_225_601],
        }
    )

    (out,) = list(prepare_batches(iter([batch]), _settings(tmp_path)))

    # Quarantined or not, the driver needs it to count the object as new or previously covered.
    assert list(out["modified"]) == [1_767_225_600, 1_767_225_601]
