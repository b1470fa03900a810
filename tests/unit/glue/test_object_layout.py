"""Where an object sits: source roots, Spark paths, keys, sources, labels."""

from __future__ import annotations

import pytest
from object_layout import (
    SourcePathError,
    location_from_spark_path,
    parse_source_root,
    parse_source_roots,
    place_object,
    spark_skips_name,
    unread_reason,
)

S3_ROOT = parse_source_root("s3://data-bucket/incoming/")


def test_s3_root_keeps_bucket_and_prefix() -> None:
    root = parse_source_root("s3a://data-bucket/incoming")

    assert root.location == "s3://data-bucket/incoming/"
    assert (root.bucket, root.prefix) == ("data-bucket", "incoming/")


def test_local_root_becomes_an_absolute_folder(tmp_path) -> None:
    assert parse_source_root(f"file:{tmp_path}").location == f"{tmp_path}/"
    assert parse_source_root(str(tmp_path)).location == f"{tmp_path}/"


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(SourcePathError, match="unsupported scheme"):
        parse_source_root("gs://bucket/incoming/")


def test_overlapping_roots_are_refused() -> None:
    with pytest.raises(SourcePathError, match="overlap"):
        parse_source_roots("s3://b/incoming/,s3://b/incoming/line-a/")


def test_comma_separated_roots_are_parsed_and_deduplicated() -> None:
    roots = parse_source_roots("s3://b/incoming/a/, s3://b/incoming/b/,s3://b/incoming/a")

    assert [root.location for root in roots] == ["s3://b/incoming/a/", "s3://b/incoming/b/"]


@pytest.mark.parametrize(
    ("spark_path", "location"),
    [
        ("file:/data/line-a/ok/a b.jpg", "/data/line-a/ok/a b.jpg"),
        ("file:///data/line-a/ok/c++.jpg", "/data/line-a/ok/c++.jpg"),
        ("file:/data/line-a/ok/café.jpg", "/data/line-a/ok/café.jpg"),
        # A literal "%2B" in a key stays literal: URL-decoding it would name another object.
        ("file:/data/line-a/ok/x%2By.jpg", "/data/line-a/ok/x%2By.jpg"),
        ("s3://b/incoming/line-a/ok/q?#1.jpg", "s3://b/incoming/line-a/ok/q?#1.jpg"),
        ("s3a://b/incoming/line-a/ok/x.jpg", "s3://b/incoming/line-a/ok/x.jpg"),
    ],
)
def test_spark_paths_map_to_exact_locations(spark_path: str, location: str) -> None:
    assert location_from_spark_path(spark_path) == location


def test_s3_object_is_placed_by_source_and_label() -> None:
    place = place_object("s3://data-bucket/incoming/line-a/scratch/x%2By.jpg", [S3_ROOT])

    assert (place.key, place.source, place.label, place.problem) == (
        "incoming/line-a/scratch/x%2By.jpg",
        "line-a",
        "scratch",
        None,
    )


def test_local_object_key_is_its_path() -> None:
    root = parse_source_root("/data/incoming")

    assert place_object("/data/incoming/line-a/ok/a b.jpg", [root]).key == "/data/incoming/line-a/ok/a b.jpg"


def test_local_copy_of_s3_is_keyed_by_the_s3_key() -> None:
    # The local runtime downloads s3://data-bucket/incoming/ to <mirror>/data-bucket/incoming/.
    roots = parse_source_roots("/run/s3/data-bucket/incoming/,/elsewhere/photos", s3_mirror="/run/s3")

    mirrored = place_object("/run/s3/data-bucket/incoming/line-a/ok/a b.jpg", roots)
    plain = place_object("/elsewhere/photos/line-b/ok/c.jpg", roots)

    assert (mirrored.key, mirrored.source, mirrored.label) == ("incoming/line-a/ok/a b.jpg", "line-a", "ok")
    assert plain.key == "/elsewhere/photos/line-b/ok/c.jpg"


def test_the_s3_mirror_itself_is_not_a_source() -> None:
    with pytest.raises(SourcePathError, match="not a bucket folder"):
        parse_source_roots("/run/s3/", s3_mirror="/run/s3")


@pytest.mark.parametrize(
    "relative",
    ["x.jpg", "line-a/x.jpg", "line-a/ok/deeper/x.jpg", "line-a//x.jpg"],
)
def test_objects_at_the_wrong_depth_have_a_layout_problem(relative: str) -> None:
    place = place_object(f"s3://data-bucket/incoming/{relative}", [S3_ROOT])

    assert place.problem is not None
    assert place.problem.startswith("unexpected_layout")
    assert place.key == f"incoming/{relative}"


def test_object_outside_every_root_has_a_problem() -> None:
    assert place_object("s3://other/incoming/a/b/c.jpg", [S3_ROOT]).problem.startswith("outside_sources")


@pytest.mark.parametrize(("name", "skipped"), [(".DS_Store", True), ("_tmp.jpg", True), ("a_b.jpg", False)])
def test_spark_skip_rule(name: str, skipped: bool) -> None:
    assert spark_skips_name(name) is skipped


def test_unread_reasons_say_why() -> None:
    hidden = "s3://data-bucket/incoming/line-a/ok/.x.jpg"

    assert unread_reason(hidden, [S3_ROOT], 10).startswith("hidden_name")
    assert unread_reason(hidden, [S3_ROOT], 0).startswith("empty_file")
    assert unread_reason("s3://data-bucket/incoming/line-a/ok/y.jpg", [S3_ROOT], 10).startswith("not_read")


@pytest.mark.parametrize(
    "label",
    ["ok\u202e", "scra\u200btch", "\ufeffdent", "ok\u00a0", "cr\u2028ack", "dent\x07"],
    ids=[
        "right-to-left override",
        "zero-width space",
        "byte order mark",
        "no-break space",
        "line separator",
        "bell",
    ],
)
def test_a_label_with_an_invisible_or_control_character_is_quarantined_as_the_trigger_rejects_it(label):
    from mlops_common.domain.keys import classify_key

    roots = parse_source_roots("s3://data/incoming/")
    place = place_object(f"s3://data/incoming/lab/{label}/a.png", roots)

    assert place.problem is not None
    assert place.problem.startswith("invalid_label_name: U+")
    trigger = classify_key(f"incoming/lab/{label}/a.png", "incoming/")
    assert not trigger.accepted
    assert trigger.reason is not None
    assert "character" in trigger.reason


def test_a_plain_space_in_a_label_is_allowed_by_both_rules():
    from mlops_common.domain.keys import classify_key

    place = place_object(
        "s3://data/incoming/lab/hairline crack/a.png", parse_source_roots("s3://data/incoming/")
    )

    assert place.problem is None
    assert classify_key("incoming/lab/hairline crack/a.png", "incoming/").accepted
