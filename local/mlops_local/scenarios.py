"""Traffic on a running local runtime: photos sent to the endpoint, then the monitoring schedule run.

The demo, the ``drift`` command and the end-to-end tests show drift the same way: synthetic photos
go to the endpoint as PNG requests, as they are or through one of ``monitoring/traffic_shift.py``'s
shifts; the endpoint's data capture records them; one execution of the monitoring schedule then
runs on what was captured, and ``handle_drift`` reacts to its violations as it does on AWS.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from mlops_local.monitoring_runs import MonitoringRun, run_monitoring_now
from mlops_local.synthetic_images import generate_dataset

if TYPE_CHECKING:
    from mlops_local.runtime import LocalRuntime

# A pure function of an image, as monitoring/traffic_shift.py defines them.
ImageShift = Callable[[Image.Image], Image.Image]


@dataclass
class Traffic:
    """What the endpoint answered to a run of requests, in the order they were sent."""

    statuses: list[int] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    predictions: list[dict[str, Any]] = field(default_factory=list)
    first_error: str | None = None  # the first answer other than 200, with its body's start

    @property
    def sent(self) -> int:
        return len(self.statuses)


@dataclass
class DriftRun:
    """Traffic sent to the endpoint and the monitoring execution that ran on its capture."""

    traffic: Traffic
    monitoring: MonitoringRun


def generate_photos(folder: Path, count: int, *, seed: int) -> list[Path]:
    """About ``count`` new synthetic photos under ``folder``, a quarter per class (one at least)."""
    generated = generate_dataset(folder, images_per_class=max(1, count // 4), seed=seed)
    return [path for paths in generated.images.values() for path in paths]


def send_photos(
    runtime: LocalRuntime, endpoint_name: str, photos: Iterable[Path], *, shift: ImageShift | None = None
) -> Traffic:
    """Send each photo (through ``shift`` when given) to the endpoint as one ``image/png`` request."""
    host = runtime.endpoint_host
    traffic = Traffic()
    for path in photos:
        with Image.open(path) as opened:
            image = opened.convert("RGB")
        buffer = io.BytesIO()
        (shift(image) if shift is not None else image).save(buffer, format="PNG")
        began = time.perf_counter()
        response = host.invoke(endpoint_name, buffer.getvalue(), "image/png")
        traffic.latencies_ms.append((time.perf_counter() - began) * 1000)
        traffic.statuses.append(response.status)
        if response.status == 200:
            traffic.predictions.extend(json.loads(response.body)["predictions"])
        elif traffic.first_error is None:
            traffic.first_error = f"endpoint answered {response.status}: {response.body[:200]!r}"
    return traffic


def send_and_monitor(
    runtime: LocalRuntime,
    endpoint_name: str,
    schedule_name: str,
    photos: Iterable[Path],
    *,
    shift: ImageShift | None = None,
) -> DriftRun:
    """Send ``photos`` (shifted) to the endpoint, then run the monitoring schedule once on the capture."""
    traffic = send_photos(runtime, endpoint_name, photos, shift=shift)
    return DriftRun(traffic, run_monitoring_now(runtime, schedule_name))
