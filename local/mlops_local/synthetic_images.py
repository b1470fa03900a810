"""Synthetic product photos for the demo, the tests and the benchmarks.

Each image shows a grey cast-metal disc (hub, centre hole, bolt holes) lying on a background, under
varied lighting, position, rotation, tint and sensor noise. Defect classes differ in shape so that a
small CNN tells them apart at 64x64, while the photos stay varied enough to be a real task:

- ``ok``: a clean part;
- ``scratch``: a thin, straight groove, bright with a dark shadow edge;
- ``dent``: a shaded ellipse (bright on the side facing the light, dark on the other);
- ``crack``: a dark, jagged polyline, sometimes with a branch.

Everything is numpy + Pillow (a few milliseconds per image) and deterministic for a seed: the image at
``(seed, source, label, index)`` does not change when ``images_per_class`` or the class list changes.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import shutil
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

DEFECT_KINDS = ("scratch", "dent", "crack")
NORMAL_KIND = "ok"
_FloatImage = np.ndarray  # HxW float32 intensities, 0..1


@dataclass(frozen=True)
class BadFile:
    """One deliberately awkward file and what a careful data-preparation job must do with it."""

    path: Path
    reason: str
    expected: Literal["quarantine", "keep"]


@dataclass
class GeneratedDataset:
    """What ``generate_dataset`` wrote under ``root``."""

    root: Path
    images: dict[str, list[Path]] = field(default_factory=dict)  # valid images per label
    bad_files: list[BadFile] = field(default_factory=list)
    duplicates: list[tuple[Path, Path]] = field(default_factory=list)  # (copy, original)

    @property
    def all_files(self) -> list[Path]:
        """Every file written, valid, bad and duplicate alike."""
        files = [path for paths in self.images.values() for path in paths]
        files += [bad.path for bad in self.bad_files]
        files += [copy for copy, _ in self.duplicates]
        return sorted(files)


def make_image(label: str, *, size: int = 96, seed: int = 0) -> Image.Image:
    """One synthetic RGB photo of a part with the defect named by ``label`` (``ok`` for none)."""
    return _render(label, np.random.default_rng(seed), size)


def generate_dataset(
    root: str | Path,
    *,
    images_per_class: int = 200,
    classes: Sequence[str] = ("ok", "scratch", "dent", "crack"),
    sources: Sequence[str] = ("line-a",),
    image_size: int = 96,
    seed: int = 7,
    bad_files: bool = False,
    duplicates: int = 0,
) -> GeneratedDataset:
    """Write ``root/<source>/<label>/<file>`` images and return what was written.

    ``images_per_class`` valid images per label are spread over ``sources`` (round robin), mostly
    JPEG with some PNG. ``bad_files`` adds the awkward inputs of docs/contracts.md under the first
    source and class; ``duplicates`` adds that many byte-identical copies of existing images.
    """
    unknown = [label for label in classes if label not in (NORMAL_KIND, *DEFECT_KINDS)]
    if unknown:
        raise ValueError(f"unknown classes {unknown}: use {NORMAL_KIND!r} or one of {DEFECT_KINDS}")
    if not sources:
        raise ValueError("at least one source is needed")
    root = Path(root)
    dataset = GeneratedDataset(root=root)
    for label in classes:
        dataset.images[label] = []
        for index in range(images_per_class):
            source = sources[index % len(sources)]
            rng = np.random.default_rng([seed, _stable_id(source), _stable_id(label), index])
            image = _render(label, rng, image_size)
            fmt = "PNG" if rng.random() < 0.2 else "JPEG"
            suffix = ".png" if fmt == "PNG" else ".jpg"
            path = root / source / label / f"{label}-{index:05d}{suffix}"
            _write(path, _encode(image, fmt, quality=int(rng.integers(88, 96))))
            dataset.images[label].append(path)
    if bad_files:
        dataset.bad_files = _write_bad_files(root / sources[0] / classes[0], classes[0], seed, image_size)
    dataset.duplicates = _write_duplicates(dataset, duplicates)
    return dataset


# --- rendering -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scene:
    """Pixel grids and the geometry that every drawing step shares."""

    xx: _FloatImage
    yy: _FloatImage
    cx: float  # centre of the part
    cy: float
    radius: float
    light: np.ndarray  # unit vector pointing to where the light comes from

    @property
    def size(self) -> int:
        return self.xx.shape[0]


def _render(label: str, rng: np.random.Generator, size: int) -> Image.Image:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    light = rng.uniform(0, 2 * np.pi)
    cx, cy = size / 2 + rng.uniform(-0.08, 0.08, 2) * size
    scene = _Scene(
        xx, yy, cx, cy, radius=rng.uniform(0.30, 0.37) * size, light=np.array([np.cos(light), np.sin(light)])
    )
    background = _background(rng, scene)
    part, part_mask = _part(rng, scene)

    if label == "scratch":
        part += _scratch(rng, scene)
    elif label == "dent":
        part += _dent(rng, scene)
    elif label == "crack":
        part += _crack(rng, scene)
    elif label != NORMAL_KIND:
        raise ValueError(f"unknown class {label!r}")

    grey = background * (1 - part_mask) + part * part_mask
    grey *= rng.uniform(0.8, 1.15)  # exposure
    grey += rng.normal(0, rng.uniform(0.004, 0.025), grey.shape).astype(np.float32)  # sensor noise
    tint = 1 + rng.uniform(-0.04, 0.04, 3).astype(np.float32)
    rgb = np.clip(grey[..., None] * tint, 0, 1)
    return Image.fromarray((rgb * 255 + 0.5).astype(np.uint8), "RGB")


def _background(rng: np.random.Generator, scene: _Scene) -> _FloatImage:
    base = rng.uniform(0.12, 0.35) if rng.random() < 0.6 else rng.uniform(0.6, 0.8)
    along_light = (scene.xx * scene.light[0] + scene.yy * scene.light[1]) / scene.size - 0.5
    return base + along_light * rng.uniform(0.05, 0.2) + _smooth_noise(rng, scene.size, amplitude=0.05)


def _part(rng: np.random.Generator, scene: _Scene) -> tuple[_FloatImage, _FloatImage]:
    dx, dy = scene.xx - scene.cx, scene.yy - scene.cy
    dist = np.hypot(dx, dy)
    radius = scene.radius
    facing_light = dx * scene.light[0] + dy * scene.light[1]
    # Directional shading: the side facing the light is brighter.
    part = rng.uniform(0.45, 0.68) + 0.12 * facing_light / radius
    # Bevelled rim and raised hub, lit from the same side.
    rim = np.clip(1 - np.abs(dist - 0.92 * radius) / (0.06 * radius), 0, 1)
    part += 0.08 * rim * np.sign(facing_light)
    part += np.where(dist < 0.35 * radius, rng.uniform(0.04, 0.1), 0)
    part -= 0.1 * np.clip(1 - np.abs(dist - 0.35 * radius) / 1.2, 0, 1)  # hub edge
    part = part + rng.normal(0, 0.015, part.shape).astype(np.float32)  # casting texture
    part = np.where(dist < 0.12 * radius, 0.05, part)  # centre hole
    bolt_angle = rng.uniform(0, 2 * np.pi)
    bolts = int(rng.integers(4, 7))
    for k in range(bolts):
        angle = bolt_angle + 2 * np.pi * k / bolts
        bx, by = scene.cx + 0.6 * radius * np.cos(angle), scene.cy + 0.6 * radius * np.sin(angle)
        part = np.where(np.hypot(scene.xx - bx, scene.yy - by) < 0.06 * radius, 0.08, part)
    mask = np.clip(radius + 0.5 - dist, 0, 1)  # anti-aliased outline
    return part.astype(np.float32), mask.astype(np.float32)


def _scratch(rng: np.random.Generator, scene: _Scene) -> _FloatImage:
    angle = rng.uniform(0, np.pi)
    mx, my = _point_in_disc(rng, scene, 0.35)
    dx, dy = np.array([np.cos(angle), np.sin(angle)]) * rng.uniform(0.35, 0.6) * scene.radius
    width = max(1.5, scene.size / 40)
    bright = _stroke(scene, [(mx - dx, my - dy), (mx + dx, my + dy)], width)
    # The groove's far wall: a thin shadow line beside the bright one.
    nx, ny = np.array([-np.sin(angle), np.cos(angle)]) * width
    shadow = _stroke(scene, [(mx - dx + nx, my - dy + ny), (mx + dx + nx, my + dy + ny)], 1)
    return rng.uniform(0.3, 0.45) * bright - 0.15 * shadow * (1 - bright)


def _dent(rng: np.random.Generator, scene: _Scene) -> _FloatImage:
    ex, ey = _point_in_disc(rng, scene, 0.5)
    a = rng.uniform(0.28, 0.38) * scene.radius
    b = a * rng.uniform(0.6, 0.85)
    angle = rng.uniform(0, np.pi)
    u = (scene.xx - ex) * np.cos(angle) + (scene.yy - ey) * np.sin(angle)
    v = -(scene.xx - ex) * np.sin(angle) + (scene.yy - ey) * np.cos(angle)
    r2 = (u / a) ** 2 + (v / b) ** 2
    inside = np.clip(1 - r2, 0, 1)
    slope = ((scene.xx - ex) * scene.light[0] + (scene.yy - ey) * scene.light[1]) / a
    # A dip in the surface: the wall facing the light is lit, the other one in shadow, and the
    # pressed-in edge catches a thin dark line.
    edge = np.clip(1 - np.abs(np.sqrt(r2) - 1) * a / 1.2, 0, 1)
    return (-0.6 * slope * np.sqrt(inside) - 0.12 * inside - 0.22 * edge).astype(np.float32)


def _crack(rng: np.random.Generator, scene: _Scene) -> _FloatImage:
    course = rng.uniform(0, 2 * np.pi)
    x, y = _point_in_disc(rng, scene, 0.4)
    points = [(x, y)]
    side = rng.choice([-1, 1])
    for _ in range(int(rng.integers(6, 10))):
        # Zig-zag about a general course, so that the crack runs across the part instead of curling.
        side = -side
        heading = course + side * rng.uniform(0.4, 1.0)
        step = rng.uniform(0.1, 0.17) * scene.radius
        x, y = x + step * np.cos(heading), y + step * np.sin(heading)
        points.append((x, y))
    width = max(1.5, scene.size / 40)
    darkness = _stroke(scene, points, width)
    if rng.random() < 0.5:  # a branch from the middle
        bx, by = points[len(points) // 2]
        branch = [(bx, by)]
        branch_heading = heading + rng.choice([-1, 1]) * 1.2
        for _ in range(3):
            branch_heading += rng.uniform(-0.8, 0.8)
            bx += 0.12 * scene.radius * np.cos(branch_heading)
            by += 0.12 * scene.radius * np.sin(branch_heading)
            branch.append((bx, by))
        darkness = np.maximum(darkness, _stroke(scene, branch, width * 0.75))
    return -rng.uniform(0.35, 0.5) * darkness


def _stroke(scene: _Scene, points: list[tuple[float, float]], width: float) -> _FloatImage:
    """Anti-aliased coverage (0..1) of a polyline ``width`` pixels wide."""
    xx, yy = scene.xx, scene.yy
    distance = np.full(xx.shape, np.inf, dtype=np.float32)
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        sx, sy = x1 - x0, y1 - y0
        t = np.clip(((xx - x0) * sx + (yy - y0) * sy) / max(sx * sx + sy * sy, 1e-6), 0, 1)
        distance = np.minimum(distance, np.hypot(xx - (x0 + t * sx), yy - (y0 + t * sy)))
    return np.clip(width / 2 + 0.5 - distance, 0, 1)


def _point_in_disc(rng: np.random.Generator, scene: _Scene, fraction: float) -> tuple[float, float]:
    """A uniform random point within ``fraction`` of the part's radius from its centre."""
    angle, r = rng.uniform(0, 2 * np.pi), fraction * scene.radius * np.sqrt(rng.random())
    return scene.cx + r * np.cos(angle), scene.cy + r * np.sin(angle)


