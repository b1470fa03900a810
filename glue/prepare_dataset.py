"""PrepareDataset: uploaded product photos -> a versioned, validated, deduplicated, split dataset.

Runs as an AWS Glue 5.0 job (Spark 3.5, Python 3.11) and, unchanged, on local pyspark:

    python glue/prepare_dataset.py --source_paths DIR --output_path DIR --dataset_version v1

Every object under the source paths (``<source>/<label>/<file>``) is read with Spark's
``binaryFile`` source and handled on the executors (``image_preparation``): quarantined with a
reason, recorded as a duplicate of the kept copy, or kept, normalised and given a split. The
driver only sees metadata (keys, hashes, counts), never image bytes. Outputs, under
``<output_path>/<dataset_version>/`` (docs/contracts.md "Dataset"): Parquet shards per split,
``manifest.json``, ``duplicates.jsonl``, ``quarantine.jsonl`` and ``stats.json``.

A run covers a defined snapshot of the uploads: with ``--uploads_until`` only objects last modified
(S3 LastModified, a local file's mtime) at or before that instant are listed and read; later ones
belong to the follow-up run. ``--uploads_since`` (the previous run's ``until``) only splits the
count into ``new`` and ``previously_covered``: every run trains on everything up to ``until``.
A label folder with too few usable images is excluded (its objects quarantined with the reason);
the run fails only when the normal class or every defect class is lost.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import boto3
from pyspark import StorageLevel
from pyspark.context import SparkContext
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

_TRAINING = Path(__file__).resolve().parent.parent / "training"
if _TRAINING.is_dir() and str(_TRAINING) not in sys.path:
    # From a checkout: on Glue, image_features/image_decoding ship beside this script (--extra-py-files).
    sys.path.append(str(_TRAINING))

import image_decoding  # noqa: E402
import image_features  # noqa: E402
import image_preparation  # noqa: E402
import object_layout  # noqa: E402
from image_preparation import SPLITS, ImageLimits, PreparationSettings, check_fractions  # noqa: E402
from object_layout import SourceRoot, parse_source_roots, place_object, unread_reason  # noqa: E402

try:  # Only on Glue: the awsglue runtime is not installable elsewhere.
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
except ImportError:
    GlueContext = Job = getResolvedOptions = None


LOG = logging.getLogger("prepare_dataset")
ROWS_PER_SHARD = 2_000  # ~20 MB of 64x64 PNGs per Parquet file: few files, still parallel to read
ARROW_BATCH_ROWS = 64  # images per batch handed to Python: bounds executor memory for large photos
# Each mapInPandas task costs about 0.3 s of a core beyond its images (Arrow streams, scheduling):
# 2 tasks per core is about 10 % faster than 4 at 10,000 images and 1.6x faster than 16,
# while still letting a core that finishes early take over the last task.
PARTITIONS_PER_CORE = 2
# A local job run on small data spends most of its time in a cold JVM (class loading, compiling
# Spark's code), not on data: the C1 compiler alone compiles sooner and the serial collector starts
# lighter (about 39 s -> 23 s for 160 images on 2 cores). Not for long runs (benchmarks): C1 code
# runs slower. Flags: HotSpot's src/hotspot/share/compiler/compiler_globals.hpp (TieredStopAtLevel),
# https://docs.oracle.com/en/java/javase/17/docs/specs/man/java.html (UseSerialGC).
SHORT_LIVED_JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
# What the driver collects per object (metadata only); "location" is dropped from the documents.
OBJECT_FIELDS = ("location", "key", "source", "label", "split", "sha256")
DUPLICATE_FIELDS = ("location", "key", "source", "sha256", "kept_key")
EXCLUDED_LABEL = "excluded_label"  # the quarantine reason code of objects under an excluded label
QUARANTINE_FIELDS = ("location", "key", "source", "reason")
# Everything the driver decides on: no image bytes (``image``), a few hundred bytes per object.
METADATA_FIELDS = (
    *OBJECT_FIELDS,
    "reason",
    "modified",
    "channel_sum",
    "channel_sum_sq",
    "pixels",
    "features",
)
# The modules the executors import; on Glue --extra-py-files ships them, locally addPyFile does.
WORKER_MODULES = (image_preparation, object_layout, image_features, image_decoding)


class DatasetError(RuntimeError):
    """The uploads cannot make a usable dataset; the message says why and what to fix."""


class AccountingError(AssertionError):
    """Some object is not in exactly one of manifest, duplicates and quarantine."""


# --- arguments -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobConfig:
    """The job's arguments, the same on Glue and locally."""

    source_paths: str
    output_path: str
    dataset_version: str
    image_size: int = 64
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    min_images_per_class: int = 10
    normal_class: str = "ok"
    min_image_side: int = 32
    max_image_side: int = 10_000
    # Local runs only: the folder the source paths were copied into as <mirror>/<bucket>/<key>.
    s3_mirror: str = ""
    # ISO-8601 instants (UTC when no offset is given); empty: no bound (see UploadWindow).
    uploads_since: str = ""
    uploads_until: str = ""

    def __post_init__(self) -> None:
        check_fractions(self.val_fraction, self.test_fraction)
        window = self.upload_window  # parses both: a bad timestamp fails before any work
        if window.since is not None and window.until is not None and window.since > window.until:
            raise ValueError(
                f"uploads_since={self.uploads_since} is later than uploads_until={self.uploads_until}"
            )
        if not 8 <= self.image_size <= 1024:
            raise ValueError(f"image_size={self.image_size} must be between 8 and 1024")
        if self.min_images_per_class < 1:
            raise ValueError("min_images_per_class must be at least 1")
        if not self.dataset_version or "/" in self.dataset_version:
            raise ValueError(f"dataset_version {self.dataset_version!r} must be a non-empty name without '/'")

    @property
    def dataset_uri(self) -> str:
        return f"{self.output_path.rstrip('/')}/{self.dataset_version}"

    @property
    def upload_window(self) -> UploadWindow:
        return UploadWindow(
            since=parse_instant(self.uploads_since, "uploads_since") if self.uploads_since else None,
            until=parse_instant(self.uploads_until, "uploads_until") if self.uploads_until else None,
        )


