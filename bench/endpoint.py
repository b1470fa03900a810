"""Local endpoint: single-image latency over HTTP, as a client of a real-time endpoint sees it.

A model of the default architecture (``small_cnn``, packed as the pipeline packs it: ``model.pt``
and ``code/``) is served by the local runtime's ``EndpointHost`` with data capture on for every
request, as the pipeline's endpoint config has it. The client keeps one connection open, as boto3's
``invoke_endpoint`` does (urllib3 pools connections), and sends 96x96 JPEG product photos one by
one: a warm-up, then the measured requests. The first request after InService is reported on its
own (the endpoint loads the model and answers a smoke request before it serves).

Baseline, same run: the same endpoint with Nagle's algorithm left on for its connections, as the
server had it before (a keep-alive client then waits for a delayed ACK on every answer).
"""

from __future__ import annotations

import http.client
import io
import shutil
import tarfile
import tempfile
import time
import urllib.parse
from pathlib import Path

import boto3
from moto import mock_aws

from bench.common import ROOT, BenchResult, Figure, use_flat_modules, write_result

use_flat_modules("training")

from defect_model import build_model  # noqa: E402
from model_artifact import save_model_file  # noqa: E402

from mlops_local.executors import endpoint  # noqa: E402
from mlops_local.executors.endpoint import EndpointHost  # noqa: E402
from mlops_local.synthetic_images import make_image  # noqa: E402

LABELS = ["crack", "dent", "ok", "scratch"]
REQUESTS = 1000
WARMUP = 50
TARGET_P99_MS = 25.0
BUCKET = "bench-endpoint"


def model_archive(folder: Path) -> Path:
    """model.tar.gz as a training job leaves it: the model file and the serving code."""
    model_dir = folder / "model"
    model_dir.mkdir()
    save_model_file(
        model_dir / "model.pt", network=build_model("small_cnn", len(LABELS)), arch="small_cnn",
        labels=LABELS, normal_class="ok", image_size=64, mean=[0.42] * 3, std=[0.23] * 3,
        model_version="bench", hyperparameters={},
    )  # fmt: skip
    shutil.copytree(ROOT / "training", model_dir / "code", ignore=shutil.ignore_patterns("__pycache__"))
    archive = folder / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in model_dir.iterdir():
            tar.add(path, arcname=path.name)
    return archive


def photos() -> list[bytes]:
    bodies = []
    for index in range(100):
        buffer = io.BytesIO()
        make_image(LABELS[index % 4], size=96, seed=index).save(buffer, format="JPEG")
        bodies.append(buffer.getvalue())
    return bodies


def latencies(url: str, bodies: list[bytes]) -> tuple[float, list[float]]:
    """(first request ms, the measured requests' ms after the warm-up) over one kept-open connection."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    measured: list[float] = []
    for index in range(WARMUP + REQUESTS):
        started = time.perf_counter()
        connection.request("POST", "/invocations", body=bodies[index % len(bodies)], headers={
            "Content-Type": "image/jpeg", "Accept": "application/json"})  # fmt: skip
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"the endpoint answered {response.status}")
        measured.append((time.perf_counter() - started) * 1000)
    connection.close()
    return measured[0], measured[WARMUP:]


def serve_and_measure(archive: Path, work: Path, name: str, *, nagle: bool) -> tuple[float, list[float]]:
    endpoint._InvocationHandler.disable_nagle_algorithm = not nagle
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.upload_file(str(archive), BUCKET, f"{name}/model.tar.gz")
    host = EndpointHost(s3, work / name, progress=lambda _: None)
    capture = {
        "EnableCapture": True, "InitialSamplingPercentage": 100, "DestinationS3Uri": f"s3://{BUCKET}/capture",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    }  # fmt: skip
    variant = {"VariantName": "AllTraffic", "ModelDataUrl": f"s3://{BUCKET}/{name}/model.tar.gz"}
    try:
        url = host.deploy(name, f"{name}-config", [variant], capture)
        return latencies(url, photos())
    finally:
        host.flush_captures()
        host.stop_all()
        endpoint._InvocationHandler.disable_nagle_algorithm = True


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-endpoint-") as folder, mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        archive = model_archive(Path(folder))
        _, before = serve_and_measure(archive, Path(folder), "nagle", nagle=True)
        first, after = serve_and_measure(archive, Path(folder), "defects", nagle=False)
    how = f"{REQUESTS:,} JPEG requests after {WARMUP} warm-up, one kept-open connection, capture on"
    p50, p99, base_p50, base_p99 = (percentile(after, 0.5), percentile(after, 0.99),
                                    percentile(before, 0.5), percentile(before, 0.99))  # fmt: skip
    baseline_what = "same endpoint, Nagle's algorithm on (before)"
    figures = [
        Figure(what="endpoint latency p50 over HTTP", how=how, result=round(p50, 2), unit="ms",
               baseline=round(base_p50, 2), baseline_what=baseline_what, ratio=round(base_p50 / p50, 1)),
        Figure(what="endpoint latency p99 over HTTP", how=how, result=round(p99, 2), unit="ms",
               baseline=round(base_p99, 2), baseline_what=baseline_what, ratio=round(base_p99 / p99, 1),
               target=f"< {TARGET_P99_MS:.0f} ms", met=p99 < TARGET_P99_MS),
        Figure(what="first request after InService", how="the model is loaded and smoke-tested first",
               result=round(first, 2), unit="ms", target=f"< {TARGET_P99_MS:.0f} ms (warm)",
               met=first < TARGET_P99_MS),
    ]  # fmt: skip
    print(write_result(BenchResult("endpoint", figures, {"requests": REQUESTS, "warmup": WARMUP})))


if __name__ == "__main__":
    main()
