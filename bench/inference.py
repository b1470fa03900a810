"""Serving: single-image latency (p50/p99) and batch throughput of the inference handler.

Each request goes through the real handler functions, ``input_fn -> predict_fn -> output_fn``, with
a model of the default architecture as ``train.py`` saves it (weights do not change the cost).
Requests are 96x96 synthetic product photos, JPEG for single images and a JSON batch of 64
base64 PNGs for throughput. Torch runs with 1 thread, as one serving worker per core does.
"""

from __future__ import annotations

import base64
import io
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import BenchResult, Figure, use_flat_modules, write_result

use_flat_modules("training")

import torch  # noqa: E402
from defect_model import build_model  # noqa: E402
from inference import MAX_IMAGES_PER_REQUEST, input_fn, model_fn, output_fn, predict_fn  # noqa: E402
from model_artifact import save_model_file  # noqa: E402

from mlops_local.synthetic_images import make_image  # noqa: E402

LABELS = ["crack", "dent", "ok", "scratch"]
SINGLE_REQUESTS = 300
BATCH_REQUESTS = 20
WARMUP = 10


def encoded(label: str, seed: int, fmt: str) -> bytes:
    buffer = io.BytesIO()
    make_image(label, size=96, seed=seed).save(buffer, format=fmt)
    return buffer.getvalue()


def handle(model, body: bytes, content_type: str) -> str:
    text, _content_type = output_fn(predict_fn(input_fn(body, content_type), model), "application/json")
    return text


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="bench-inference-") as work:
        save_model_file(
            Path(work) / "model.pt", network=build_model("small_cnn", len(LABELS)), arch="small_cnn",
            labels=LABELS, normal_class="ok", image_size=64, mean=[0.42] * 3, std=[0.23] * 3,
            model_version="bench", hyperparameters={},
        )  # fmt: skip
        model = model_fn(work)
    singles = [encoded(LABELS[i % 4], i, "JPEG") for i in range(SINGLE_REQUESTS)]
    pngs = [encoded(LABELS[i % 4], i, "PNG") for i in range(MAX_IMAGES_PER_REQUEST)]
    batch = json.dumps({"images": [base64.b64encode(png).decode() for png in pngs]}).encode()
    for body in singles[:WARMUP]:
        handle(model, body, "image/jpeg")
    latencies = []
    for body in singles:
        started = time.perf_counter()
        handle(model, body, "image/jpeg")
        latencies.append((time.perf_counter() - started) * 1000)
    batch_seconds = []
    for _ in range(BATCH_REQUESTS):
        started = time.perf_counter()
        handle(model, batch, "application/json")
        batch_seconds.append(time.perf_counter() - started)
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    batch_throughput = MAX_IMAGES_PER_REQUEST / statistics.median(batch_seconds)
    single_throughput = 1000 / statistics.median(latencies)
    single_how = f"{SINGLE_REQUESTS} JPEG requests through the handler, 1 thread"
    batch_how = f"JSON batches of {MAX_IMAGES_PER_REQUEST} base64 PNGs, median of {BATCH_REQUESTS}, 1 thread"
    figures = [
        Figure(what="single-image latency p50", how=single_how, result=round(p50, 2), unit="ms"),
        Figure(what="single-image latency p99", how=single_how, result=round(p99, 2), unit="ms"),
        Figure(
            what="batch throughput", how=batch_how, result=round(batch_throughput, 1), unit="images/s",
            baseline=round(single_throughput, 1), baseline_what="one image per request",
            ratio=round(batch_throughput / single_throughput, 2),
        ),
    ]  # fmt: skip
    path = write_result(
        BenchResult(
            name="inference",
            figures=figures,
            details={
                "torch": torch.__version__,
                "threads": 1,
                "image": "96x96 synthetic photo",
                "model": "small_cnn",
            },
        )
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