def parse_instant(text: str, name: str) -> datetime:
    """An ISO-8601 timestamp as an aware UTC datetime; one without an offset is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"{name}={text!r} is not an ISO-8601 timestamp, e.g. 2026-01-31T12:00:00Z") from exc
    # The pipeline passes UTC; reading a bare timestamp in the machine's zone would shift the snapshot.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class UploadWindow:
    """Which uploads a run covers: ``since < LastModified <= until`` are new, ``<= since`` covered before.

    Compared in whole seconds since the epoch: S3's LastModified has that resolution, so a local
    file's mtime (which has more) is truncated the same way on the driver and in Spark, and an object
    is in exactly one of two consecutive windows (the second's ``since`` is the first's ``until``).
    """

    since: datetime | None = None
    until: datetime | None = None

    @property
    def since_second(self) -> int | None:
        return None if self.since is None else whole_seconds(self.since)

    @property
    def until_second(self) -> int | None:
        return None if self.until is None else whole_seconds(self.until)

    def includes(self, modified: int) -> bool:
        """Whether an object last modified at ``modified`` (whole seconds) is in this run's snapshot."""
        until = self.until_second
        return until is None or modified <= until

    def is_new(self, modified: int) -> bool:
        """Whether an object in the snapshot was not yet covered by the run that ended at ``since``."""
        since = self.since_second
        return since is None or modified > since

    def describe(self) -> dict[str, str | None]:
        return {"since": _iso(self.since), "until": _iso(self.until)}


def whole_seconds(moment: datetime) -> int:
    """Seconds since the epoch, rounded down (exact integer arithmetic, no float rounding)."""
    return (moment - _EPOCH) // timedelta(seconds=1)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


REQUIRED_ARGUMENTS = ("source_paths", "output_path", "dataset_version")
OPTIONAL_ARGUMENTS = (
    "image_size",
    "val_fraction",
    "test_fraction",
    "min_images_per_class",
    "normal_class",
    "min_image_side",
    "max_image_side",
    "s3_mirror",
    "uploads_since",
    "uploads_until",
)


