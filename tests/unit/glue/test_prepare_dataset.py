"""The data-preparation job: arguments, rules on metadata, and the Spark plan on generated data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from image_decoding import decode_image
from image_features import IMAGE_FEATURE_NAMES
from image_preparation import ImageLimits, prepare_image
from moto import mock_aws
from object_layout import parse_source_roots
from PIL import Image
from prepare_dataset import (
    AccountingError,
    DatasetError,
    DatasetResult,
    JobConfig,
    UploadWindow,
    account,
    channel_sums,
    check_usable,
    feature_baseline,
    labels_to_exclude,
    list_source_objects,
    parse_arguments,
    prepare_dataset,
    rank_copies,
    upload_counts,
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


def test_snapshot_bounds_pass_through_glue_like_the_other_options() -> None:
    asked: list[str] = []

    def resolver(argv: list[str], names: list[str]) -> dict[str, str]:
        asked.extend(names)
        return {name: argv[argv.index(f"--{name}") + 1] for name in names}

    argv = ["x", "--source_paths", "a", "--output_path", "b", "--dataset_version", "v",
            "--uploads_since", "2026-01-01T00:00:00Z",
            "--uploads_until", "2026-01-01T06:30:00+02:00"]  # fmt: skip
    on_glue = parse_arguments(argv, resolver)
    local = parse_arguments(argv)

    assert asked == ["source_paths", "output_path", "dataset_version", "uploads_since", "uploads_until"]
    assert on_glue == local
    assert on_glue.upload_window.describe() == {
        "since": "2026-01-01T00:00:00Z",
        "until": "2026-01-01T04:30:00Z",
    }
    # Absent: no bound, today's behaviour.
    assert parse_arguments(argv[:7]).upload_window == UploadWindow(None, None)


def test_a_timestamp_without_offset_is_utc() -> None:
    window = JobConfig("a", "b", "v", uploads_until="2026-01-01T00:00:00").upload_window

    assert window.until == datetime(2026, 1, 1, tzinfo=UTC)
    assert window.until_second == 1_767_225_600


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        ("", "yesterday", "not an ISO-8601 timestamp"),
        ("2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z", "later than"),
    ],
)
def test_bad_snapshot_bounds_are_refused(since: str, until: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        JobConfig("a", "b", "v", uploads_since=since, uploads_until=until)


def test_snapshot_bounds_compare_whole_seconds_and_split_runs_cleanly() -> None:
    first = UploadWindow(until=datetime(2026, 1, 1, 0, 0, 0, 900_000, tzinfo=UTC))
    follow_up = UploadWindow(since=first.until, until=datetime(2026, 1, 1, 1, tzinfo=UTC))
    t0 = 1_767_225_600
    times = [t0 - 5, t0, t0 + 1, t0 + 3600, t0 + 3601]

    # S3's LastModified has whole seconds: an object at t0 is in the run that ends at t0.9.
    assert [first.includes(t) for t in times] == [True, True, False, False, False]
    assert [follow_up.includes(t) and follow_up.is_new(t) for t in times] == [False, False, True, True, False]
    first_counts = upload_counts(first, [t for t in times if first.includes(t)], after_snapshot=3)
    assert first_counts == {"since": None, "until": "2026-01-01T00:00:00.900000Z", "new": 2,
                            "previously_covered": 0, "after_snapshot": 3}  # fmt: skip
    assert upload_counts(follow_up, times[:4], after_snapshot=1)["previously_covered"] == 2


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


def _valid(key: str, label: str, sha256: str) -> dict[str, Any]:
    return {"location": f"/in/{key}", "key": key, "label": label, "sha256": sha256}


def test_a_label_short_of_images_is_excluded_alone() -> None:
    valid = [_valid(f"a/ok/{i}", "ok", f"o{i}") for i in range(3)]
    valid += [_valid(f"a/dent/{i}", "dent", f"d{i}") for i in range(3)]
    valid += [_valid("a/typo/1", "typo", "t1")]

    assert labels_to_exclude({"ok", "dent", "typo", "broken"}, valid, minimum=3) == {"broken": 0, "typo": 1}


def test_excluding_a_label_gives_its_images_back_to_the_labels_holding_copies() -> None:
    # "Dent" sorts before "dent": its copy of d0 is the kept one until "Dent" is excluded.
    valid = [_valid(f"a/ok/{i}", "ok", f"o{i}") for i in range(2)]
    valid += [_valid(f"a/dent/{i}", "dent", f"d{i}") for i in range(2)]
    valid += [_valid("a/Dent/0", "Dent", "d0")]

    assert labels_to_exclude({"ok", "dent", "Dent"}, valid, minimum=2) == {"Dent": 1}


def test_labels_short_only_by_sharing_copies_with_each_other_are_both_excluded() -> None:
    # Each holds 3 distinct images but loses one to the other (the smaller key keeps the bytes):
    # neither is hopeless alone, and no rule says which one the shared images belong to.
    valid = [_valid(f"a/ok/{i}", "ok", f"o{i}") for i in range(3)]
    valid += [
        _valid("a/crack/0", "crack", "c0"),
        _valid("a/crack/2", "crack", "s2"),
        _valid("b/crack/1", "crack", "s1"),
    ]
    valid += [
        _valid("a/dent/0", "dent", "d0"),
        _valid("a/dent/1", "dent", "s1"),
        _valid("b/dent/2", "dent", "s2"),
    ]

    assert labels_to_exclude({"ok", "crack", "dent"}, valid, minimum=3) == {"crack": 2, "dent": 2}


def test_the_smallest_key_keeps_the_bytes_and_the_location_breaks_a_tie() -> None:
    valid = [
        _valid("b/dent/1", "dent", "x"),
        _valid("a/ok/9", "ok", "x"),
        {"location": "s3://z/a/ok/9", "key": "a/ok/9", "label": "ok", "sha256": "x"},
        _valid("a/ok/1", "ok", "y"),
    ]

    kept, copies = rank_copies(valid)

    assert sorted(row["location"] for row in kept) == ["/in/a/ok/1", "/in/a/ok/9"]
    assert sorted((row["location"], kept_key) for row, kept_key in copies) == [
        ("/in/b/dent/1", "a/ok/9"),
        ("s3://z/a/ok/9", "a/ok/9"),
    ]


def test_channel_statistics_sum_every_train_image() -> None:
    rows = [
        {"channel_sum": [1.0, 2.0, 3.0], "channel_sum_sq": [0.5, 1.0, 1.5], "pixels": 4},
        {"channel_sum": [0.1, 0.2, 0.3], "channel_sum_sq": [0.01, 0.02, 0.03], "pixels": 4},
    ]

    sums, squares, pixels = channel_sums(rows)

    assert sums == pytest.approx([1.1, 2.2, 3.3])
    assert squares == pytest.approx([0.51, 1.02, 1.53])
    assert pixels == 8
    assert channel_sums([]) == ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], 0)


def test_the_feature_baseline_is_mean_population_std_min_and_max() -> None:
    values = [0.2, 0.4, 0.9, 1e6 + 0.5]
    rows = [{"features": {"brightness": value, "width": 64.0}} for value in values]
    mean = sum(values) / len(values)

    baseline = feature_baseline(rows)

    assert list(baseline) == ["brightness", "width"]
    assert baseline["brightness"]["mean"] == pytest.approx(mean)
    std = (sum((value - mean) ** 2 for value in values) / len(values)) ** 0.5
    assert baseline["brightness"]["std"] == pytest.approx(std)
    assert (baseline["brightness"]["min"], baseline["brightness"]["max"]) == (0.2, 1e6 + 0.5)
    assert baseline["width"] == {"mean": 64.0, "std": 0.0, "min": 64.0, "max": 64.0}


def _check(labels: set[str], excluded: dict[str, int], kept: list[str]) -> None:
    check_usable(
        JobConfig("a", "b", "v", min_images_per_class=5),
        roots=parse_source_roots("/in"),
        labels_seen=labels,
        excluded=excluded,
        objects=[{"label": label} for label in kept],
        duplicates=[],
        quarantine=[],
    )


def test_a_run_goes_on_with_the_normal_class_and_one_defect_class() -> None:
    _check({"ok", "dent", "typo"}, {"typo": 1}, ["ok"] * 5 + ["dent"] * 5)


def test_losing_every_defect_class_fails_the_run() -> None:
    with pytest.raises(
        DatasetError, match=r"no defect class left.*fewer than 5 usable images.*crack: 3, typo: 0"
    ):
        _check({"ok", "crack", "typo"}, {"crack": 3, "typo": 0}, ["ok"] * 5)


def test_losing_the_normal_class_fails_the_run() -> None:
    with pytest.raises(DatasetError, match=r"normal class 'ok' has too few usable images.*ok: 4"):
        _check({"ok", "dent"}, {"ok": 4}, ["dent"] * 5)


# --- listing -----------------------------------------------------------------------------------------


def _touch(path: Path, modified: float, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (modified, modified))
    return path


def test_local_listing_is_cut_at_the_snapshot(tmp_path: Path) -> None:
    t0 = 1_767_225_600
    early = _touch(tmp_path / "a" / "ok" / "early.jpg", t0 - 10)
    edge = _touch(tmp_path / "a" / "ok" / "edge.jpg", t0 + 0.75)  # the same second as t0
    late = _touch(tmp_path / "a" / "ok" / "late.jpg", t0 + 1)
    until = datetime.fromtimestamp(t0, UTC)

    listing = list_source_objects(parse_source_roots(str(tmp_path)), UploadWindow(until=until))

    assert sorted(listing.objects) == [str(early), str(edge)]
    assert listing.objects[str(edge)] == (1, t0)
    assert list(listing.after_snapshot) == [str(late)]
    with pytest.raises(DatasetError, match="nothing in this snapshot"):
        list_source_objects(parse_source_roots(str(tmp_path)), UploadWindow(until=until - timedelta(hours=1)))


def test_s3_listing_is_cut_at_last_modified(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="uploads")
        s3.put_object(Bucket="uploads", Key="incoming/a/ok/1.jpg", Body=b"one")
        s3.put_object(Bucket="uploads", Key="incoming/a/", Body=b"")  # a folder marker, not an upload
        modified = s3.head_object(Bucket="uploads", Key="incoming/a/ok/1.jpg")["LastModified"]
        roots = parse_source_roots("s3://uploads/incoming/")

        listing = list_source_objects(roots, UploadWindow(until=modified))

        assert listing.objects == {"s3://uploads/incoming/a/ok/1.jpg": (3, int(modified.timestamp()))}
        with pytest.raises(DatasetError, match="modified after uploads_until"):
            list_source_objects(roots, UploadWindow(until=modified - timedelta(seconds=1)))


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
    # No bounds given: the whole folder is the snapshot, all of it new; no label falls short.
    uploaded = stats["accounting"]["uploaded"]
    assert stats["uploads"] == {"since": None, "until": None, "new": uploaded, "previously_covered": 0,
                                "after_snapshot": 0}  # fmt: skip
    assert stats["excluded_labels"] == {}


@pytest.mark.slow
def test_the_statistics_are_those_of_the_kept_images_prepared_one_by_one(awkward_run) -> None:
    # The driver computes them from what the executors measured: the same as measuring each kept
    # file again here (channel statistics over the train split, the baseline over every split).
    result, _ = awkward_run
    prepared = {
        row["key"]: prepare_image(Path(row["key"]).read_bytes(), image_size=32, limits=ImageLimits())
        for row in result.manifest["objects"]
    }
    train = [prepared[row["key"]] for row in result.manifest["objects"] if row["split"] == "train"]
    pixels = sum(image.pixels for image in train)
    mean = [sum(image.channel_sum[channel] for image in train) / pixels for channel in range(3)]
    baseline = result.stats["feature_baseline"]

    assert result.stats["channel_mean"] == pytest.approx(mean)
    for name in IMAGE_FEATURE_NAMES:
        values = [image.features[name] for image in prepared.values()]
        assert baseline[name]["mean"] == pytest.approx(sum(values) / len(values)), name
        assert (baseline[name]["min"], baseline[name]["max"]) == (min(values), max(values)), name


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


# --- snapshots: every upload is new in exactly one run ------------------------------------------------

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z: the first run's --uploads_until


def _accounted(result: DatasetResult) -> set[str]:
    rows = result.manifest["objects"] + result.duplicates + result.quarantine
    return {row["key"] for row in rows}


@pytest.mark.slow
def test_consecutive_runs_count_every_upload_as_new_exactly_once(spark: SparkSession, tmp_path: Path) -> None:
    dataset = generate_dataset(tmp_path / "in", images_per_class=12, classes=("ok", "dent"))
    first_batch = [path for paths in dataset.images.values() for path in paths[:6]]
    second_batch = [path for paths in dataset.images.values() for path in paths[6:]]
    # Uploads at distinct times, with the edges: exactly at the first run's bound (in it), within that
    # same second (in it: S3's LastModified has whole seconds), one second later (the follow-up's).
    for index, path in enumerate(first_batch):
        os.utime(path, (T0 - 3600 + index,) * 2)
    os.utime(first_batch[0], (T0, T0))
    os.utime(first_batch[1], (T0 + 0.5, T0 + 0.5))
    for index, path in enumerate(second_batch):
        os.utime(path, (T0 + 60 + index,) * 2)
    os.utime(second_batch[0], (T0 + 1, T0 + 1))
    until = "2026-01-01T00:00:00Z"

    first = _run(spark, tmp_path / "in", tmp_path / "out", "v1", uploads_until=until)
    follow_up = _run(
        spark,
        tmp_path / "in",
        tmp_path / "out",
        "v2",
        uploads_since=until,
        uploads_until="2026-01-01T01:00:00Z",
    )

    # The first run saw only its snapshot: the later uploads are in none of its outputs.
    assert _accounted(first) == {str(path) for path in first_batch}
    assert first.stats["accounting"]["uploaded"] == 12
    assert first.stats["uploads"] == {"since": None, "until": until, "new": 12, "previously_covered": 0,
                                      "after_snapshot": 12}  # fmt: skip
    # The follow-up trains on everything up to its bound, counting the first run's objects as covered.
    assert _accounted(follow_up) == {str(path) for path in dataset.all_files}
    assert follow_up.stats["uploads"] == {"since": until, "until": "2026-01-01T01:00:00Z", "new": 12,
                                          "previously_covered": 12, "after_snapshot": 0}  # fmt: skip
    # Per object: new in run 1 = accounted there; new in run 2 = accounted there and not in run 1.
    new_first = _accounted(first)
    new_follow_up = _accounted(follow_up) - _accounted(first)
    assert new_first.isdisjoint(new_follow_up)
    assert new_first | new_follow_up == {str(path) for path in dataset.all_files}
    assert (len(new_first), len(new_follow_up)) == (
        first.stats["uploads"]["new"],
        follow_up.stats["uploads"]["new"],
    )
    assert follow_up.stats["uploads"]["previously_covered"] == len(_accounted(first))
    stored = json.loads((tmp_path / "out" / "v2" / "stats.json").read_text())
    assert stored["uploads"] == follow_up.stats["uploads"]


# --- a label folder short of images costs that label, not the run -------------------------------------


@pytest.fixture(scope="module")
def stray_labels(tmp_path_factory: pytest.TempPathFactory) -> tuple[GeneratedDataset, dict[str, Path]]:
    """ok and dent, plus three label folders that cannot stand: a typo, a broken file, a stray copy."""
    root = tmp_path_factory.mktemp("incoming")
    dataset = generate_dataset(root, images_per_class=6, classes=("ok", "dent"))
    strays = {
        "typo": root / "line-a" / "typo" / "photo.png",
        "broken": root / "line-a" / "crack" / "broken.jpg",
        # "Dent" sorts before "dent": its copy of a dent image ranks first among the identical bytes.
        "copy": root / "line-a" / "Dent" / dataset.images["dent"][0].name,
    }
    strays["typo"].parent.mkdir(parents=True)
    # Wider than any generated image: the feature baseline's width shows whether it got in.
    Image.new("RGB", (300, 60), (200, 40, 40)).save(strays["typo"])
    strays["broken"].parent.mkdir(parents=True)
    strays["broken"].write_text("not an image")
    strays["copy"].parent.mkdir(parents=True)
    shutil.copyfile(dataset.images["dent"][0], strays["copy"])
    return dataset, strays


@pytest.fixture(scope="module")
def stray_run(
    spark: SparkSession,
    stray_labels: tuple[GeneratedDataset, dict[str, Path]],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[DatasetResult, Path]:
    output = tmp_path_factory.mktemp("datasets")
    return _run(spark, stray_labels[0].root, output), output / "v1"


@pytest.mark.slow
def test_a_stray_one_file_label_is_excluded_and_the_run_goes_on(stray_labels, stray_run) -> None:
    dataset, strays = stray_labels
    result, folder = stray_run
    reasons = {row["key"]: row["reason"] for row in result.quarantine}

    assert (
        reasons[str(strays["typo"])]
        == "excluded_label: label 'typo' excluded: 1 usable image, at least 5 needed"
    )
    assert result.stats["excluded_labels"]["typo"] == {"reason": reasons[str(strays["typo"])], "usable": 1,
                                                       "objects": 1}  # fmt: skip
    # Every object exactly once, the excluded ones in quarantine.
    assert sorted(_accounted(result)) == sorted(_all_files(dataset.root))
    assert len(result.manifest["objects"]) + len(result.duplicates) + len(result.quarantine) == len(
        _all_files(dataset.root)
    )
    assert result.stats["accounting"] == {"uploaded": 15, "kept": 12, "duplicates": 0, "quarantined": 3,
                                          "balanced": True}  # fmt: skip
    assert result.stats["quarantine_reasons"] == {"excluded_label": 2, "unrecognised_format": 1}
    assert json.loads((folder / "stats.json").read_text()) == result.stats


@pytest.mark.slow
def test_a_label_of_only_corrupt_files_is_excluded(stray_labels, stray_run) -> None:
    _, strays = stray_labels
    result, _ = stray_run
    reasons = {row["key"]: row["reason"] for row in result.quarantine}

    # Its object keeps the more specific reason it was quarantined for.
    assert reasons[str(strays["broken"])].startswith("unrecognised_format")
    assert result.stats["excluded_labels"]["crack"] == {
        "reason": "excluded_label: label 'crack' excluded: 0 usable images, at least 5 needed",
        "usable": 0,
        "objects": 1,
    }


@pytest.mark.slow
def test_an_excluded_copy_hands_its_image_back_to_the_right_label(stray_labels, stray_run) -> None:
    dataset, strays = stray_labels
    result, _ = stray_run
    kept = {row["key"]: row["label"] for row in result.manifest["objects"]}

    assert kept[str(dataset.images["dent"][0])] == "dent"
    assert result.stats["excluded_labels"]["Dent"]["usable"] == 1
    assert str(strays["copy"]) not in kept
    assert result.duplicates == []


@pytest.mark.slow
def test_excluded_labels_are_nowhere_in_what_training_reads(stray_labels, stray_run) -> None:
    dataset, _ = stray_labels
    result, folder = stray_run
    stats = result.stats

    assert stats["labels"] == ["dent", "ok"] == result.manifest["labels"]
    assert set(stats["classes"]) == {"dent", "ok"}
    assert {row["label"] for row in result.manifest["objects"]} == {"dent", "ok"}
    shards = [pq.read_table(shard) for split in SPLITS for shard in (folder / split).glob("part-*.parquet")]
    table = pa.concat_tables(shards)
    assert set(table.column("label").to_pylist()) == {"dent", "ok"}
    assert table.num_rows == stats["accounting"]["kept"] == 12
    widest = max(Image.open(path).width for paths in dataset.images.values() for path in paths)
    assert stats["feature_baseline"]["width"]["max"] == widest < 300
