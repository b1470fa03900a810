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
    assert decision.accepted is True
    assert (decision.key, decision.source, decision.label, decision.reason) == (
        "incoming/line-a/scratch/a b.jpg",
        "line-a",
        "scratch",
        None,
    )


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("datasets/v1/stats.json", "outside incoming/"),
        ("incoming/line-a/../../etc/passwd", "path traversal segment ('..' or '.')"),
        ("incoming/line-a/ok/../x.jpg", "path traversal segment ('..' or '.')"),
        ("incoming/line-a/./x.jpg", "path traversal segment ('..' or '.')"),
        ("incoming/line-a/ok/x\x00.jpg", "control character in key"),
        ("incoming/line-a/ok/x\n.jpg", "control character in key"),
        ("incoming/line-a/ok/x\x1f.jpg", "control character in key"),
        ("incoming/line-a/ok/x\x7f.jpg", "control character in key"),
        ("incoming/line-a/ok/x\x9f.jpg", "control character in key"),
        ("incoming/x.jpg", "no label folder (expected <source>/<label>/<file>)"),
        ("incoming/line-a/x.jpg", "no label folder (expected <source>/<label>/<file>)"),
        ("incoming/line-a/ok/extra/x.jpg", "too deep (expected <source>/<label>/<file>)"),
        ("incoming//ok/x.jpg", "empty source or label folder"),
        ("incoming/line-a//x.jpg", "empty source or label folder"),
        ("incoming/line-a/ok/", "folder marker, not a file"),
    ],
)
def test_rejected_key_names_its_reason(key: str, reason: str) -> None:
    decision = classify_key(key, PREFIX)
    assert decision.accepted is False
    assert (decision.key, decision.reason) == (key, reason)


@pytest.mark.parametrize(
    ("character", "code"),
    [
        ("\u00a0", "U+00A0"),  # no-break space: the first character after the C1 controls
        ("\u3000", "U+3000"),  # ideographic space (Zs)
        ("\u202e", "U+202E"),  # right-to-left override (Cf)
        ("\u200b", "U+200B"),  # zero-width space (Cf)
        ("\u2028", "U+2028"),  # line separator (Zl)
        ("\u2029", "U+2029"),  # paragraph separator (Zp)
        ("\U000e0041", "U+E0041"),  # tag latin capital letter A (Cf), beyond four hex digits
    ],
)
def test_invisible_or_bidirectional_character_is_rejected_by_code_point(character: str, code: str) -> None:
    decision = classify_key(f"incoming/line-a/ok{character}/x.jpg", PREFIX)
    assert decision.accepted is False
    assert decision.reason == f"invisible or bidirectional character {code} in key"


@pytest.mark.parametrize("character", [" ", "~", "é", "ü"])
def test_printable_characters_next_to_the_control_ranges_are_accepted(character: str) -> None:
    assert classify_key(f"incoming/line-a/ok/x{character}.jpg", PREFIX).accepted


@pytest.mark.parametrize(
    ("event_key", "stored_key", "reason"),
    [
        ("incoming/lab/ok/%ff.jpg", "incoming/lab/ok/%FF.jpg", "invalid UTF-8 %FF in key"),
        ("incoming/lab/ok/%80.jpg", "incoming/lab/ok/%80.jpg", "invalid UTF-8 %80 in key"),
        ("incoming/lab/ok/caf%C3.jpg", "incoming/lab/ok/caf%C3.jpg", "invalid UTF-8 %C3 in key"),
        # UTF-8 never encodes a surrogate (U+D800 here): strict decoding refuses all three bytes.
        ("incoming/lab/ok/%ED%A0%80.jpg", "incoming/lab/ok/%ED%A0%80.jpg", "invalid UTF-8 %ED in key"),
    ],
)
def test_percent_escape_that_is_not_utf8_is_rejected(event_key: str, stored_key: str, reason: str) -> None:
    decision = classify_key(decode_event_key(event_key), PREFIX)
    assert decision.accepted is False
    assert (decision.key, decision.reason) == (stored_key, reason)


@pytest.mark.parametrize("code", [0xD800, 0xDC7F, 0xDD00, 0xDFFF])
def test_lone_surrogate_in_the_event_is_rejected_with_a_storable_key(code: int) -> None:
    decision = classify_key(f"incoming/lab/ok/{chr(code)}.jpg", PREFIX)
    assert decision.accepted is False
    assert decision.reason == f"invalid UTF-8 U+{code:04X} in key"
    assert decision.key.encode("utf-8") == f"incoming/lab/ok/U+{code:04X}.jpg".encode()


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