def _smooth_noise(rng: np.random.Generator, size: int, amplitude: float) -> _FloatImage:
    coarse = Image.fromarray(rng.uniform(-amplitude, amplitude, (5, 5)).astype(np.float32), "F")
    return np.asarray(coarse.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32)


def _stable_id(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


# --- files -----------------------------------------------------------------------------------------


def _encode(image: Image.Image, fmt: str, quality: int = 92) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.save(buffer, "JPEG", quality=quality)
    else:
        image.save(buffer, fmt)
    return buffer.getvalue()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _write_bad_files(folder: Path, label: str, seed: int, size: int) -> list[BadFile]:
    rng = np.random.default_rng([seed, _stable_id("bad-files")])

    def photo() -> Image.Image:
        return _render(label, rng, size)

    jpeg = _encode(photo(), "JPEG")
    sixteen_bit = (np.asarray(photo().convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    cases: list[tuple[str, bytes, str, Literal["quarantine", "keep"]]] = [
        ("empty.jpg", b"", "zero-byte file", "quarantine"),
        ("notes.jpg", b"inspection notes: part looked fine\n", "text named .jpg", "quarantine"),
        ("truncated.jpg", jpeg[: len(jpeg) // 2], "truncated JPEG", "quarantine"),
        ("bomb.png", _decompression_bomb_png(12_000, 12_000), "decompression bomb (144 MP)", "quarantine"),
        ("tiny.png", _encode(photo().resize((12, 12)), "PNG"), "too small (12x12)", "quarantine"),
        ("png-named.jpg", _encode(photo(), "PNG"), "PNG bytes named .jpg", "keep"),
        ("cmyk.jpg", _encode(photo().convert("CMYK"), "JPEG"), "CMYK JPEG", "keep"),
        ("sixteen-bit.png", _encode(Image.fromarray(sixteen_bit), "PNG"), "16-bit greyscale", "keep"),
        ("a b.jpg", _encode(photo(), "JPEG"), "space in the name", "keep"),
        ("c++.jpg", _encode(photo(), "JPEG"), "plus signs in the name", "keep"),
        ("café.jpg", _encode(photo(), "JPEG"), "non-ASCII name", "keep"),
        ("x%2By.jpg", _encode(photo(), "JPEG"), "URL escape in the name", "keep"),
    ]
    written = []
    for name, data, reason, expected in cases:
        _write(folder / name, data)
        written.append(BadFile(folder / name, reason, expected))
    return written


def _decompression_bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` 1-bit pixels (its data is cut short)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * ((width + 7) // 8 + 1) * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def _write_duplicates(dataset: GeneratedDataset, count: int) -> list[tuple[Path, Path]]:
    originals = [path for paths in dataset.images.values() for path in paths]
    if count and not originals:
        raise ValueError("duplicates need at least one image to copy")
    copies = []
    for k in range(count):
        original = originals[(k * 7) % len(originals)]
        copy = original.with_name(f"copy-{k:03d}-{original.name}")
        shutil.copyfile(original, copy)
        copies.append((copy, original))
    return copies


def _split_of(key: str, *, validation: float = 0.15, test: float = 0.15) -> str:
    """Deterministic split from a hash of the key."""
    position = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if position < test:
        return "test"
    return "validation" if position < test + validation else "train"


def write_training_shards(
    root: str | Path,
    *,
    images_per_class: int = 200,
    image_size: int = 64,
    classes: Sequence[str] = ("ok", "scratch", "dent", "crack"),
    seed: int = 7,
) -> dict[str, Path]:
    """Generate photos under ``root/raw`` and write ``root/<split>/part-00000.parquet`` directly.

    The Glue job is what writes datasets for real; tests and benchmarks of the training code use
    this instead of starting Spark. Same schema (docs/contracts.md "Dataset"), each photo resized to
    the square training size, a 70/15/15 split by a hash of the key.
    """
    root = Path(root)
    generated = generate_dataset(root / "raw", images_per_class=images_per_class, classes=classes, seed=seed)
    rows = dataset_rows(generated, image_size=image_size)
    folders = {}
    for split in ("train", "validation", "test"):
        folders[split] = write_dataset_shard(root / split, rows.get(split, []))
    return folders


def dataset_rows(
    generated: GeneratedDataset, *, image_size: int, split: str | None = None
) -> dict[str, list[dict[str, object]]]:
    """The dataset rows of ``generated``'s valid photos, resized to ``image_size``, by split.

    Each row is keyed by the photo's path under the generated root, as the Glue job keys objects
    under ``incoming/``. The split is ``split`` for every photo, else a 70/15/15 hash of the key.
    """
    rows: dict[str, list[dict[str, object]]] = {}
    for label, paths in sorted(generated.images.items()):
        for path in paths:
            original = path.read_bytes()
            key = path.relative_to(generated.root).as_posix()
            with Image.open(io.BytesIO(original)) as img:
                fmt, (width, height) = img.format, img.size
                resized = img.convert("RGB").resize((image_size, image_size), Image.Resampling.BILINEAR)
            png = io.BytesIO()
            resized.save(png, format="PNG")
            row_split = split or _split_of(key)
            rows.setdefault(row_split, []).append({
                "key": key, "source": key.split("/")[0], "label": label, "split": row_split,
                "sha256": hashlib.sha256(original).hexdigest(), "image": png.getvalue(),
                "orig_width": width, "orig_height": height, "format": fmt,
            })  # fmt: skip
    return rows


def write_dataset_shard(folder: Path, rows: Sequence[dict[str, object]]) -> Path:
    """Write ``rows`` as ``folder/part-00000.parquet`` in the dataset schema; return ``folder``."""
    import pyarrow as pa  # noqa: PLC0415 - only the training code's tests and benchmarks need it
    import pyarrow.parquet as pq  # noqa: PLC0415

    schema = pa.schema([
        ("key", pa.string()), ("source", pa.string()), ("label", pa.string()), ("split", pa.string()),
        ("sha256", pa.string()), ("image", pa.binary()), ("orig_width", pa.int32()),
        ("orig_height", pa.int32()), ("format", pa.string()),
    ])  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(list(rows), schema=schema), folder / "part-00000.parquet")
    return folder
