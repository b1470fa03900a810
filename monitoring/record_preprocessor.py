"""Record preprocessor for SageMaker Model Monitor's built-in analyzer (``RecordPreprocessorSourceUri``).

The built-in analyzer only understands tabular or flat JSON records, and an image is neither. The
endpoint's response already carries, per image, the numeric features the monitor needs (brightness,
contrast, sharpness, colour ratios, size, predicted class, confidence, margin: see
``training/image_features.py``), so this script only unpacks them: one flat row per image, a list of
rows for a JSON batch. The analyzer container has no Pillow or numpy, so nothing here decodes images
and only the standard library is imported.

Contract (Model Monitor developer guide, "Preprocessing and Postprocessing"): the analyzer calls
``preprocess_handler(inference_record)`` for every captured record, where ``inference_record`` has
``endpoint_input`` and ``endpoint_output`` (each with ``data``, ``encoding``, ``observedContentType``,
``mode``) and ``event_metadata`` (``event_id``, ``event_time``). The handler returns a flat dict, a
list of flat dicts, or an empty list to leave the record out. Newer analyzer versions also pass a
``logger``; both call forms work here.

A malformed record (no response, undecodable data, a response without predictions or features) is
left out with its reason logged: one bad record never fails the monitoring job.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
from typing import Any

_LOG = logging.getLogger("record_preprocessor")

Row = dict[str, Any]


def preprocess_handler(inference_record: Any, logger: logging.Logger | None = None) -> list[Row]:
    """Return one row of numeric features per image in the captured response ([] to skip the record)."""
    log = logger or _LOG
    event_id = _event_id(inference_record)
    try:
        response = _decoded_response(inference_record)
        rows = _feature_rows(response)
    except MalformedRecord as problem:
        log.warning("skipping capture record %s: %s", event_id, problem)
        return []
    for skipped in rows.skipped:
        log.warning("skipping prediction in capture record %s: %s", event_id, skipped)
    return rows.rows


class MalformedRecord(ValueError):
    """The captured record cannot give any feature row."""


class _Rows:
    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.skipped: list[str] = []


def _event_id(record: Any) -> str:
    metadata = getattr(record, "event_metadata", None)
    return str(getattr(metadata, "event_id", None) or "<no event id>")


def _decoded_response(record: Any) -> Any:
    output = getattr(record, "endpoint_output", None)
    if output is None:
        raise MalformedRecord("no endpointOutput captured")
    data = getattr(output, "data", None)
    if not isinstance(data, str) or not data.strip():
        raise MalformedRecord("endpointOutput.data is empty")
    encoding = (getattr(output, "encoding", None) or "JSON").upper()
    if encoding == "BASE64":
        try:
            data = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, ValueError) as error:
            raise MalformedRecord(f"endpointOutput.data is not base64 UTF-8 text ({error})") from error
    elif encoding != "JSON":
        raise MalformedRecord(f"endpointOutput.encoding {encoding!r} is not JSON or BASE64")
    try:
        return json.loads(data)
    except json.JSONDecodeError as error:
        raise MalformedRecord(f"endpointOutput.data is not JSON ({error.msg})") from error


def _feature_rows(response: Any) -> _Rows:
    if not isinstance(response, dict):
        raise MalformedRecord("response is not a JSON object")
    predictions = response.get("predictions")
    if not isinstance(predictions, list) or not predictions:
        raise MalformedRecord("response has no 'predictions' list (an error response?)")
    rows = _Rows()
    for index, prediction in enumerate(predictions):
        features = prediction.get("features") if isinstance(prediction, dict) else None
        if not isinstance(features, dict) or not features:
            rows.skipped.append(f"prediction {index} has no 'features' object")
            continue
        rows.rows.append({str(name): _cell(value) for name, value in features.items()})
    if not rows.rows:
        raise MalformedRecord("; ".join(rows.skipped))
    return rows


def _cell(value: Any) -> Any:
    """Keep numbers and strings as they are (a string is what the data type check must see); NaN,
    infinities, lists and objects become missing values."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return None
