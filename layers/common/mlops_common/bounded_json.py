"""JSON read with a size and a nesting-depth limit, so a hostile document fails as a ``ValueError``.

Every JSON text the functions read (an SQS message body, a report or ``stats.json`` from S3) is
parsed by ``loads`` and every event the Lambda runtime has already parsed is checked by
``check_depth``. Without the bound a few kilobytes of ``[[[[...`` make Python's ``json`` raise
``RecursionError``, which no handler documents or catches, and a document of any size is read
whole into memory.

The parser is pydantic-core's (``from_json``, already in the layer): it is not recursive in
Python, caps nesting itself (200 levels) and reports that as a ``ValueError``, so no depth of
input can exhaust the interpreter's stack on Python 3.11 or 3.13. The depth limit applied here is
lower and is checked iteratively on the parsed value. ``NaN`` and ``Infinity`` are read as floats
(``training/evaluate.py`` writes Python's ``json``, which emits them); the models decide what a
non-finite value means.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import from_json

# Deepest document the pipeline reads: an EventBridge SageMaker event (detail -> list -> object ->
# object: 5 levels); evaluation.json, stats.json and Model Monitor reports have at most 4.
# 32 leaves room for AWS adding structure to its events and stays far below any parser's limit.
MAX_DEPTH = 32

# An S3 "Object Created" event is about 1 KB plus its key, at most 1,024 bytes of UTF-8 that the
# event carries URL-encoded (at most 3 bytes each): a body of 64 KiB is more than ten times the
# largest real one.
MAX_MESSAGE_BYTES = 64 * 1024

# Reports and stats read from S3: a Model Monitor report of 20,000 violations is about 4 MB. Its
# parsed form takes roughly ten times its text, which 10 MiB keeps well inside the functions'
# 512 MB of memory.
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


class JsonLimitExceeded(ValueError):
    """A JSON document larger or more deeply nested than the pipeline reads."""


def loads(text: str | bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """The value of JSON ``text``; ``JsonLimitExceeded`` if it is too large or too deep.

    Text that is not JSON raises ``ValueError`` as well, so one ``except ValueError`` covers both.
    """
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise JsonLimitExceeded(f"JSON document of {size} bytes is larger than the limit of {max_bytes}")
    try:
        value = from_json(text)
    except ValueError as exc:
        if "recursion limit" in str(exc):
            raise JsonLimitExceeded(f"JSON document nested deeper than {max_depth} levels") from exc
        raise
    check_depth(value, max_depth)
    return value


def nesting_depth(value: Any, *, stop_after: int | None = None) -> int:
    """How many arrays/objects deep ``value`` is (a scalar is 0), counted without recursion.

    With ``stop_after`` the walk ends as soon as the depth exceeds it.
    """
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if stop_after is not None and deepest > stop_after:
            return deepest
        pending.extend((child, depth) for child in children)
    return deepest


def check_depth(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """``JsonLimitExceeded`` if ``value`` (a parsed document or event) nests deeper than ``max_depth``."""
    if nesting_depth(value, stop_after=max_depth) > max_depth:
        raise JsonLimitExceeded(f"JSON document nested deeper than {max_depth} levels")
