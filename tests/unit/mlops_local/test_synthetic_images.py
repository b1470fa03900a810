"""The synthetic dataset generator: layout, determinism, awkward files, learnability."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mlops_local.synthetic_images import (
    dataset_rows,
    generate_dataset,
    make_image,
    write_dataset_shard,
    write_training_shards,
)

CLASSES = ("ok", "scratch", "dent", "crack")


def _open_fully(path: Path) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(path.read_bytes()))
        image.load()
    return image


def test_writes_source_label_file_layout(tmp_path: Path) -> None:
    dataset = generate_dataset(tmp_path, images_per_class=3, sources=("line-a", "line-b"))

    relative = {path.relative_to(tmp_path).parts[:2] for path in dataset.all_files}
    assert relative == {(source, label) for source in ("line-a", "line-b") for label in CLASSES}
    assert all(len(path.relative_to(tmp_path).parts) == 3 for path in dataset.all_files)
    assert {label: len(paths) for label, paths in dataset.images.items()} == dict.fromkeys(CLASSES, 3)


def test_every_valid_image_decodes_at_the_requested_size(tmp_path: Path) -> None:
    dataset = generate_dataset(tmp_path, images_per_class=4, image_size=80)

    for paths in dataset.images.values():
        for path in paths:
            image = _open_fully(path)
            assert image.size == (80, 80)
            assert image.mode == "RGB"
            assert image.format in {"JPEG", "PNG"}


def test_same_seed_writes_identical_bytes(tmp_path: Path) -> None:
    first = generate_dataset(tmp_path / "a", images_per_class=3, bad_files=True, duplicates=2)
    second = generate_dataset(tmp_path / "b", images_per_class=3, bad_files=True, duplicates=2)

    for one, two in zip(first.all_files, second.all_files, strict=True):
        assert one.relative_to(tmp_path / "a") == two.relative_to(tmp_path / "b")
        assert one.read_bytes() == two.read_bytes()


def test_other_seed_writes_other_images(tmp_path: Path) -> None:
    first = generate_dataset(tmp_path / "a", images_per_class=2, seed=1)
    second = generate_dataset(tmp_path / "b", images_per_class=2, seed=2)

    assert first.images["ok"][0].read_bytes() != second.images["ok"][0].read_bytes()


def test_more_images_per_class_keeps_the_earlier_images(tmp_path: Path) -> None:
    small = generate_dataset(tmp_path / "small", images_per_class=2)
    large = generate_dataset(tmp_path / "large", images_per_class=5, classes=("crack", "ok"))

    assert small.images["crack"][1].read_bytes() == large.images["crack"][1].read_bytes()


def test_images_vary_within_a_class() -> None:
    pixels = [np.asarray(make_image("ok", seed=seed), dtype=np.float32) for seed in range(6)]

    assert len({round(float(p.mean()), 1) for p in pixels}) > 1
    assert all(float(np.abs(pixels[0] - other).mean()) > 3 for other in pixels[1:])


def test_each_defect_changes_the_part() -> None:
    clean = np.asarray(make_image("ok", seed=3), dtype=np.float32)

    for defect in ("scratch", "dent", "crack"):
        damaged = np.asarray(make_image(defect, seed=3), dtype=np.float32)
        # Same seed, same part and lighting: the defect is the only difference that matters.
        assert float(np.abs(damaged - clean).max()) > 60, defect


def test_duplicates_are_byte_identical_copies(tmp_path: Path) -> None:
    dataset = generate_dataset(tmp_path, images_per_class=3, duplicates=4)

    assert len(dataset.duplicates) == 4
    for copy, original in dataset.duplicates:
        assert copy != original
        assert copy.read_bytes() == original.read_bytes()


def test_unknown_class_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown classes"):
        generate_dataset(tmp_path, images_per_class=1, classes=("ok", "rust"))


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    dataset = generate_dataset(tmp_path_factory.mktemp("bad"), images_per_class=1, bad_files=True)
    return {bad.path.name: bad.path for bad in dataset.bad_files}


def test_bad_files_cover_the_contract(bad_files: dict[str, Path]) -> None:
    assert set(bad_files) == {
        "empty.jpg",
        "notes.jpg",
        "png-named.jpg",
        "truncated.jpg",
        "bomb.png",
        "tiny.png",
        "cmyk.jpg",
        "sixteen-bit.png",
        "a b.jpg",
        "c++.jpg",
        "café.jpg",
        "x%2By.jpg",
    }


def test_zero_byte_and_text_files_are_not_images(bad_files: dict[str, Path]) -> None:
    assert bad_files["empty.jpg"].stat().st_size == 0
    with pytest.raises(Image.UnidentifiedImageError):
        _open_fully(bad_files["notes.jpg"])


def test_truncated_jpeg_fails_only_when_decoded(bad_files: dict[str, Path]) -> None:
    with Image.open(bad_files["truncated.jpg"]) as image:
        image.verify()  # the header alone looks fine
    with pytest.raises(OSError, match="truncated"):
        _open_fully(bad_files["truncated.jpg"])


def test_bomb_only_warns_unless_warnings_are_errors(bad_files: dict[str, Path]) -> None:
    with pytest.warns(Image.DecompressionBombWarning), Image.open(bad_files["bomb.png"]) as image:
        assert image.size == (12_000, 12_000)
    with pytest.raises(Image.DecompressionBombWarning):
        _open_fully(bad_files["bomb.png"])


def test_awkward_but_valid_images_decode(bad_files: dict[str, Path]) -> None:
    assert _open_fully(bad_files["png-named.jpg"]).format == "PNG"
    assert _open_fully(bad_files["cmyk.jpg"]).mode == "CMYK"
    assert _open_fully(bad_files["sixteen-bit.png"]).mode.startswith("I")
    assert _open_fully(bad_files["tiny.png"]).size == (12, 12)
    for name in ("a b.jpg", "c++.jpg", "café.jpg", "x%2By.jpg"):
        assert _open_fully(bad_files[name]).format == "JPEG"


def test_dataset_rows_follow_the_dataset_contract(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    generated = generate_dataset(tmp_path / "raw", images_per_class=2, image_size=48)

    rows = dataset_rows(generated, image_size=32, split="train")
    folder = write_dataset_shard(tmp_path / "train", rows["train"])

    table = pq.read_table(folder / "part-00000.parquet")
    assert table.schema.names == [
        "key", "source", "label", "split", "sha256", "image", "orig_width", "orig_height", "format",
    ]  # fmt: skip
    assert table.num_rows == 8
    by_key = {row["key"]: row for row in table.to_pylist()}
    row = by_key[generated.images["ok"][0].relative_to(tmp_path / "raw").as_posix()]
    assert (row["source"], row["label"], row["split"]) == ("line-a", "ok", "train")
    assert (row["orig_width"], row["orig_height"]) == (48, 48)
    assert Image.open(io.BytesIO(row["image"])).size == (32, 32)


def test_training_shards_split_every_photo_once_by_its_key(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    folders = write_training_shards(tmp_path, images_per_class=10, image_size=32)

    keys = []
    for split, folder in folders.items():
        rows = pq.read_table(folder / "part-00000.parquet").to_pylist()
        assert {row["split"] for row in rows} <= {split}
        keys += [row["key"] for row in rows]
    assert sorted(folders) == ["test", "train", "validation"]
    assert len(keys) == len(set(keys)) == 40


# That the classes are learnable (accuracy and every recall >= 0.95 on photos the model has not
# seen) is tested through the real training code, on the default synthetic dataset, by
# test_default_hyperparameters_meet_the_bar_on_the_default_synthetic_dataset (tests/unit/training).