def parse_arguments(
    argv: Sequence[str], resolve_options: Callable[[list[str], list[str]], dict[str, str]] | None = None
) -> JobConfig:
    """Build the config from ``--name value`` arguments; unknown ones (``--JOB_NAME``...) are ignored.

    ``resolve_options`` is Glue's ``getResolvedOptions`` when running on Glue, which fails on any
    name asked for but absent, so optional arguments are asked for only when given.
    """
    if resolve_options is not None:
        wanted = list(REQUIRED_ARGUMENTS) + [name for name in OPTIONAL_ARGUMENTS if f"--{name}" in argv]
        values: dict[str, Any] = dict(resolve_options(list(argv), wanted))
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        for name in REQUIRED_ARGUMENTS:
            parser.add_argument(f"--{name}", required=True)
        for name in OPTIONAL_ARGUMENTS:
            parser.add_argument(f"--{name}")
        known, _unknown = parser.parse_known_args(list(argv)[1:])
        values = {name: value for name, value in vars(known).items() if value is not None}
    types = JobConfig.__annotations__
    converters: dict[str, Callable[[str], Any]] = {"int": int, "float": float, "str": str}
    return JobConfig(
        **{name: converters[types[name]](value) for name, value in values.items() if name in types}
    )


# --- Spark -----------------------------------------------------------------------------------------


def local_spark_session(
    cores: int = 2, app_name: str = "prepare-dataset", *, short_lived: bool = False
) -> SparkSession:
    """A lean local SparkSession (no UI, few shuffle partitions) for tests, benchmarks, local runs.

    ``short_lived``: a JVM tuned to start fast rather than to run long (SHORT_LIVED_JVM_OPTIONS), for
    one local job run in its own process; it takes effect only when this call starts the JVM.
    """
    # Executors must run this interpreter, not whatever "python3" is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(max(2, cores * 2)))
        .config("spark.default.parallelism", str(max(2, cores * 2)))
    )
    if short_lived:
        # PySpark passes the builder's settings to spark-submit when it launches the driver JVM
        # (pyspark/java_gateway.py, launch_gateway: "--conf k=v"), so driver JVM options apply here.
        builder = builder.config("spark.driver.extraJavaOptions", SHORT_LIVED_JVM_OPTIONS)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def ship_worker_modules(spark: SparkSession) -> None:
    """Make the per-object modules importable on local executors (Glue ships them itself)."""
    shipped: set[str] = set()
    for module in WORKER_MODULES:
        # Imported from a zip (--extra-py-files modules.zip): ship the archive, not a path inside it.
        path = str(getattr(module.__loader__, "archive", None) or module.__file__)
        if path not in shipped:
            spark.sparkContext.addPyFile(path)
            shipped.add(path)


@dataclass
class DatasetResult:
    """What the job wrote, for callers and tests (``stats`` is ``stats.json``)."""

    dataset_uri: str
    stats: dict[str, Any]
    manifest: dict[str, Any]
    duplicates: list[dict[str, str]] = field(default_factory=list)
    quarantine: list[dict[str, str]] = field(default_factory=list)


