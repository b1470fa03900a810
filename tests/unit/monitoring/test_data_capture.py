"""Data capture files: SageMaker's record layout, the hourly folders and unreadable lines."""

import base64
import json
from datetime import UTC, datetime, timedelta

from data_capture import InferenceRecord, capture_file_path, capture_line, read_records, window_files

MOMENT = datetime(2026, 11, 20, 14, 5, 9, tzinfo=UTC)


def test_capture_line_follows_sagemaker_layout():
    event = json.loads(
        capture_line(
            request_body=b"\x89PNG...",
            request_content_type="image/png",
            response_body=b'{"predictions": []}',
            inference_time=MOMENT,
            event_id="e-1",
        )
    )

    assert event["eventVersion"] == "0"
    assert event["eventMetadata"] == {"eventId": "e-1", "inferenceTime": "2026-11-20T14:05:09Z"}
    request = event["captureData"]["endpointInput"]
    assert request == {
        "observedContentType": "image/png",
        "mode": "INPUT",
        "data": base64.b64encode(b"\x89PNG...").decode(),
        "encoding": "BASE64",
    }
    response = event["captureData"]["endpointOutput"]
    assert response == {
        "observedContentType": "application/json",
        "mode": "OUTPUT",
        "data": '{"predictions": []}',
        "encoding": "JSON",
    }


def test_record_exposes_what_the_analyzer_gives_a_preprocessor():
    line = capture_line(
        request_body=b'{"images": []}',
        request_content_type="application/json",
        response_body=b"{}",
        inference_time=MOMENT,
        event_id="e-2",
    )

    record = InferenceRecord.from_dict(json.loads(line))

    assert record.endpoint_input.encoding == "JSON"
    assert record.endpoint_input.observedContentType == "application/json"
    assert record.endpoint_output.data == "{}"
    assert record.event_metadata.event_id == "e-2"
    assert record.event_version == "0"


def test_record_without_capture_data_has_empty_parts():
    record = InferenceRecord.from_dict({"eventVersion": "0"})

    assert (record.endpoint_input, record.endpoint_output, record.event_metadata) == (None, None, None)


def test_capture_file_path_uses_utc_hour_folders(tmp_path):
    moment = datetime(2026, 11, 20, 23, 30, tzinfo=UTC) + timedelta(hours=1)

    assert capture_file_path(tmp_path, moment, "f") == tmp_path / "2026" / "11" / "21" / "00" / "f.jsonl"


def test_window_files_pick_the_hours_of_the_window(tmp_path):
    for hour in (12, 13, 14):
        path = capture_file_path(tmp_path, MOMENT.replace(hour=hour), f"h{hour}")
        path.parent.mkdir(parents=True)
        path.write_text("{}\n")

    files = window_files(
        tmp_path, datetime(2026, 11, 20, 13, tzinfo=UTC), datetime(2026, 11, 20, 14, tzinfo=UTC)
    )

    assert [path.name for path in files] == ["h13.jsonl"]


def test_unreadable_lines_are_returned_apart(tmp_path):
    path = tmp_path / "capture.jsonl"
    path.write_text('{"eventVersion": "0"}\n\n{broken\n[1]\n')

    records, unreadable = read_records([path])

    assert len(records) == 1
    assert [(line.line_number, line.reason.split(" ")[0]) for line in unreadable] == [(3, "not"), (4, "not")]
