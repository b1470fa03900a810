"""Per-object work of the data-preparation job: place, validate, hash, normalise, measure, split.

Pure functions of the bytes (no Spark, no I/O), so the rules are tested directly and the Spark job
only maps them over partitions. Validation is by content, never by file name: the format comes from
the decoder, every image is fully decoded (``verify()`` lets truncated JPEGs through), and a
decompression bomb is an error, not Pillow's warning.

Normalisation is ``image_decoding.to_rgb`` then ``image_decoding.resize_for_model``: the very
functions the inference handler applies to a request, so training and serving see the same pixels.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from image_decoding import resize_for_model, to_rgb
from image_features import image_features
from object_layout import SourceRoot, location_from_spark_path, place_object
from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "BMP", "TIFF", "WEBP"})
# Modes with a well-defined RGB conversion (to_rgb rescales 16-bit and composites alpha on white).
CONVERTIBLE_MODES = frozenset(
    {"1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr", "I;16", "I;16B", "I;16L", "I"}
)
SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class ImageLimits:
    """What an acceptable image looks like before normalisation."""

    min_side: int = 32
    max_side: int = 10_000
    max_pixels: int = 50_000_000


class ImageRejected(ValueError):
    """The bytes are not an acceptable image; ``reason`` is ``<code>: <detail>``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.reason = f"{code}: {detail}"


@dataclass(frozen=True)
class PreparedImage:
    """One valid image, normalised, with what the dataset statistics need from it."""

    sha256: str
    png: bytes  # the normalised image (RGB, image_size x image_size)
    orig_width: int
    orig_height: int
    format: str
    channel_sum: tuple[float, float, float]  # over pixels, 0..1 scale
    channel_sum_sq: tuple[float, float, float]
    pixels: int
    features: dict[str, float] = field(default_factory=dict)


def content_hash(data: bytes) -> str:
    """Hex SHA-256 of the original bytes: the identity used for deduplication and splitting."""
    return hashlib.sha256(data).hexdigest()


def decode_validated(data: bytes, limits: ImageLimits) -> Image.Image:
    """Fully decode ``data`` or raise ImageRejected with the first rule it breaks."""
    if not data:
        raise ImageRejected("empty_file", "zero bytes")
    with warnings.catch_warnings():
        # Pillow only warns between 1x and 2x its pixel limit: treat the warning as the bomb it is.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageRejected("decompression_bomb", str(exc)) from exc
        except UnidentifiedImageError as exc:
            raise ImageRejected("unrecognised_format", "not an image Pillow can identify") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageRejected("corrupt", f"unreadable header: {exc}") from exc
        if image.format not in ALLOWED_FORMATS:
            raise ImageRejected("unsupported_format", f"{image.format}; allowed: {sorted(ALLOWED_FORMATS)}")
        width, height = image.size
        if width * height > limits.max_pixels:
            raise ImageRejected("decompression_bomb", f"{width}x{height} exceeds {limits.max_pixels} pixels")
        if max(width, height) > limits.max_side:
            raise ImageRejected("too_large", f"{width}x{height}, largest side allowed {limits.max_side}")
        if min(width, height) < limits.min_side:
            raise ImageRejected("too_small", f"{width}x{height}, smallest side allowed {limits.min_side}")
        try:
            image.load()
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ImageRejected("truncated_or_corrupt", f"full decode failed: {exc}") from exc
    if image.mode not in CONVERTIBLE_MODES:
        raise ImageRejected("unsupported_mode", f"{image.mode} has no defined RGB conversion")
    return image


def normalise(image: Image.Image, image_size: int) -> Image.Image:
    """RGB, ``image_size`` x ``image_size``: the model's input, exactly as serving prepares it."""
    return resize_for_model(to_rgb(image), image_size)


def prepare_image(data: bytes, *, image_size: int, limits: ImageLimits) -> PreparedImage:
    """Validate and normalise one image and measure it; raise ImageRejected when it is not usable."""
    image = decode_validated(data, limits)
    normalised = normalise(image, image_size)
    pixels = np.asarray(normalised, dtype=np.float64).reshape(-1, 3) / 255.0
    buffer = io.BytesIO()
    normalised.save(buffer, "PNG")
    return PreparedImage(
        sha256=content_hash(data),
        png=buffer.getvalue(),
        orig_width=image.width,
        orig_height=image.height,
        format=str(image.format),
        channel_sum=_triple(pixels.sum(axis=0)),
        channel_sum_sq=_triple((pixels**2).sum(axis=0)),
        pixels=len(pixels),
        # Measured as the model sees the image, reporting the size it arrived with: the same call
        # the inference handler makes, so monitoring compares like with like.
        features=image_features(normalised, received_size=(image.width, image.height)),
    )