def prepare_dataset(spark: SparkSession, config: JobConfig) -> DatasetResult:
    """The Spark plan: read and prepare every object once, decide on metadata, write the kept images.

    Two kinds of Spark work, and no shuffle: one pass over the bytes (each object read, decoded,
    normalised, hashed and measured once, its result cached on the executors) that hands the driver
    each object's metadata, then one write per split that filters the cache down to the kept images.
    Everything in between (copies, excluded labels, accounting, statistics) is plain Python on the
    metadata, a few hundred bytes per object.
    """
    roots = parse_source_roots(config.source_paths, config.s3_mirror)
    output = parse_source_roots(config.dataset_uri)[0]
    if any(output.location.startswith(root.location) for root in roots):
        # Writing under an upload prefix would trigger the pipeline on its own output.
        raise ValueError(f"output {config.dataset_uri} lies under a source path")
    window = config.upload_window
    listing = list_source_objects(roots, window)
    listed = listing.objects
    records = _read_records(spark, config, roots).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        started = time.perf_counter()
        read = _rows(records.select(*METADATA_FIELDS))
        LOG.info("read and prepared %d objects in %.1f s", len(read), time.perf_counter() - started)
        rejected = [row for row in read if row["reason"] is not None]
        valid = [row for row in read if row["reason"] is None]
        seen = {row["location"] for row in read}
        unread = [
            {
                "location": location,
                "key": place.key,
                "source": place.source,
                "label": place.label,
                "modified": listed[location].modified,
                "reason": unread_reason(location, roots, listed[location].size),
            }
            for location in sorted(set(listed) - seen)
            for place in [place_object(location, roots)]
        ]
        labels_seen = {row["label"] for row in read if row["label"]}
        excluded = labels_to_exclude(labels_seen, valid, config.min_images_per_class)
        if excluded:
            LOG.warning("labels excluded for too few usable images: %s", excluded)
        # Ranked without the excluded labels: a copy in another label of an image whose kept copy
        # was under an excluded label becomes the kept one (labels_to_exclude counted it so).
        kept, copies = rank_copies([row for row in valid if row["label"] not in excluded])
        objects = [_only(row, OBJECT_FIELDS) for row in kept]
        duplicates = [dict(_only(row, DUPLICATE_FIELDS[:-1]), kept_key=kept_key) for row, kept_key in copies]
        reasons = {label: excluded_reason(label, usable, config) for label, usable in excluded.items()}
        # Usable objects of an excluded label go to quarantine with that reason; those already
        # quarantined keep their own, more specific reason. Either way each is accounted once.
        dropped = [dict(row, reason=reasons[row["label"]]) for row in valid if row["label"] in excluded]
        quarantine = [_only(row, QUARANTINE_FIELDS) for row in rejected + unread + dropped]
        check_usable(
            config,
            roots=roots,
            labels_seen=labels_seen,
            excluded=excluded,
            objects=objects,
            duplicates=duplicates,
            quarantine=quarantine,
        )
        accounting = account(listed, objects, duplicates, quarantine)
        per_label = Counter(row["label"] for row in rejected + valid + unread)
        stats = dataset_stats(
            config,
            objects=objects,
            duplicates=duplicates,
            quarantine=quarantine,
            accounting=accounting,
            uploads=upload_counts(
                window, [row["modified"] for row in rejected + valid + unread], len(listing.after_snapshot)
            ),
            excluded_labels={
                label: {"reason": reasons[label], "usable": usable, "objects": per_label[label]}
                for label, usable in sorted(excluded.items())
            },
            channel_sums=channel_sums([row for row in kept if row["split"] == "train"]),
            feature_baseline=feature_baseline(kept),
        )
        started = time.perf_counter()
        _write_splits(
            records,
            config,
            Counter(row["split"] for row in objects),
            excluded_labels=excluded,
            duplicates=[row["location"] for row in duplicates],
        )
        LOG.info("wrote the splits in %.1f s", time.perf_counter() - started)
    finally:
        records.unpersist()
    manifest = {
        "dataset_version": config.dataset_version,
        "image_size": config.image_size,
        "labels": stats["labels"],
        "normal_class": config.normal_class,
        "objects": [_only(row, OBJECT_FIELDS[1:]) for row in sorted(objects, key=lambda row: row["key"])],
    }
    result = DatasetResult(
        dataset_uri=config.dataset_uri,
        stats=stats,
        manifest=manifest,
        duplicates=[
            _only(row, DUPLICATE_FIELDS[1:]) for row in sorted(duplicates, key=lambda row: row["key"])
        ],
        quarantine=[
            _only(row, QUARANTINE_FIELDS[1:]) for row in sorted(quarantine, key=lambda row: row["key"])
        ],
    )
    _write_documents(result)
    return result


