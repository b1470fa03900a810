"""Evaluation processing job: challenger versus champion on the same test split, and the
challenger's Model Monitor baseline.

Writes ``evaluation.json`` (docs/contracts.md "Evaluation") for the gate, and ``statistics.json`` +
``constraints.json`` (Model Monitor's format) from the monitoring features of the test images and
the challenger's predictions, computed exactly as the endpoint computes them per request.

Models are scored by label name, so a champion trained on another label set is still compared on
the same images: a prediction of a label the test split does not have is wrong, and the champion's
entry says which labels differ. The challenger's entry carries the summary of its training
diagnostics (``diagnostics.json`` beside its ``model.pt``) on to the gate and the notifications.
Models run on the GPU when the processing instance has one, else on the CPU.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tarfile
from pathlib import Path
from typing import Any

import defect_model
import numpy as np
import torch
from classification_metrics import classification_report
from devices import select_device
from image_decoding import resize_for_model
from image_features import image_features, prediction_features
from model_artifact import LoadedModel, find_model_source, load_diagnostics, load_model
from model_monitor_format import DEFAULT_DRIFT_THRESHOLD, write_baseline
from parquet_dataset import ImageSplit, load_split
from PIL import Image

LOG = logging.getLogger("evaluate")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Arguments of the processing job; defaults are the processing container's paths."""
    parser = argparse.ArgumentParser(
        description="Score challenger and champion; write the monitoring baseline."
    )
    parser.add_argument("--challenger-model", type=Path, default=Path("/opt/ml/processing/challenger"))
    parser.add_argument("--champion-model", type=Path, default=Path("/opt/ml/processing/champion"))
    parser.add_argument("--test-data", type=Path, default=Path("/opt/ml/processing/test"))
    parser.add_argument("--evaluation-dir", type=Path, default=Path("/opt/ml/processing/evaluation"))
    parser.add_argument("--baseline-dir", type=Path, default=Path("/opt/ml/processing/baseline"))
    parser.add_argument("--drift-threshold", type=float, default=DEFAULT_DRIFT_THRESHOLD)
    return parser.parse_args(argv)


def model_images(split: ImageSplit, model: LoadedModel) -> np.ndarray:
    """The split's images at the model's input size."""
    if split.image_size == model.image_size:
        return split.images
    return np.stack([
        np.asarray(resize_for_model(Image.fromarray(img), model.image_size)) for img in split.images
    ])  # fmt: skip


def score_model(
    model: LoadedModel, split: ImageSplit, labels: list[str], normal_class: str
) -> tuple[dict[str, Any], np.ndarray]:
    """The evaluation entry ``M`` of one model on the split, and its probabilities (N x classes)."""
    probabilities = defect_model.predict_probabilities(
        model.network, model_images(split, model), model.mean, model.std
    )
    predicted = [model.labels[i] for i in probabilities.argmax(axis=1)]
    report = classification_report(split.labels, predicted, labels, normal_class)
    entry = {"model_version": model.model_version, **report}
    missing = sorted(set(split.labels) - set(model.labels))
    extra = sorted(set(model.labels) - set(labels))
    if missing or extra:
        entry["label_mismatch"] = {
            "model_labels": model.labels,
            "missing_labels": missing,  # test labels the model cannot predict: always wrong
            "unknown_labels": extra,  # model labels absent from the test split: wrong when predicted
        }
    return entry, probabilities


def baseline_rows(split: ImageSplit, model: LoadedModel, probabilities: np.ndarray) -> list[dict[str, float]]:
    """One row of monitoring features per test image, as the endpoint would report it.

    Image features are measured on the normalised image (what the endpoint measures after
    resizing) and report the original upload's size (what clients send).
    """
    rows = []
    for img, orig_size, probs in zip(
        model_images(split, model), split.orig_sizes, probabilities, strict=True
    ):
        row = image_features(Image.fromarray(img), received_size=orig_size)
        row.update(prediction_features(probs, model.labels))
        rows.append(row)
    return rows


def load_champion(
    location: Path, device: torch.device | None = None
) -> tuple[LoadedModel | None, str | None]:
    """The champion model (on ``device``), or None with the reason it is absent or unusable."""
    if find_model_source(location) is None:
        return None, None
    try:
        return load_model(location, device), None
    except Exception as exc:  # an unreadable champion must not block every future model
        LOG.exception("champion model at %s cannot be loaded", location)
        return None, f"champion model could not be loaded: {exc}"


def diagnostics_summary(location: Path) -> dict[str, Any] | None:
    """The ``status``, ``issues`` and ``checks`` of a model's training diagnostics; None when it has
    none or they cannot be read (they inform, they never block an evaluation)."""
    try:
        document = load_diagnostics(location)
    except (OSError, ValueError, tarfile.TarError) as exc:
        LOG.warning("training diagnostics of %s cannot be read: %s", location, exc)
        return None
    if document is None:
        return None
    return {key: document[key] for key in ("status", "issues", "checks") if key in document}


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Run the evaluation and write its outputs; returns the evaluation document."""
    device = select_device()
    challenger = load_model(args.challenger_model, device)
    champion, champion_error = load_champion(args.champion_model, device)
    split = load_split(args.test_data)
    labels = sorted(set(split.labels) | set(challenger.labels))
    normal_class = challenger.normal_class
    challenger_entry, challenger_probabilities = score_model(challenger, split, labels, normal_class)
    challenger_entry["diagnostics"] = diagnostics_summary(args.challenger_model)
    champion_entry = score_model(champion, split, labels, normal_class)[0] if champion else None
    document: dict[str, Any] = {
        "labels": labels,
        "normal_class": normal_class,
        "test_samples": len(split),
        "challenger": challenger_entry,
        "champion": champion_entry,
    }
    if champion_error:
        document["champion_error"] = champion_error
    args.evaluation_dir.mkdir(parents=True, exist_ok=True)
    (args.evaluation_dir / "evaluation.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    write_baseline(
        baseline_rows(split, challenger, challenger_probabilities),
        args.baseline_dir,
        drift_threshold=args.drift_threshold,
    )
    return document


def main(argv: list[str] | None = None) -> int:
    """Entry point of the processing job."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    document = evaluate(parse_args(sys.argv[1:] if argv is None else argv))
    champion = document["champion"]
    LOG.info(
        "challenger %s: accuracy %.4f, min defect recall %.4f; champion: %s",
        document["challenger"]["model_version"], document["challenger"]["accuracy"],
        document["challenger"]["min_defect_recall"],
        f"{champion['model_version']} accuracy {champion['accuracy']:.4f}" if champion else "none",
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
