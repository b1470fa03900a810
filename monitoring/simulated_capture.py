"""Data capture of image traffic without a trained model or a running endpoint.

The tests and ``bench/drift.py`` need capture files whose responses look like the endpoint's
(docs/contracts.md "Inference"): per image a label, probabilities and the ``features`` the record
preprocessor reads. Image features come from ``image_features`` exactly as the inference handler
computes them (on the copy ``image_decoding.resize_for_model`` makes, with the size received).
Predictions come from :class:`StandInClassifier`, a deterministic stand-in for a trained model:
right with a fixed probability, with a confidence drawn from the image's own bytes. It has no
opinion about lighting or focus, so image shifts show up in image features only; a class-mix shift
shows up in ``predicted_class``, as it would with a good model.

The tests and the benchmark simulate monitoring the same way: :func:`split_photo_pools` gives
disjoint baseline and traffic photos, :func:`write_stand_in_baseline` the evaluation job's baseline
over the first, :func:`write_traffic_window` one window of (optionally shifted) traffic from the second.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from data_capture import capture_file_path, capture_line
from image_decoding import resize_for_model
from image_features import FEATURE_NAMES, image_features, prediction_features
from model_monitor_format import DEFAULT_DRIFT_THRESHOLD, write_baseline
from PIL import Image
from traffic_shift import ImageShift, sample_traffic

PhotoPool = dict[str, list[Image.Image]]  # decoded photos per label


class StandInClassifier:
    """Deterministic fake classifier: correct with probability ``accuracy`` per image."""

    def __init__(self, labels: Sequence[str], *, accuracy: float = 0.9) -> None:
        self.labels = sorted(labels)
        self.accuracy = accuracy

    def probabilities(self, img: Image.Image, true_label: str) -> list[float]:
        """Class probabilities (in sorted label order) for ``img`` whose real class is ``true_label``."""
        generator = random.Random(hashlib.sha256(img.tobytes()).digest())
        others = [label for label in self.labels if label != true_label]
        predicted = (
            true_label if not others or generator.random() < self.accuracy else generator.choice(others)
        )
        confidence = generator.uniform(0.55, 0.99)
        rest = [generator.random() + 1e-6 for _ in others]
        scale = (1.0 - confidence) / sum(rest) if rest else 0.0
        remaining = iter(rest)
        return [confidence if label == predicted else next(remaining) * scale for label in self.labels]


def served_features(img: Image.Image, image_size: int) -> dict[str, float]:
    """Image features as the inference handler computes them: on the model-sized copy, size as received."""
    rgb = img.convert("RGB")
    return image_features(resize_for_model(rgb, image_size), received_size=rgb.size)


def inference_response(
    batch: Sequence[tuple[str, Image.Image]],
    classifier: StandInClassifier,
    *,
    image_size: int = 96,
    model_version: str = "stand-in",
) -> dict[str, Any]:
    """The endpoint's JSON response for ``batch`` of (true label, image), features included."""
    predictions = []
    for true_label, img in batch:
        probabilities = classifier.probabilities(img, true_label)
        features = served_features(img, image_size) | prediction_features(probabilities, classifier.labels)
        top = max(range(len(probabilities)), key=probabilities.__getitem__)
        predictions.append(
            {
                "label": classifier.labels[top],
                "confidence": probabilities[top],
                "probabilities": dict(zip(classifier.labels, probabilities, strict=True)),
                "features": features,
            }
        )
    return {"model_version": model_version, "predictions": predictions}


def write_capture(
    variant_dir: str | Path,
    traffic: Sequence[tuple[str, Image.Image]],
    classifier: StandInClassifier,
    *,
    moment: datetime,
    name: str = "capture",
    batch_size: int = 1,
    image_size: int = 96,
) -> Path:
    """Write ``traffic`` as one capture file for ``moment``'s hour; requests of ``batch_size`` images.

    Single images are sent as ``image/png``; batches as ``application/json`` ``{"images": [...]}``.
    """
    lines = []
    for start in range(0, len(traffic), batch_size):
        batch = traffic[start : start + batch_size]
        encoded = [_png(img) for _, img in batch]
        if batch_size == 1:
            body, content_type = encoded[0], "image/png"
        else:
            images = [base64.b64encode(data).decode("ascii") for data in encoded]
            body, content_type = json.dumps({"images": images}).encode(), "application/json"
        response = inference_response(batch, classifier, image_size=image_size)
        lines.append(
            capture_line(
                request_body=body,
                request_content_type=content_type,
                response_body=json.dumps(response).encode(),
                inference_time=moment,
            )
        )
    path = capture_file_path(variant_dir, moment, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load_photos(paths: Iterable[Path]) -> list[Image.Image]:
    """Decode each photo to RGB in memory."""
    images = []
    for path in paths:
        with Image.open(path) as img:
            images.append(img.convert("RGB"))
    return images


def split_photo_pools(
    photos_by_label: Mapping[str, Sequence[Path]], baseline_per_class: int
) -> tuple[PhotoPool, PhotoPool]:
    """(baseline pool, traffic pool): each label's first ``baseline_per_class`` photos, then the rest."""
    baseline = {label: load_photos(paths[:baseline_per_class]) for label, paths in photos_by_label.items()}
    traffic = {label: load_photos(paths[baseline_per_class:]) for label, paths in photos_by_label.items()}
    return baseline, traffic


def write_stand_in_baseline(
    pool: Mapping[str, Sequence[Image.Image]],
    classifier: StandInClassifier,
    out_dir: Path,
    *,
    drift_threshold: float = DEFAULT_DRIFT_THRESHOLD,
) -> Path:
    """The evaluation job's baseline over every photo of ``pool`` (labels in order); returns ``out_dir``."""
    batch = [(label, img) for label, images in sorted(pool.items()) for img in images]
    rows = [prediction["features"] for prediction in inference_response(batch, classifier)["predictions"]]
    write_baseline(rows, out_dir, drift_threshold=drift_threshold, feature_names=FEATURE_NAMES)
    return out_dir


def write_traffic_window(
    variant_dir: str | Path,
    pool: Mapping[str, Sequence[Image.Image]],
    count: int,
    classifier: StandInClassifier,
    *,
    moment: datetime,
    shift: ImageShift | None = None,
    weights: Mapping[str, float] | None = None,
    seed: int = 0,
    batch_size: int = 1,
) -> Path:
    """Draw ``count`` images from ``pool`` (class mix ``weights``), apply ``shift``, write their capture."""
    traffic = sample_traffic(pool, count, weights=weights, seed=seed)
    if shift is not None:
        traffic = [(label, shift(img)) for label, img in traffic]
    return write_capture(variant_dir, traffic, classifier, moment=moment, batch_size=batch_size)


def _png(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    img.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()