def _read_records(spark: SparkSession, config: JobConfig, roots: Sequence[SourceRoot]) -> DataFrame:
    """One record per object in the snapshot (``image_preparation.RECORD_FIELDS``), not yet computed."""
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH_ROWS))
    # The cached records are mostly PNG bytes, compressed already; Spark's columnar cache would
    # compress every column again (spark.sql.inMemoryColumnarStorage.compressed, true by default,
    # https://spark.apache.org/docs/latest/sql-performance-tuning.html): CPU spent for nothing.
    # Measured at 20,000 images on 2 cores, alternating: 2 to 9 % faster, in each of 5 pairs.
    spark.conf.set("spark.sql.inMemoryColumnarStorage.compressed", "false")
    settings = PreparationSettings(
        roots=tuple(roots),
        image_size=config.image_size,
        val_fraction=config.val_fraction,
        test_fraction=config.test_fraction,
        limits=ImageLimits(min_side=config.min_image_side, max_side=config.max_image_side),
    )
    files = (
        spark.read.format("binaryFile")
        .option("recursiveFileLookup", "true")
        .load([root.location for root in roots])
    )
    until = config.upload_window.until_second
    if until is not None:
        # The same bound as the listing (whole seconds: floor(t) <= until  <=>  t < until + 1 s). A
        # plain comparison of modificationTime with a literal is pushed into the file source, which
        # checks each file's status before opening it: the follow-up run's bytes are never fetched.
        end = _EPOCH + timedelta(seconds=until + 1)
        files = files.where(F.col("modificationTime") < F.lit(end))
    raw = files.select("path", "content", F.unix_seconds("modificationTime").alias("modified"))
    # The reader makes a partition per ~32 small files; merging them (no shuffle) into a few tasks per
    # core keeps every core busy while saving the overhead of hundreds of tiny tasks.
    raw = raw.coalesce(spark.sparkContext.defaultParallelism * PARTITIONS_PER_CORE)
    return raw.mapInPandas(partial(image_preparation.prepare_batches, settings=settings), _record_schema())


def _rows(frame: DataFrame) -> list[dict[str, Any]]:
    """Collect a metadata-only frame (never one with image bytes) as dicts."""
    return [row.asDict() for row in frame.collect()]


def _write_splits(
    records: DataFrame,
    config: JobConfig,
    counts: Mapping[str, int],
    *,
    excluded_labels: Collection[str],
    duplicates: Collection[str],
) -> None:
    """One Parquet folder per split, ``ceil(rows / ROWS_PER_SHARD)`` files sorted by key.

    The kept images are the valid records less the excluded labels and the duplicates' locations:
    a filter on the cached records where they are (no join, no image bytes moved). Duplicates are
    the exception in an upload, so the list the plan carries stays short.
    """
    kept = records.where(F.col("reason").isNull())
    if excluded_labels:
        kept = kept.where(~F.col("label").isin(sorted(excluded_labels)))
    if duplicates:
        kept = kept.where(~F.col("location").isin(sorted(duplicates)))
    columns: list[Column | str] = [
        "key",
        "source",
        "label",
        "split",
        "sha256",
        "image",
        F.col("orig_width").cast("int").alias("orig_width"),
        F.col("orig_height").cast("int").alias("orig_height"),
        "format",
    ]
    for split in SPLITS:
        shards = max(1, math.ceil(counts[split] / ROWS_PER_SHARD))
        rows = (
            kept.where(F.col("split") == split).select(*columns).coalesce(shards).sortWithinPartitions("key")
        )
        rows.write.mode("overwrite").parquet(f"{config.dataset_uri}/{split}")


def _record_schema() -> T.StructType:
    return T.StructType(
        [
            T.StructField("location", T.StringType()),
            T.StructField("key", T.StringType()),
            T.StructField("source", T.StringType()),
            T.StructField("label", T.StringType()),
            T.StructField("reason", T.StringType()),
            T.StructField("sha256", T.StringType()),
            T.StructField("split", T.StringType()),
            T.StructField("image", T.BinaryType()),
            T.StructField("orig_width", T.IntegerType()),
            T.StructField("orig_height", T.IntegerType()),
            T.StructField("format", T.StringType()),
            T.StructField("channel_sum", T.ArrayType(T.DoubleType())),
            T.StructField("channel_sum_sq", T.ArrayType(T.DoubleType())),
            T.StructField("pixels", T.LongType()),
            T.StructField("features", T.MapType(T.StringType(), T.DoubleType())),
            T.StructField("modified", T.LongType()),
        ]
    )


# --- rules on metadata (driver side, no Spark) -----------------------------------------------------


