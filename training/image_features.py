"""Numeric features of an image and of a prediction, for data statistics and Model Monitor.

The Glue job (dataset baseline), the evaluation job (monitoring baseline) and the inference
handler (monitored values) all call these functions, so the three can never disagree on what a
feature means. Only numpy and Pillow are used: the module ships in every container.

Image features are computed on luminance ``Y = 0.299 R + 0.587 G + 0.114 B`` scaled to 0..1:
- ``brightness``: mean of Y (0 = black, 1 = white);
- ``contrast``: standard deviation of Y;
- ``sharpness``: variance of the 4-neighbour Laplacian of Y over interior pixels (blur lowers it);
- ``red_ratio``, ``green_ratio``, ``blue_ratio``: each channel's mean divided by the sum of the
  three means (1/3 each for a grey image or a black one);
- ``width``, ``height``: size of the image as received, in pixels.

Prediction features: ``predicted_class`` (index of the top probability), ``top_confidence``
(that probability) and ``margin`` (top minus second; 1.0 for a single-class model).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

IMAGE_FEATURE_NAMES: tuple[str, ...] = (
    "brightness",
    "contrast",
    "sharpness",
    "red_ratio",
    "green_ratio",
    "blue_ratio",
    "width",
    "height",
)
PREDICTION_FEATURE_NAMES: tuple[str, ...] = ("predicted_class", "top_confidence", "margin")
FEATURE_NAMES: tuple[str, ...] = IMAGE_FEATURE_NAMES + PREDICTION_FEATURE_NAMES

_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float64)


def image_features(img: Image.Image, *, received_size: tuple[int, int] | None = None) -> dict[str, float]:
    """Return the image features of ``img`` (any Pillow mode; converted to RGB first).

    ``received_size`` (width, height) overrides the reported size when the pixels given are a
    resized copy of what the client sent: the inference handler measures the image as the model
    sees it, so that its values compare with the dataset's normalised images, and still reports
    the size it received.
    """
    rgb = np.asarray(img.convert("RGB") if img.mode != "RGB" else img, dtype=np.float64) / 255.0
    luminance = rgb @ _LUMA_WEIGHTS
    channel_means = rgb.reshape(-1, 3).mean(axis=0)
    total = float(channel_means.sum())
    ratios = channel_means / total if total > 0 else np.full(3, 1.0 / 3.0)
    width, height = received_size if received_size is not None else img.size
    return {
        "brightness": float(luminance.mean()),
        "contrast": float(luminance.std()),
        "sharpness": _laplacian_variance(luminance),
        "red_ratio": float(ratios[0]),
        "green_ratio": float(ratios[1]),
        "blue_ratio": float(ratios[2]),
        "width": float(width),
        "height": float(height),
    }


def _laplacian_variance(luminance: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian over interior pixels; 0 for images under 3x3."""
    if luminance.shape[0] < 3 or luminance.shape[1] < 3:
        return 0.0
    centre = luminance[1:-1, 1:-1]
    laplacian = (
        luminance[:-2, 1:-1] + luminance[2:, 1:-1] + luminance[1:-1, :-2] + luminance[1:-1, 2:] - 4.0 * centre
    )
    return float(laplacian.var())


def prediction_features(probabilities: Sequence[float], labels: Sequence[str]) -> dict[str, float]:
    """Return ``predicted_class``, ``top_confidence`` and ``margin`` of one probability vector."""
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.ndim != 1 or probs.size == 0 or probs.size != len(labels):
        raise ValueError(f"expected {len(labels)} probabilities, one per label, got shape {probs.shape}")
    top = int(np.argmax(probs))
    ordered = np.sort(probs)
    margin = float(ordered[-1] - ordered[-2]) if probs.size > 1 else 1.0
    return {"predicted_class": top, "top_confidence": float(probs[top]), "margin": margin}
