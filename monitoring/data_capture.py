"""SageMaker data capture files: the record layout, reading a window of them, writing them.

An endpoint with data capture on writes JSON Lines files under
``<capture prefix>/<endpoint>/<variant>/<yyyy>/<mm>/<dd>/<hh>/<file>.jsonl``, one record per line::

    {"captureData": {
        "endpointInput": {"observedContentType": "image/jpeg", "mode": "INPUT",
                          "data": "<base64>", "encoding": "BASE64"},
        "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                           "data": "{\\"predictions\\": ...}", "encoding": "JSON"}},
     "eventMetadata": {"eventId": "<uuid>", "inferenceTime": "2026-11-20T23:33:12Z"},
     "eventVersion": "0"}

:class:`InferenceRecord` mirrors the object Model Monitor's analyzer hands to a record preprocessor
(``endpoint_input``, ``endpoint_output``, ``event_metadata``, ``event_version``), so the local
analyzer runs ``record_preprocessor.py`` exactly as the built-in container does.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_LOG = logging.getLogger("data_capture")


@dataclass(frozen=True)
class EventData:
    """``endpointInput`` or ``endpointOutput`` of a captured record."""

    data: str | None
    encoding: str | None
    observedContentType: str | None  # the analyzer's attribute name
    mode: str | None

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> EventData:
        """Build from the captured JSON object."""
        return cls(
            data=value.get("data"),
            encoding=value.get("encoding"),
            observedContentType=value.get("observedContentType"),
            mode=value.get("mode"),
        )


@dataclass(frozen=True)
class EventMetadata:
    """``eventMetadata`` of a captured record."""

    event_id: str | None
    event_time: str | None
    custom_attribute: Any = None


@dataclass(frozen=True)
class InferenceRecord:
    """One captured request/response pair, shaped as the analyzer gives it to a record preprocessor."""

    endpoint_input: EventData | None
    endpoint_output: EventData | None
    event_metadata: EventMetadata | None
    event_version: str | None

    @classmethod
    def from_dict(cls, event: Mapping[str, Any]) -> InferenceRecord:
        """Build from one parsed capture line (missing parts become ``None``, as in the analyzer)."""
        capture = event.get("captureData")
        capture = capture if isinstance(capture, dict) else {}
        metadata = event.get("eventMetadata")
        return cls(
            endpoint_input=_event_data(capture.get("endpointInput")),
            endpoint_output=_event_data(capture.get("endpointOutput")),
            event_metadata=EventMetadata(
                event_id=metadata.get("eventId"),
                event_time=metadata.get("inferenceTime"),
                custom_attribute=metadata.get("customAttributes"),
            )
            if isinstance(metadata, dict)
            else None,
            event_version=event.get("eventVersion"),
        )


def _event_data(value: Any) -> EventData | None:
    return EventData.from_dict(value) if isinstance(value, dict) else None


@dataclass(frozen=True)
class UnreadableLine:
    """A capture line that is not a JSON object, and where it was."""

    path: Path
    line_number: int
    reason: str


def read_records(paths: list[Path]) -> tuple[list[InferenceRecord], list[UnreadableLine]]:
    """Parse every line of ``paths``; lines that are not JSON objects are returned apart, never raised."""
    records: list[InferenceRecord] = []
    unreadable: list[UnreadableLine] = []
    for path in paths:
        for line_number, line in _lines(path):
            try:
                event = json.loads(line)
            except json.JSONDecodeError as error:
                unreadable.append(UnreadableLine(path, line_number, f"not JSON ({error.msg})"))
                continue
            if not isinstance(event, dict):
                unreadable.append(UnreadableLine(path, line_number, "not a JSON object"))
                continue
            records.append(InferenceRecord.from_dict(event))
    for problem in unreadable:
        _LOG.warning("skipping %s line %d: %s", problem.path, problem.line_number, problem.reason)
    return records, unreadable


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def window_files(variant_dir: str | Path, start: datetime, end: datetime) -> list[Path]:
    """Capture files of the hours overlapping ``[start, end)`` under ``<endpoint>/<variant>/``.

    Like the built-in analyzer, the window is chosen by the ``yyyy/mm/dd/hh`` folders the capture
    is written into (UTC), which is how a schedule's hourly execution finds "the last hour".
    """
    root = Path(variant_dir)
    files: list[Path] = []
    hour = _utc(start).replace(minute=0, second=0, microsecond=0)
    while hour < _utc(end):
        folder = root / f"{hour:%Y}" / f"{hour:%m}" / f"{hour:%d}" / f"{hour:%H}"
        if folder.is_dir():
            files.extend(sorted(folder.glob("*.jsonl")))
        hour += timedelta(hours=1)
    return files


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def capture_line(
    *,
    request_body: bytes,
    request_content_type: str,
    response_body: bytes,
    response_content_type: str = "application/json",
    inference_time: datetime,
    event_id: str | None = None,
) -> str:
    """One capture record as the endpoint writes it: JSON bodies inline, anything else base64."""
    return json.dumps(
        {
            "captureData": {
                "endpointInput": _captured(request_body, request_content_type, "INPUT"),
                "endpointOutput": _captured(response_body, response_content_type, "OUTPUT"),
            },
            "eventMetadata": {
                "eventId": event_id or str(uuid.uuid4()),
                "inferenceTime": _utc(inference_time).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "eventVersion": "0",
        }
    )


def _captured(body: bytes, content_type: str, mode: str) -> dict[str, str]:
    if content_type.split(";", 1)[0].strip() in ("application/json", "text/csv"):
        try:
            return {
                "observedContentType": content_type,
                "mode": mode,
                "data": body.decode("utf-8"),
                "encoding": "JSON" if "json" in content_type else "CSV",
            }
        except UnicodeDecodeError:
            pass
    return {
        "observedContentType": content_type,
        "mode": mode,
        "data": base64.b64encode(body).decode("ascii"),
        "encoding": "BASE64",
    }


def capture_file_path(variant_dir: str | Path, moment: datetime, name: str) -> Path:
    """Where the endpoint writes a capture file: ``<variant>/<yyyy>/<mm>/<dd>/<hh>/<name>.jsonl``."""
    moment = _utc(moment)
    return (
        Path(variant_dir)
        / f"{moment:%Y}"
        / f"{moment:%m}"
        / f"{moment:%d}"
        / f"{moment:%H}"
        / f"{name}.jsonl"
    )
