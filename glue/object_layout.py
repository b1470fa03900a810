"""Where an uploaded object sits: its key, source and label, from the path Spark or a listing gives.

Pure functions, no Spark. A source root is an S3 prefix (``s3://bucket/incoming/``) or a local
folder laid out as ``<source>/<label>/<file>``. Every object is identified by its *location*: the
S3 URI (``s3://bucket/key``) or the absolute local path, spelled exactly as the key or file name
is, with no percent-encoding. Spark's ``binaryFile`` source reports Hadoop ``Path.toString()``
strings (``file:/tmp/a b.jpg``, ``s3://bucket/x%2By.jpg`` for the key ``x%2By.jpg``): the scheme
is stripped but nothing is URL-decoded, because decoding would turn the legitimate key
``x%2By.jpg`` into ``x+y.jpg``. The job checks that every listed object comes back from Spark
under the same location, so a change in that behaviour fails loudly instead of losing objects.

An object's *key* is what reports and the manifest show: the S3 key, or for a local folder the
absolute path, unless the folder is a copy of S3 laid out as ``<mirror>/<bucket>/<key>`` (the local
runtime downloads the upload prefix that way): then the key is the S3 key it was copied from, so
the manifest reads the same locally and on AWS.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass

S3_SCHEMES = ("s3", "s3a", "s3n")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
EXPECTED_DEPTH = 3  # <source>/<label>/<file>


class SourcePathError(ValueError):
    """A source path that the job cannot use; the message says why."""


@dataclass(frozen=True)
class SourceRoot:
    """One ``--source_paths`` entry, normalised: ``location`` always ends with ``/``."""

    location: str  # "s3://bucket/incoming/" or "/abs/folder/"
    key_prefix: str | None = None  # a local copy of S3: the key this folder was copied from

    @property
    def is_s3(self) -> bool:
        return self.location.startswith("s3://")

    @property
    def bucket(self) -> str:
        return self.location[len("s3://") :].split("/", 1)[0]

    @property
    def prefix(self) -> str:
        """The key prefix under the bucket (S3) or the folder path (local)."""
        if self.is_s3:
            return self.location[len("s3://") + len(self.bucket) + 1 :]
        return self.location


@dataclass(frozen=True)
class ObjectPlace:
    """What the layout says about one object; ``problem`` is set when it is not where it should be."""

    location: str
    key: str
    source: str
    label: str
    problem: str | None = None


def parse_source_root(path: str) -> SourceRoot:
    """Normalise one source path argument (``s3://``, ``s3a://``, ``file:`` or a plain folder)."""
    path = path.strip()
    if not path:
        raise SourcePathError("empty source path")
    scheme = _scheme_of(path)
    if scheme in S3_SCHEMES:
        rest = path.split("://", 1)[1]
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise SourcePathError(f"no bucket in source path {path!r}")
        location = f"s3://{bucket}/{prefix}"
    elif scheme in (None, "file"):
        local = path[len("file:") :] if scheme == "file" else path
        location = os.path.abspath(local)
    else:
        raise SourcePathError(f"unsupported scheme {scheme!r} in source path {path!r}")
    return SourceRoot(location if location.endswith("/") else location + "/")


def parse_source_roots(paths: str, s3_mirror: str = "") -> list[SourceRoot]:
    """Parse the comma-separated ``--source_paths``; roots must not overlap (an object is read once).

    ``s3_mirror``: a local folder laid out as ``<mirror>/<bucket>/<key>``; local roots inside it
    key their objects by the S3 key they were copied from.
    """
    parsed = {parse_source_root(part) for part in paths.split(",") if part.strip()}
    roots = sorted((_mirrored(root, s3_mirror) for root in parsed), key=str)
    if not roots:
        raise SourcePathError("--source_paths names no source path")
    for outer in roots:
        for inner in roots:
            if outer != inner and inner.location.startswith(outer.location):
                raise SourcePathError(f"source paths overlap: {inner.location} is inside {outer.location}")
    return roots


def _mirrored(root: SourceRoot, s3_mirror: str) -> SourceRoot:
    if root.is_s3 or not s3_mirror:
        return root
    mirror = os.path.abspath(s3_mirror).rstrip("/") + "/"
    if not root.location.startswith(mirror):
        return root
    bucket, _, key_prefix = root.location[len(mirror) :].partition("/")
    if not bucket:
        raise SourcePathError(f"source path {root.location} is the S3 mirror itself, not a bucket folder")
    return SourceRoot(root.location, key_prefix)


def location_from_spark_path(path: str) -> str:
    """The location of a ``binaryFile`` row's ``path``: the scheme normalised, nothing URL-decoded."""
    scheme = _scheme_of(path)
    if scheme in S3_SCHEMES:
        return "s3://" + path.split("://", 1)[1]
    if scheme == "file":
        # Hadoop writes file:/abs/path; file:///abs/path also occurs. Keep exactly one leading slash.
        return "/" + path[len("file:") :].lstrip("/")
    return path


def place_object(location: str, roots: list[SourceRoot]) -> ObjectPlace:
    """Key, source and label of the object at ``location``, or the reason it is not laid out right."""
    root = next((root for root in roots if location.startswith(root.location)), None)
    if root is None:
        return ObjectPlace(location, location, "", "", "outside_sources: not under any source path")
    relative = location[len(root.location) :]
    if root.is_s3:
        key = location[len("s3://") + len(root.bucket) + 1 :]
    elif root.key_prefix is not None:
        key = root.key_prefix + relative
    else:
        key = location
    parts = relative.split("/")
    source = parts[0] if len(parts) > 1 else ""
    if len(parts) != EXPECTED_DEPTH or not all(parts):
        return ObjectPlace(
            location,
            key,
            source,
            "",
            f"unexpected_layout: {len(parts)} levels under the source path, expected <source>/<label>/<file>",
        )
    unsafe = unsafe_character("/".join(parts[:2]))
    if unsafe is not None:
        # The trigger rejects these keys too (mlops_common.domain.keys): a label that looks like
        # another, or like nothing, must not become a class.
        return ObjectPlace(
            location, key, source, "", f"invalid_label_name: {unsafe} in the source or label folder"
        )
    return ObjectPlace(location, key, source, parts[1])


def unsafe_character(text: str) -> str | None:
    """The first control, invisible or bidirectional character in ``text`` as ``U+XXXX``; None if none.

    The same rule as the trigger's (mlops_common.domain.keys): control characters, format
    characters (category Cf: bidirectional controls, zero-width characters, the BOM), line and
    paragraph separators and spaces other than U+0020.
    """
    for ch in text:
        category = unicodedata.category(ch)
        if category in {"Cc", "Cf", "Zl", "Zp"} or (category == "Zs" and ch != " "):
            return f"U+{ord(ch):04X}"
    return None


def unread_reason(location: str, roots: list[SourceRoot], size: int | None) -> str:
    """Why a listed object never came back from Spark's reader (the quarantine reason)."""
    if size == 0:
        return "empty_file: zero bytes (Spark's reader returns no row for it)"
    root = next((root for root in roots if location.startswith(root.location)), None)
    parts = location[len(root.location) :].split("/") if root else location.split("/")
    hidden = next((part for part in parts if spark_skips_name(part)), None)
    if hidden is not None:
        return f"hidden_name: Spark's file sources skip {hidden!r} (names starting with '.' or '_')"
    return "not_read: listed under the source path but not returned by the reader"


def spark_skips_name(name: str) -> bool:
    """Whether Spark's file listing skips a file or folder of this name (Spark's own rule)."""
    return (name.startswith("_") and "=" not in name) or name.startswith(".") or name.endswith("._COPYING_")


def _scheme_of(path: str) -> str | None:
    match = _SCHEME.match(path)
    # A one-letter "scheme" is a Windows drive, not a URI scheme.
    if match is None or len(match.group(1)) == 1:
        return None
    return match.group(1).lower()