def assign_split(sha256: str, *, val_fraction: float, test_fraction: float) -> str:
    """The split of an image from its content hash alone.

    The first 60 bits of the hash are a uniform number in [0, 1): below ``test_fraction`` is test,
    below ``test_fraction + val_fraction`` validation, the rest train. An image keeps its split
    across reruns and when other images are added, and identical bytes can never land in two
    splits. Each class is split by the same rule, so every class gets the fractions (in
    expectation: a class of n images has binomial counts per split).
    """
    check_fractions(val_fraction, test_fraction)
    position = int(sha256[:15], 16) / float(16**15)
    if position < test_fraction:
        return "test"
    if position < test_fraction + val_fraction:
        return "validation"
    return "train"


def check_fractions(val_fraction: float, test_fraction: float) -> None:
    """Raise ValueError unless both fractions are in [0, 1) and leave some images for training."""
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(
            f"val_fraction={val_fraction} and test_fraction={test_fraction} must be in [0, 1)"
            " and leave a training share"
        )


def _triple(values: np.ndarray) -> tuple[float, float, float]:
    return float(values[0]), float(values[1]), float(values[2])


# --- one object, one row ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparationSettings:
    """Everything the per-object work needs, shipped to the Spark workers with the function."""

    roots: tuple[SourceRoot, ...]
    image_size: int
    val_fraction: float
    test_fraction: float
    limits: ImageLimits = ImageLimits()


def object_record(
    spark_path: str, data: bytes, settings: PreparationSettings, modified: int | None = None
) -> dict[str, Any]:
    """The dataset row of one object read by Spark: ``reason`` is set when it is quarantined.

    ``modified``: the object's modification time (S3 LastModified) in whole seconds, passed through
    so the driver can tell new uploads from ones an earlier run covered.
    """
    place = place_object(location_from_spark_path(spark_path), list(settings.roots))
    record: dict[str, Any] = dict.fromkeys(RECORD_FIELDS)
    record.update(
        location=place.location, key=place.key, source=place.source, label=place.label, modified=modified
    )
    if place.problem is not None:
        record["reason"] = place.problem
        return record
    try:
        prepared = prepare_image(data, image_size=settings.image_size, limits=settings.limits)
    except ImageRejected as rejected:
        record["reason"] = rejected.reason
        return record
    record.update(
        sha256=prepared.sha256,
        split=assign_split(
            prepared.sha256, val_fraction=settings.val_fraction, test_fraction=settings.test_fraction
        ),
        image=prepared.png,
        orig_width=prepared.orig_width,
        orig_height=prepared.orig_height,
        format=prepared.format,
        channel_sum=list(prepared.channel_sum),
        channel_sum_sq=list(prepared.channel_sum_sq),
        pixels=prepared.pixels,
        features=prepared.features,
    )
    return record


RECORD_FIELDS = (
    "location",
    "key",
    "source",
    "label",
    "reason",
    "sha256",
    "split",
    "image",
    "orig_width",
    "orig_height",
    "format",
    "channel_sum",
    "channel_sum_sq",
    "pixels",
    "features",
    "modified",
)


def prepare_batches(batches: Iterator[pd.DataFrame], settings: PreparationSettings) -> Iterator[pd.DataFrame]:
    """``mapInPandas`` body: ``binaryFile`` rows (``path``, ``content``, optional ``modified``) in,
    one record per object out."""
    for batch in batches:
        modified = batch["modified"] if "modified" in batch else [None] * len(batch)
        records = [
            object_record(
                path,
                bytes(content) if content is not None else b"",
                settings,
                None if moment is None or pd.isna(moment) else int(moment),
            )
            for path, content, moment in zip(batch["path"], batch["content"], modified, strict=True)
        ]
        yield pd.DataFrame.from_records(records, columns=list(RECORD_FIELDS))
