"""The record preprocessor the built-in analyzer loads: one feature row per image, never a crash."""

import base64
import json
import logging
from datetime import UTC, datetime

import pytest
from data_capture import InferenceRecord, capture_line
from record_preprocessor import preprocess_handler

FEATURES = {"brightness": 0.41, "contrast": 0.12, "width": 96.0, "predicted_class": 2, "top_confidence": 0.9}


def _record(response, *, encoding="JSON", with_output=True) -> InferenceRecord:
    body = response if isinstance(response, str) else json.dumps(response)
    event = json.loads(
        capture_line(
            request_body=b"\xff\xd8jpeg bytes",
            request_content_type="image/jpeg",
            response_body=body.encode(),
            inference_time=datetime(2026, 11, 20, 10, tzinfo=UTC),
            event_id="event-1",
        )
    )
    output = event["captureData"]["endpointOutput"]
    if encoding == "BASE64":
        output.update(data=base64.b64encode(output["data"].encode()).decode(), encoding="BASE64")
    if not with_output:
        del event["captureData"]["endpointOutput"]
    return InferenceRecord.from_dict(event)


def _prediction(features=FEATURES):
    return {"label": "ok", "confidence": 0.9, "probabilities": {"ok": 0.9, "dent": 0.1}, "features": features}


def test_single_image_response_gives_one_row_of_its_features():
    rows = preprocess_handler(_record({"model_version": "v1", "predictions": [_prediction()]}))

    assert rows == [FEATURES]


def test_json_batch_gives_one_row_per_image():
    second = dict(FEATURES, brightness=0.2)
    response = {"model_version": "v1", "predictions": [_prediction(), _prediction(second)]}

    rows = preprocess_handler(_record(response))

    assert [row["brightness"] for row in rows] == [0.41, 0.2]


def test_base64_encoded_response_is_decoded():
    rows = preprocess_handler(_record({"predictions": [_prediction()]}, encoding="BASE64"))

    assert rows == [FEATURES]


def test_input_image_is_never_decoded():
    record = _record({"predictions": [_prediction()]})

    assert record.endpoint_input is not None
    assert record.endpoint_input.encoding == "BASE64"
    assert preprocess_handler(record) == [FEATURES]


def test_non_finite_numbers_become_missing_and_strings_are_kept_for_the_type_check():
    features = {"brightness": float("nan"), "contrast": "high", "margin": [0.1]}
    # json.dumps writes NaN, which json.loads reads back: exactly what a sloppy server might send.
    rows = preprocess_handler(_record({"predictions": [_prediction(features)]}))

    assert rows == [{"brightness": None, "contrast": "high", "margin": None}]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (lambda: _record({"predictions": [_prediction()]}, with_output=False), "no endpointOutput"),
        (lambda: _record(" "), "empty"),
        (lambda: _record("{not json"), "not JSON"),
        (lambda: _record('["a", "list"]'), "not a JSON object"),
        (lambda: _record({"message": "Unsupported content type", "status_code": 415}), "no 'predictions'"),
        (lambda: _record({"predictions": [{"label": "ok"}]}), "no 'features'"),
    ],
)
def test_malformed_records_are_skipped_with_a_logged_reason(caplog, record, reason):
    with caplog.at_level(logging.WARNING, logger="record_preprocessor"):
        rows = preprocess_handler(record())

    assert rows == []
    assert reason in caplog.text
    assert "event-1" in caplog.text


def test_undecodable_base64_is_skipped(caplog):
    event = {
        "captureData": {"endpointOutput": {"data": "@@not base64@@", "encoding": "BASE64", "mode": "OUTPUT"}},
        "eventMetadata": {"eventId": "event-2"},
    }

    with caplog.at_level(logging.WARNING, logger="record_preprocessor"):
        rows = preprocess_handler(InferenceRecord.from_dict(event))

    assert rows == []
    assert "base64" in caplog.text


def test_unknown_encoding_is_skipped(caplog):
    event = {"captureData": {"endpointOutput": {"data": "a,b", "encoding": "CSV"}}}

    with caplog.at_level(logging.WARNING, logger="record_preprocessor"):
        rows = preprocess_handler(InferenceRecord.from_dict(event))

    assert rows == []
    assert "CSV" in caplog.text


def test_a_bad_prediction_in_a_batch_drops_only_that_image(caplog):
    response = {"predictions": [_prediction(), {"label": "ok", "features": None}, _prediction()]}

    with caplog.at_level(logging.WARNING, logger="record_preprocessor"):
        rows = preprocess_handler(_record(response))

    assert rows == [FEATURES, FEATURES]
    assert "prediction 1" in caplog.text


def test_logger_passed_by_the_analyzer_is_used(caplog):
    analyzer_logger = logging.getLogger("analyzer-container")

    with caplog.at_level(logging.WARNING, logger="analyzer-container"):
        preprocess_handler(_record("{not json"), analyzer_logger)

    assert [record.name for record in caplog.records] == ["analyzer-container"]


def test_preprocessor_imports_only_the_standard_library():
    import ast
    import sys
    from pathlib import Path

    import record_preprocessor

    tree = ast.parse(Path(record_preprocessor.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
    }

    assert imported <= set(sys.stdlib_module_names)
