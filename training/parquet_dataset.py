"""Loading a dataset split (a folder of Parquet shards, docs/contracts.md "Dataset") into memory.

The datasets this pipeline trains on are small images (``image_size`` x ``image_size``), so a
split is decoded once into one uint8 array; epochs then cost no decoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from image_decoding import decode_image, image_to_array, resize_for_model

COLUMNS = ("key", "label", "image", "orig_width", "orig_height")


@dataclass
class ImageSplit:
    """One split in memory: images (N x H x W x 3 uint8), label names and provenance per row."""

    images: np.ndarray
    labels: list[str]
    keys: list[str]
    orig_sizes: list[tuple[int, int]]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def image_size(self) -> int:
        return int(self.images.shape[1])


def shard_paths(folder: Path) -> list[Path]:
    """Parquet shards under ``folder`` (any depth), in a stable order."""
    return sorted(path for path in folder.rglob("*.parquet") if path.is_file())


def load_split(folder: Path, *, image_size: int | None = None) -> ImageSplit:
    """Decode every row of the shards under ``folder``; rows are ordered by key for determinism.

    Images are resized to ``image_size`` when given (the dataset's images already have the size,
    so this only matters for a dataset written with another one).
    """
    shards = shard_paths(folder)
    if not shards:
        raise FileNotFoundError(f"no Parquet shards under {folder}")
    rows: list[tuple[str, str, bytes, int, int]] = []
    for shard in shards:
        table = pq.read_table(shard, columns=list(COLUMNS))
        columns = [table.column(name).to_pylist() for name in COLUMNS]
        rows.extend(zip(*columns, strict=True))
    rows.sort(key=lambda row: row[0])
    images = []
    for key, _label, data, _width, _height in rows:
        try:
            img = decode_image(data)
        except ValueError as exc:
            raise ValueError(f"row {key!r} in {folder}: {exc}") from exc
        if image_size is not None:
            img = resize_for_model(img, image_size)
        images.append(image_to_array(img))
    sizes = {array.shape for array in images}
    if len(sizes) > 1:
        raise ValueError(f"images in {folder} differ in size: {sorted(sizes)}")
    return ImageSplit(
        images=np.stack(images),
        labels=[row[1] for row in rows],
        keys=[row[0] for row in rows],
        orig_sizes=[(int(row[3]), int(row[4])) for row in rows],
    )
