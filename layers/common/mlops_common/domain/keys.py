"""Which uploaded object keys may enter the pipeline, how event keys are decoded, and how one upload
event is identified in the ledger."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote_plus


def decode_event_key(raw_key: str) -> str:
    """The real object key from an S3 event's ``key`` field.

    S3 writes keys in events form-encoded (``a b.jpg`` -> ``a+b.jpg``, ``c++.jpg`` ->
    ``c%2B%2B.jpg``), in the notification form and, as decoded by AWS's own Powertools
    ``S3EventBridgeNotificationObject.key``, in the EventBridge form: see docs/functions.md.
    ``unquote_plus`` is the exact inverse; ``unquote`` would turn ``a+b.jpg`` into a wrong key.

    S3 keys are UTF-8 (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html), so
    a percent-escape that is not (``%ff``) came from no real upload. The default ``errors="replace"``
    would make it U+FFFD and accept the key; ``surrogateescape`` (PEP 383) keeps each such byte as
    a lone surrogate instead, which ``classify_key`` rejects, naming the escape.
    """
    return unquote_plus(raw_key, errors="surrogateescape")


@dataclass(frozen=True)
class KeyDecision:
    """Whether one decoded key is an acceptable upload, and why not when it is not."""

    key: str
    accepted: bool
    source: str | None = None
    label: str | None = None
    reason: str | None = None


def _escaped(ch: str) -> str:
    """A character UTF-8 cannot encode (a lone surrogate): ``%FF`` for a byte that
    ``decode_event_key`` could not decode, ``U+D800`` for one that came as such in the event."""
    code = ord(ch)
    return f"%{code - 0xDC00:02X}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"


def _not_utf8(text: str) -> str | None:
    """The first character of ``text`` that UTF-8 cannot encode, escaped; None if there is none."""
    return next((_escaped(ch) for ch in text if unicodedata.category(ch) == "Cs"), None)


def _storable(key: str) -> str:
    """``key`` with what UTF-8 cannot encode escaped: the ledger stores rejected keys too."""
    return "".join(_escaped(ch) if unicodedata.category(ch) == "Cs" else ch for ch in key)


def _has_control_character(text: str) -> bool:
    return any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in text)


def _invisible_character(text: str) -> str | None:
    """The first character that renders as nothing or reorders text, as ``U+XXXX``; None if none.

    Format characters (category Cf: bidirectional controls such as U+202E, zero-width spaces and
    joiners, the BOM), line and paragraph separators and spaces other than U+0020 make two label
    folders that look the same be different classes, or one label look like another.
    """
    for ch in text:
        category = unicodedata.category(ch)
        if category in {"Cf", "Zl", "Zp"} or (category == "Zs" and ch != " "):
            return f"U+{ord(ch):04X}"
    return None


def _rejection_reason(key: str, incoming_prefix: str) -> str | None:
    undecodable = _not_utf8(key)
    if undecodable is not None:
        return f"invalid UTF-8 {undecodable} in key"
    if _has_control_character(key):
        return "control character in key"
    invisible = _invisible_character(key)
    if invisible is not None:
        return f"invisible or bidirectional character {invisible} in key"
    if not key.startswith(incoming_prefix):
        return f"outside {incoming_prefix}"
    parts = key[len(incoming_prefix) :].split("/")
    reason = None
    if any(part in {".", ".."} for part in parts):
        reason = "path traversal segment ('..' or '.')"
    elif len(parts) < 3:
        reason = "no label folder (expected <source>/<label>/<file>)"
    elif len(parts) > 3:
        reason = "too deep (expected <source>/<label>/<file>)"
    elif not parts[0] or not parts[1]:
        reason = "empty source or label folder"
    elif not parts[2]:
        reason = "folder marker, not a file"
    return reason


def classify_key(key: str, incoming_prefix: str) -> KeyDecision:
    """Accept only ``<incoming_prefix><source>/<label>/<file>``; every rejection names its reason."""
    reason = _rejection_reason(key, incoming_prefix)
    if reason is not None:
        return KeyDecision(_storable(key), accepted=False, reason=reason)
    source, label, _filename = key[len(incoming_prefix) :].split("/")
    return KeyDecision(key, accepted=True, source=source, label=label)


def object_pk(bucket: str, key: str) -> str:
    """The ledger partition of an uploaded object (docs/contracts.md: ``object#<bucket>/<key>``)."""
    return f"object#{bucket}/{key}"


def object_sk(sequencer: str | None, version_id: str | None, etag: str | None) -> str:
    """``sequencer`` identifies one event of a key; fall back to the version, then the ETag."""
    if sequencer:
        return sequencer
    if version_id:
        return f"version#{version_id}"
    return f"etag#{etag or 'unknown'}"
