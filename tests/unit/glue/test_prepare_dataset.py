"""The data-preparation job: arguments, rules on metadata, and the Spark plan on generated data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from image_decoding import decode_image
from image_features import IMAGE_FEATURE_NAMES
from PIL import Image
from prepare_dataset import (
    AccountingError,
    DatasetError,
    DatasetResult,
    JobConfig,
    account,
    parse_arguments,
    prepare_dataset,
)
from pyspark.sql import SparkSession

from mlops_local.synthetic_images import GeneratedDataset, generate_dataset

# pyspark 3.5 still compares versions with distutils.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pyspark.*")
REPO = Path(__file__).resolve().parents[3]
SPLITS = ("train", "validation", "test")


# --- arguments and metadata rules (no Spark) --------------------------------------------------------


def test_arguments_have_defaults_and_ignore_glue_extras() -> None:
    config = parse_arguments(
        ["prepare_dataset.py", "--JOB_NAME", "j", "--source_paths", "s3://b/incoming/", "--output_path",
         "s3://b/datasets", "--dataset_version", "manual-1", "--job-bookmark-option", "job-bookmark-disable"]
    )  # fmt: skip

    assert config == JobConfig("s3://b/incoming/", "s3://b/datasets", "manual-1")
    assert (config.image_size, config.normal_class, config.dataset_uri) == (
        64,
        "ok",
        "s3://b/datasets/manual-1",
    )


def test_arguments_are_converted_to_their_types() -> None:
    config = parse_arguments(
        ["x", "--source_paths", "a", "--output_path", "b", "--dataset_version", "v", "--image_size", "32",
         "--val_fraction", "0.2", "--test_fraction", "0.1", "--min_images_per_class", "3",
         "--normal_class", "good"]
    )  # fmt: skip

    assert (config.image_size, config.val_fraction, config.test_fraction) == (32, 0.2, 0.1)
    assert (config.min_images_per_class, config.normal_class) == (3, "good")


def test_glue_resolver_is_asked_only_for_arguments_given() -> None:
    asked: list[str] = []

    def resolver(argv: list[str], names: list[str]) -> dict[str, str]:
        asked.extend(names)
        return {name: argv[argv.index(f"--{name}") + 1] for name in names}

    argv = ["x", "--source_paths", "a", "--output_path", "b", "--dataset_version", "v", "--image_size", "96"]
    config = parse_arguments(argv, resolver)

    assert asked == ["source_paths", "output_path", "dataset_version", "image_size"]
    assert config.image_size == 96


def test_bad_fractions_are_refused() -> None:
    with pytest.raises(ValueError, match="fraction"):
        JobConfig("a", "b", "v", val_fraction=0.6, test_fraction=0.5)


def test_accounting_finds_an_object_in_two_outputs() -> None:
    kept = [{"location": "/a"}]
    with pytest.raises(AccountingError, match="more than one"):
        account(["/a"], kept, [{"location": "/a"}], [])


def test_accounting_finds_an_object_in_no_output() -> None:
    with pytest.raises(AccountingError, match="in none"):
        account(["/a", "/b"], [{"location": "/a"}], [], [])


# --- the Spark plan ---------------------------------------------------------------------------------


def _run(
    spark: SparkSession, source: Path, output: Path, version: str = "v1", **options: object
) -> DatasetResult:
    config = JobConfig(str(source), str(output), version, image_size=32, min_images_per_class=5, **options)  # type: ignore[arg-type]
    return prepare_dataset(spark, config)


@pytest.fixture(scope="module")
def awkward(tmp_path_factory: pytest.TempPathFactory) -> tuple[GeneratedDataset, dict[str, Path]]:
    """Generated images with every bad-input case, duplicates and misplaced objects."""
    root = tmp_path_factory.mktemp("incoming")
    dataset = generate_dataset(
        root, images_per_class=8, sources=("line-a", "line-b"), bad_files=True, duplicates=3
    )
    sample = dataset.images["dent"][0]
    extras = {
        "too deep": root / "line-a" / "dent" / "extra" / "deep.jpg",
        "no label": root / "line-b" / "loose.jpg",
        "top level": root / "top.jpg",
        "hidden": root / "line-a" / "dent" / ".hidden.jpg",
        "underscore": root / "line-a" / "_staging" / "x.jpg",
    }
    for path in extras.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sample, path)
    return dataset, extras


@pytest.fixture(scope="module")
def awkward_run(
    spark: SparkSession,
    awkward: tuple[GeneratedDataset, dict[str, Path]],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[DatasetResult, Path]:
    output = tmp_path_factory.mktemp("datasets")
    return _run(spark, awkward[0].root, output), output / "v1"


def _all_files(root: Path) -> set[str]:
    return {str(path) for path in root.rglob("*") if path.is_file()}


@pytest.mark.slow
def test_every_object_is_in_exactly_one_output(awkward, awkward_run) -> None:
    dataset, _ = awkward
    result, _ = awkward_run
    kept = [row["key"] for row in result.manifest["objects"]]
    duplicates = [row["key"] for row in result.duplicates]
    quarantined = [row["key"] for row in result.quarantine]

    assert sorted(kept + duplicates + quarantined) == sorted(_all_files(dataset.root))
    assert result.stats["accounting"] == {
        "uploaded": len(_all_files(dataset.root)),
        "kept": len(kept),
        "duplicates": len(duplicates),
        "quarantined": len(quarantined),
        "balanced": True,
    }


@pytest.mark.slow
def test_bad_files_are_quarantined_with_their_reason(awkward, awkward_run) -> None:
    dataset, _ = awkward
    result, _ = awkward_run
    reasons = {row["key"]: row["reason"].split(":")[0] for row in result.quarantine}
    expected = {
        "empty.jpg": "empty_file",
        "notes.jpg": "unrecognised_format",
        "truncated.jpg": "truncated_or_corrupt",
        "bomb.png": "decompression_bomb",
        "tiny.png": "too_small",
    }

    for bad in dataset.bad_files:
        if bad.expected == "quarantine":
            assert reasons[str(bad.path)] == expected[bad.path.name], bad.reason
            assert {"key", "source", "reason"} == set(
                next(r for r in result.quarantine if r["key"] == str(bad.path))
            )


@pytest.mark.slow
def test_awkward_valid_files_and_names_are_kept_under_their_exact_key(awkward, awkward_run) -> None:
    dataset, _ = awkward
    result, _ = awkward_run
    kept = {row["key"]: row for row in result.manifest["objects"]}

    for bad in dataset.bad_files:
        if bad.expected == "keep":
            assert str(bad.path) in kept, bad.reason
            assert kept[str(bad.path)]["source"] == "line-a"
    assert any(key.endswith("/x%2By.jpg") for key in kept)
    assert any(key.endswith("/café.jpg") for key in kept)


@pytest.mark.slow
def test_misplaced_and_hidden_objects_are_quarantined_not_dropped(awkward, awkward_run) -> None:
    _, extras = awkward
    result, _ = awkward_run
    reasons = {row["key"]: row["reason"].split(":")[0] for row in result.quarantine}

    assert reasons[str(extras["too deep"])] == "unexpected_layout"
    assert reasons[str(extras["no label"])] == "unexpected_layout"
    assert reasons[str(extras["top level"])] == "unexpected_layout"
    assert reasons[str(extras["hidden"])] == "hidden_name"
    assert reasons[str(extras["underscore"])] == "hidden_name"


@pytest.mark.slow
def test_duplicates_name_the_smallest_key_as_kept(awkward, awkward_run) -> None:
    dataset, _ = awkward
    result, _ = awkward_run
    kept_keys = {row["key"] for row in result.manifest["objects"]}
    recorded = {row["key"]: row for row in result.duplicates}

    assert len(recorded) == len(dataset.duplicates)
    for copy, original in dataset.duplicates:
        kept, dropped = sorted([str(copy), str(original)])
        assert recorded[dropped]["kept_key"] == kept
        assert kept in kept_keys


@pytest.mark.slow
def test_parquet_shards_follow_the_contract(awkward_run) -> None:
    result, folder = awkward_run
    expected = pa.schema(
        [("key", pa.string()), ("source", pa.string()), ("label", pa.string()), ("split", pa.string()),
         ("sha256", pa.string()), ("image", pa.binary()), ("orig_width", pa.int32()),
         ("orig_height", pa.int32()), ("format", pa.string())]
    )  # fmt: skip
    by_key = {row["key"]: row for row in result.manifest["objects"]}

    for split in SPLITS:
        shards = sorted((folder / split).glob("part-*.parquet"))
        table = pa.concat_tables([pq.read_table(shard) for shard in shards])
        assert table.schema.remove_metadata() == expected
        assert table.num_rows == result.stats["splits"][split]
        for row in table.to_pylist():
            assert row["split"] == split
            assert by_key[row["key"]]["sha256"] == row["sha256"]
            image = decode_image(row["image"])
            assert (image.size, image.mode) == ((32, 32), "RGB")


@pytest.mark.slow
def test_written_documents_match_the_result(awkward_run) -> None:
    result, folder = awkward_run

    assert json.loads((folder / "stats.json").read_text()) == result.stats
    assert json.loads((folder / "manifest.json").read_text()) == result.manifest
    quarantine = [json.loads(line) for line in (folder / "quarantine.jsonl").read_text().splitlines()]
    duplicates = [json.loads(line) for line in (folder / "duplicates.jsonl").read_text().splitlines()]
    assert (quarantine, duplicates) == (result.quarantine, result.duplicates)
    assert all(set(row) == {"key", "source", "sha256", "kept_key"} for row in duplicates)


@pytest.mark.slow
def test_stats_count_classes_and_describe_the_images(awkward_run) -> None:
    result, _ = awkward_run
    stats = result.stats

    assert stats["labels"] == ["crack", "dent", "ok", "scratch"] == result.manifest["labels"]
    assert sum(sum(counts.values()) for counts in stats["classes"].values()) == stats["accounting"]["kept"]
    assert sum(stats["splits"].values()) == stats["accounting"]["kept"]
    assert all(0.1 < mean < 0.9 for mean in stats["channel_mean"])
    assert all(0.01 < std < 0.5 for std in stats["channel_std"])
    assert set(stats["feature_baseline"]) == set(IMAGE_FEATURE_NAMES)
    brightness = stats["feature_baseline"]["brightness"]
    assert brightness["min"] <= brightness["mean"] <= brightness["max"]


@pytest.mark.slow
def test_old_images_keep_their_split_when_images_are_added(spark: SparkSession, tmp_path: Path) -> None:
    generate_dataset(tmp_path / "in", images_per_class=10, classes=("ok", "scratch"))
    before = _run(spark, tmp_path / "in", tmp_path / "out", "v1")
    generate_dataset(
        tmp_path / "in", images_per_class=25, classes=("ok", "scratch")
    )  # the first 10 are unchanged
    after = _run(spark, tmp_path / "in", tmp_path / "out", "v2")

    old = {row["key"]: row["split"] for row in before.manifest["objects"]}
    new = {row["key"]: row["split"] for row in after.manifest["objects"]}
    assert len(new) == 50
    assert {key: new[key] for key in old} == old


@pytest.mark.slow
def test_a_class_below_the_minimum_fails_the_job(spark: SparkSession, tmp_path: Path) -> None:
    dataset = generate_dataset(tmp_path / "in", images_per_class=6, classes=("ok", "crack"))
    for path in dataset.images["crack"][:3]:
        path.write_bytes(b"")  # quarantined: 3 usable cracks left

    with pytest.raises(DatasetError, match=r"fewer than 5 usable images.*crack: 3"):
        _run(spark, tmp_path / "in", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_no_label_folder_fails_the_job(spark: SparkSession, tmp_path: Path) -> None:
    image = tmp_path / "in" / "line-a" / "photo.jpg"
    image.parent.mkdir(parents=True)
    Image.new("RGB", (64, 64)).save(image)

    with pytest.raises(DatasetError, match="no label folder"):
        _run(spark, tmp_path / "in", tmp_path / "out")


@pytest.mark.slow
def test_output_under_a_source_path_is_refused(spark: SparkSession, tmp_path: Path) -> None:
    generate_dataset(tmp_path / "in", images_per_class=5, classes=("ok",))

    with pytest.raises(ValueError, match="under a source path"):
        _run(spark, tmp_path / "in", tmp_path / "in" / "datasets")


@pytest.mark.slow
def test_script_runs_locally_with_glue_style_arguments(tmp_path: Path) -> None:
    generate_dataset(tmp_path / "in", images_per_class=5, classes=("ok", "dent"))
    env = {key: value for key, value in os.environ.items() if key != "PYSPARK_PYTHON"}

    completed = subprocess.run(
        [sys.executable, str(REPO / "glue" / "prepare_dataset.py"), "--JOB_NAME", "prepare",
         "--source_paths", str(tmp_path / "in"), "--output_path", str(tmp_path / "out"),
         "--dataset_version", "manual-1", "--min_images_per_class", "2", "--image_size", "32"],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip

    assert completed.returncode == 0, completed.stderr[-3000:]
    stats = json.loads((tmp_path / "out" / "manual-1" / "stats.json").read_text())
    assert stats["accounting"]["kept"] == 10
