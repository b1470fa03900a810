"""Key decoding and the rules for which uploads may enter the pipeline."""

from __future__ import annotations

from urllib.parse import quote_plus

import pytest

from mlops_common.domain.keys import classify_key, decode_event_key, object_pk, object_sk

PREFIX = "incoming/"


def s3_event_encoding(key: str) -> str:
    """How S3 writes a key into an event: form encoding, slashes kept."""
    return quote_plus(key, safe="/")


@pytest.mark.parametrize(
    ("real_key", "event_key"),
    [
        ("incoming/line-a/ok/a b.jpg", "incoming/line-a/ok/a+b.jpg"),
        ("incoming/line-a/ok/c++.jpg", "incoming/line-a/ok/c%2B%2B.jpg"),
        ("incoming/line-a/ok/café.jpg", "incoming/line-a/ok/caf%C3%A9.jpg"),
        ("incoming/line-a/ok/x%2By.jpg", "incoming/line-a/ok/x%252By.jpg"),
    ],
)
def test_decode_event_key_inverts_s3_event_encoding(real_key: str, event_key: str) -> None:
    assert s3_event_encoding(real_key) == event_key
    assert decode_event_key(event_key) == real_key


def test_plain_key_decodes_to_itself() -> None:
    assert decode_event_key("incoming/line-a/dent/img-001.jpg") == "incoming/line-a/dent/img-001.jpg"


def test_accepted_key_names_source_and_label() -> None:
    decision = classify_key("incoming/line-a/scratch/a b.jpg", PREFIX)
    assert decision.accepted
    assert (decision.source, decision.label) == ("line-a", "scratch")


@pytest.mark.parametrize(
    ("key", "reason_part"),
    [
        ("datasets/v1/stats.json", "outside incoming/"),
        ("incoming/line-a/../../etc/passwd", "traversal"),
        ("incoming/line-a/ok/../x.jpg", "traversal"),
        ("incoming/line-a/ok/x\x00.jpg", "control character"),
        ("incoming/line-a/ok/x\n.jpg", "control character"),
        ("incoming/line-a/ok/x\x7f.jpg", "control character"),
        ("incoming/x.jpg", "no label folder"),
        ("incoming/line-a/x.jpg", "no label folder"),
        ("incoming/line-a/ok/extra/x.jpg", "too deep"),
        ("incoming//ok/x.jpg", "empty source or label"),
        ("incoming/line-a/ok/", "folder marker"),
    ],
)
def test_rejected_key_names_its_reason(key: str, reason_part: str) -> None:
    decision = classify_key(key, PREFIX)
    assert not decision.accepted
    assert reason_part in (decision.reason or "")


def test_encoded_traversal_is_rejected_after_decoding() -> None:
    key = decode_event_key("incoming/line-a/ok/..%2F..%2Fsecrets.jpg")
    assert not classify_key(key, PREFIX).accepted


def test_dots_inside_a_file_name_are_allowed() -> None:
    assert classify_key("incoming/line-a/ok/img..v2.jpg", PREFIX).accepted


def test_an_upload_event_is_identified_by_its_sequencer_then_version_then_etag() -> None:
    assert object_pk("data", "incoming/a/ok/1.jpg") == "object#data/incoming/a/ok/1.jpg"
    assert object_sk("S1", "v1", "e1") == "S1"
    assert object_sk(None, "v1", "e1") == "version#v1"
    assert object_sk(None, None, "e1") == "etag#e1"
    assert object_sk(None, None, None) == "etag#unknown"
