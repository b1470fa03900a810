"""Traffic scenarios: photos to the endpoint as PNG requests, then one monitoring run."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps

from mlops_local import scenarios
from mlops_local.executors.endpoint import InvocationResponse
from mlops_local.monitoring_runs import MonitoringRun


class RecordingHost:
    """An endpoint host that answers from a script and keeps the requests it got."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = iter(statuses)
        self.requests: list[tuple[str, bytes, str]] = []

    def invoke(self, endpoint_name: str, body: bytes, content_type: str) -> InvocationResponse:
        self.requests.append((endpoint_name, body, content_type))
        status = next(self.statuses)
        payload = {"predictions": [{"label": "ok"}]} if status == 200 else {"message": "model error"}
        return InvocationResponse(status, json.dumps(payload).encode(), "application/json", "AllTraffic")


class FakeRuntime:
    def __init__(self, statuses: list[int]) -> None:
        self.endpoint_host = RecordingHost(statuses)


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    return scenarios.generate_photos(tmp_path / "photos", 8, seed=3)


def test_generated_photos_are_a_quarter_per_class_under_label_folders(photos: list[Path]) -> None:
    labels = Counter(path.parent.name for path in photos)

    assert labels == dict.fromkeys(("ok", "scratch", "dent", "crack"), 2)


def test_every_photo_is_sent_as_png_through_the_shift(photos: list[Path]) -> None:
    runtime: Any = FakeRuntime([200] * len(photos))

    traffic = scenarios.send_photos(runtime, "defects", photos, shift=ImageOps.invert)

    assert traffic.sent == len(photos) == len(traffic.latencies_ms)
    assert traffic.predictions == [{"label": "ok"}] * len(photos)
    assert traffic.first_error is None
    name, body, content_type = runtime.endpoint_host.requests[0]
    assert (name, content_type) == ("defects", "image/png")
    with Image.open(photos[0]) as original:
        expected = ImageOps.invert(original.convert("RGB"))
    assert Image.open(io.BytesIO(body)).tobytes() == expected.tobytes()


def test_refused_requests_are_counted_and_the_first_error_kept(photos: list[Path]) -> None:
    runtime: Any = FakeRuntime([200, 500, 200, 400, 200, 200, 200, 200])

    traffic = scenarios.send_photos(runtime, "defects", photos)

    assert traffic.statuses == [200, 500, 200, 400, 200, 200, 200, 200]
    assert len(traffic.predictions) == 6
    assert traffic.first_error is not None
    assert traffic.first_error.startswith("endpoint answered 500: ")
    assert "model error" in traffic.first_error


def test_monitoring_runs_once_after_the_traffic(photos: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    runtime: Any = FakeRuntime([200] * len(photos))
    calls: list[tuple[str, int]] = []

    def run_now(runtime: Any, schedule_name: str) -> MonitoringRun:
        calls.append((schedule_name, len(runtime.endpoint_host.requests)))
        return MonitoringRun("job", "Completed", "CompletedWithViolations: 1", None, {"brightness": 0.4})

    monkeypatch.setattr(scenarios, "run_monitoring_now", run_now)

    drift = scenarios.send_and_monitor(runtime, "defects", "defects-data-quality", photos)

    assert calls == [("defects-data-quality", len(photos))]
    assert drift.traffic.sent == len(photos)
    assert drift.monitoring.distances == {"brightness": 0.4}
