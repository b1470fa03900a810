"""Shifted traffic: what a monitored image stream looks like when the world changes.

Used by the demo's ``drift`` command (send shifted images to the endpoint and watch the monitor
react), by the tests and by ``bench/drift.py``. Each image shift is a pure function of a Pillow
image; :func:`sample_traffic` draws a stream with a given class mix.

- :func:`darker`: the line's lighting fails or dims (brightness scaled down);
- :func:`blurred`: the camera is out of focus or vibrates (Gaussian blur);
- :func:`new_camera`: a different camera model: warm colour cast and another resolution;
- a shifted class mix: :data:`DEFECT_OUTBREAK` weights, one defect becoming the majority (a tool
  wears out and scratches most parts), drawn with :func:`sample_traffic`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from PIL import Image, ImageEnhance, ImageFilter

T = TypeVar("T")

ImageShift = Callable[[Image.Image], Image.Image]

# A tool wears out: most parts now come out scratched.
DEFECT_OUTBREAK: Mapping[str, float] = {"scratch": 0.7, "ok": 0.1, "dent": 0.1, "crack": 0.1}


def darker(img: Image.Image, factor: float = 0.6) -> Image.Image:
    """Scale brightness by ``factor`` (< 1 darkens)."""
    return ImageEnhance.Brightness(img.convert("RGB")).enhance(factor)


def blurred(img: Image.Image, radius: float = 1.5) -> Image.Image:
    """Gaussian blur of ``radius`` pixels: an out-of-focus camera."""
    return img.convert("RGB").filter(ImageFilter.GaussianBlur(radius))


def new_camera(
    img: Image.Image,
    *,
    channel_gains: tuple[float, float, float] = (1.12, 1.0, 0.82),
    size: tuple[int, int] = (128, 128),
) -> Image.Image:
    """Another camera: per-channel gains (a warm colour cast by default) and another resolution."""
    red, green, blue = img.convert("RGB").split()
    cast = Image.merge(
        "RGB",
        tuple(
            channel.point(lambda value, gain=gain: min(255, round(value * gain)))
            for channel, gain in zip((red, green, blue), channel_gains, strict=True)
        ),
    )
    return cast.resize(size, Image.Resampling.BILINEAR)


IMAGE_SHIFTS: Mapping[str, ImageShift] = {"darker": darker, "blurred": blurred, "new_camera": new_camera}


def sample_traffic(
    items_by_label: Mapping[str, Sequence[T]],
    count: int,
    *,
    weights: Mapping[str, float] | None = None,
    seed: int = 0,
) -> list[tuple[str, T]]:
    """Draw ``count`` (label, item) pairs with the class mix ``weights`` (default: uniform).

    Items are drawn with replacement within each class, so a small pool yields any traffic volume.
    """
    labels = sorted(label for label, items in items_by_label.items() if items)
    if not labels:
        raise ValueError("no items to draw traffic from")
    mix = weights or dict.fromkeys(labels, 1.0)
    unknown = set(mix) - set(labels)
    if unknown:
        raise ValueError(f"class mix names labels without items: {sorted(unknown)}")
    generator = random.Random(seed)
    chosen = generator.choices(list(mix), weights=list(mix.values()), k=count)
    return [(label, generator.choice(items_by_label[label])) for label in chosen]