def first_copies(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The kept copy of each content hash: the first by (key, location) among identical bytes."""
    first: dict[str, dict[str, Any]] = {}
    for row in rows:
        held = first.get(row["sha256"])
        if held is None or (row["key"], row["location"]) < (held["key"], held["location"]):
            first[row["sha256"]] = row
    return first


def rank_copies(
    valid: Iterable[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    """Split valid rows into the kept copy of each content and the others, each with its kept key."""
    rows = list(valid)
    first = first_copies(rows)
    kept = list(first.values())
    copies = [(row, first[row["sha256"]]["key"]) for row in rows if first[row["sha256"]] is not row]
    return kept, copies


def labels_to_exclude(
    labels_seen: Collection[str], valid: Sequence[dict[str, Any]], minimum: int
) -> dict[str, int]:
    """Labels left with fewer than ``minimum`` usable images, each with its usable count.

    Usable: valid and the kept copy of its bytes (``first_copies``). A label can lose images to
    copies under other labels, and gets them back when those labels go, so labels are dropped in
    rounds: first those that cannot reach the minimum even with every copy back (a ``typo/`` folder
    with one stray or broken file), then, once none of those is left, the ones still short. A label
    once excluded stays so; dropping one never lowers another's count, so the rounds end.
    """
    own = Counter(label for label, _sha256 in {(row["label"], row["sha256"]) for row in valid})
    excluded: dict[str, int] = {}
    while True:
        first = first_copies(row for row in valid if row["label"] not in excluded)
        usable = Counter(row["label"] for row in first.values())
        short = {
            label: usable[label]
            for label in sorted(labels_seen)
            if label not in excluded and usable[label] < minimum
        }
        if not short:
            return excluded
        hopeless = {label: count for label, count in short.items() if own[label] < minimum}
        excluded.update(hopeless or short)


def channel_sums(train: Iterable[dict[str, Any]]) -> tuple[list[float], list[float], int]:
    """Per-channel sums and sums of squares over every pixel of the train split's kept images."""
    rows = list(train)
    return (
        [math.fsum(row["channel_sum"][channel] for row in rows) for channel in range(3)],
        [math.fsum(row["channel_sum_sq"][channel] for row in rows) for channel in range(3)],
        sum(row["pixels"] for row in rows),
    )


def feature_baseline(kept: Iterable[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean, population standard deviation, min and max of each image feature over the kept images."""
    values: dict[str, list[float]] = {}
    for row in kept:
        for name, value in row["features"].items():
            values.setdefault(name, []).append(value)
    baseline = {}
    for name, column in sorted(values.items()):
        mean = math.fsum(column) / len(column)
        # Two passes (mean first): exact enough for features of any scale, unlike E[x^2] - E[x]^2.
        std = math.sqrt(math.fsum((value - mean) ** 2 for value in column) / len(column))
        baseline[name] = {"mean": mean, "std": std, "min": min(column), "max": max(column)}
    return baseline


def excluded_reason(label: str, usable: int, config: JobConfig) -> str:
    """The quarantine reason of the objects under an excluded label (also in stats.json)."""
    images = "image" if usable == 1 else "images"
    return (
        f"{EXCLUDED_LABEL}: label {label!r} excluded: {usable} usable {images},"
        f" at least {config.min_images_per_class} needed"
    )


def check_usable(
    config: JobConfig,
    *,
    roots: Sequence[SourceRoot],
    labels_seen: set[str],
    excluded: Mapping[str, int],
    objects: Sequence[dict[str, Any]],
    duplicates: Sequence[dict[str, Any]],
    quarantine: Sequence[dict[str, Any]],
) -> None:
    """Raise DatasetError without a label folder, or when the normal class or every defect class is lost.

    Labels that fell short are already ``excluded``; they fail the run only by leaving no normal
    class or no defect class, since a model needs both to learn anything.
    """
    where = ", ".join(root.location for root in roots)
    if not labels_seen:
        raise DatasetError(
            f"no label folder under {where}: expected objects at <source>/<label>/<file>,"
            f" found {len(quarantine)} object(s) elsewhere or unreadable"
        )
    kept = Counter(row["label"] for row in objects)
    short = ", ".join(f"{label}: {count}" for label, count in sorted(excluded.items()))
    lost = (
        f"classes with fewer than {config.min_images_per_class} usable images (after quarantine"
        f" and deduplication) are excluded: {short}; "
        if excluded
        else ""
    )
    counts = f"{len(quarantine)} object(s) quarantined, {len(duplicates)} duplicate(s)"
    normal = config.normal_class
    if normal not in kept:
        found = "too few usable images" if normal in excluded else "no images"
        raise DatasetError(
            f"the normal class {normal!r} has {found}; {lost}labels left: {sorted(kept)}; {counts}"
        )
    if not set(kept) - {normal}:
        raise DatasetError(
            f"no defect class left beside the normal class {normal!r}: {lost or 'no other label folder; '}"
            f"{counts}"
        )


def upload_counts(window: UploadWindow, modified: Iterable[int], after_snapshot: int) -> dict[str, Any]:
    """The ``uploads`` block of stats.json: the snapshot and how many of its objects are new.

    ``modified``: LastModified (whole seconds) of every object accounted in this run;
    ``after_snapshot``: how many the listing left to the follow-up run (later than ``until``).
    """
    times = list(modified)
    new = sum(1 for moment in times if window.is_new(moment))
    return {
        **window.describe(),
        "new": new,
        "previously_covered": len(times) - new,
        "after_snapshot": after_snapshot,
    }


def account(
    listed: Collection[str],
    objects: Sequence[dict[str, Any]],
    duplicates: Sequence[dict[str, Any]],
    quarantine: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """Check that every object is in exactly one output; return the ``accounting`` block of stats.json."""
    placed = Counter(row["location"] for row in [*objects, *duplicates, *quarantine])
    twice = sorted(location for location, count in placed.items() if count > 1)
    missing = sorted(set(listed) - set(placed))
    if twice or missing:
        raise AccountingError(f"objects in more than one output: {twice[:5]}; in none: {missing[:5]}")
    unlisted = set(placed) - set(listed)
    if unlisted:
        # Uploaded while the job ran: read and handled like the others, just not in the first listing.
        LOG.warning("%d object(s) appeared after the listing, e.g. %s", len(unlisted), sorted(unlisted)[0])
    return {
        "uploaded": len(placed),
        "kept": len(objects),
        "duplicates": len(duplicates),
        "quarantined": len(quarantine),
        "balanced": len(placed) == len(objects) + len(duplicates) + len(quarantine),
    }


def dataset_stats(
    config: JobConfig,
    *,
    objects: Sequence[dict[str, Any]],
    duplicates: Sequence[dict[str, Any]],
    quarantine: Sequence[dict[str, Any]],
    accounting: dict[str, Any],
    uploads: dict[str, Any],
    excluded_labels: dict[str, dict[str, Any]],
    channel_sums: tuple[list[float], list[float], int],
    feature_baseline: dict[str, dict[str, float]],
) -> dict[str, Any]:
    """``stats.json``: counts, accounting, the upload snapshot, excluded labels, channel statistics of
    the train split, feature baseline."""
    labels = sorted({row["label"] for row in objects})
    per_class = Counter((row["label"], row["split"]) for row in objects)
    sums, squares, pixels = channel_sums
    mean = [value / pixels if pixels else 0.0 for value in sums]
    std = [
        math.sqrt(max(sq / pixels - m * m, 0.0)) if pixels else 0.0
        for sq, m in zip(squares, mean, strict=True)
    ]
    return {
        "dataset_version": config.dataset_version,
        "image_size": config.image_size,
        "color_mode": "RGB",
        "labels": labels,
        "normal_class": config.normal_class,
        "accounting": accounting,
        "uploads": uploads,
        "excluded_labels": excluded_labels,
        "classes": {label: {split: per_class[(label, split)] for split in SPLITS} for label in labels},
        "splits": {split: sum(per_class[(label, split)] for label in labels) for split in SPLITS},
        "split_fractions": {"validation": config.val_fraction, "test": config.test_fraction},
        "channel_mean": mean,
        "channel_std": std,
        "channel_stats_split": "train",
        "feature_baseline": feature_baseline,
        "quarantine_reasons": dict(
            sorted(Counter(row["reason"].split(":")[0] for row in quarantine).items())
        ),
    }


def _only(row: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {name: row[name] for name in fields}


# --- storage (listing and small documents; S3 or local) --------------------------------------------


class ListedObject(NamedTuple):
    size: int
    modified: int  # S3 LastModified or a local file's mtime, whole seconds since the epoch


@dataclass(frozen=True)
class SourceListing:
    """The listing, cut at the snapshot: ``objects`` are this run's, by location."""

    objects: dict[str, ListedObject]
    after_snapshot: dict[str, ListedObject]  # modified after --uploads_until: the follow-up run's


def list_source_objects(roots: Sequence[SourceRoot], window: UploadWindow | None = None) -> SourceListing:
    """Every object under the roots, including those Spark's reader skips, cut at ``window.until``.

    The cut is the one the reader applies to ``modificationTime``: accounting checks that every
    object listed here comes back, so the two must agree on which objects are in the snapshot.
    """
    window = window or UploadWindow()
    found: dict[str, ListedObject] = {}
    for root in roots:
        under = _list_s3(root) if root.is_s3 else _list_local(root)
        if not under:
            raise DatasetError(f"no objects under {root.location}: no label folder to read")
        found.update(under)
    objects = {location: item for location, item in found.items() if window.includes(item.modified)}
    if not objects:
        raise DatasetError(
            f"all {len(found)} object(s) under {', '.join(root.location for root in roots)} were"
            f" modified after uploads_until={_iso(window.until)}: nothing in this snapshot"
        )
    after = {location: item for location, item in found.items() if location not in objects}
    return SourceListing(objects, after)


def _list_local(root: SourceRoot) -> dict[str, ListedObject]:
    if not os.path.isdir(root.location):
        raise DatasetError(f"source path {root.location} is not a folder")
    paths = [os.path.join(folder, name) for folder, _dirs, files in os.walk(root.location) for name in files]
    listed = {}
    for path in paths:
        status = os.stat(path)
        listed[path] = ListedObject(status.st_size, status.st_mtime_ns // 1_000_000_000)
    return listed


def _list_s3(root: SourceRoot) -> dict[str, ListedObject]:
    pages = (
        boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=root.bucket, Prefix=root.prefix)
    )
    # Keys ending in "/" are folder markers (console "Create folder"), not uploads.
    return {
        f"s3://{root.bucket}/{item['Key']}": ListedObject(
            int(item["Size"]), whole_seconds(item["LastModified"])
        )
        for page in pages
        for item in page.get("Contents", [])
        if not item["Key"].endswith("/")
    }


def _write_text(uri: str, text: str) -> None:
    if uri.startswith("s3://"):
        bucket, _, key = uri[len("s3://") :].partition("/")
        content_type = "application/json" if key.endswith(".json") else "application/x-ndjson"
        boto3.client("s3").put_object(
            Bucket=bucket, Key=key, Body=text.encode("utf-8"), ContentType=content_type
        )
        return
    path = Path(uri[len("file:") :] if uri.startswith("file:") else uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _write_documents(result: DatasetResult) -> None:
    def jsonl(rows: list[dict[str, Any]]) -> str:
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)

    base = result.dataset_uri
    _write_text(f"{base}/duplicates.jsonl", jsonl(result.duplicates))
    _write_text(f"{base}/quarantine.jsonl", jsonl(result.quarantine))
    _write_text(f"{base}/manifest.json", json.dumps(result.manifest, ensure_ascii=False, indent=1) + "\n")
    # Last: a dataset with stats.json is complete.
    _write_text(f"{base}/stats.json", json.dumps(result.stats, ensure_ascii=False, indent=2) + "\n")


# --- entry point -----------------------------------------------------------------------------------


def main(argv: Sequence[str]) -> int:
    """Parse arguments, get a SparkSession (Glue's or a local one), run the job, report."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    on_glue = getResolvedOptions is not None
    config = parse_arguments(argv, getResolvedOptions if on_glue else None)
    if on_glue:
        glue_context = GlueContext(SparkContext.getOrCreate())
        spark = glue_context.spark_session
        job = Job(glue_context)
        job.init(getResolvedOptions(list(argv), ["JOB_NAME"])["JOB_NAME"], {})
    else:
        spark = local_spark_session(short_lived=True)
        ship_worker_modules(spark)
    try:
        result = prepare_dataset(spark, config)
    except DatasetError as error:
        LOG.error("dataset not usable: %s", error)
        raise
    LOG.info("dataset %s written: %s", result.dataset_uri, json.dumps(result.stats["accounting"]))
    if on_glue:
        job.commit()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
