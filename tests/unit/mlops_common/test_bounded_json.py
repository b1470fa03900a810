"""bounded_json: any JSON text or parsed value either passes the limits or is a ValueError."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from mlops_common.bounded_json import MAX_DEPTH, JsonLimitExceeded, check_depth, loads, nesting_depth


def nested_list(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "text",
    [
        "[" * 1_500 + "]" * 1_500,  # 3 KB
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        "[" * 100_000,  # never closed
        '{"detail": {"x": ' + "[" * 300 + "]" * 300 + "}}",
    ],
    ids=["arrays-3KB", "objects-650KB", "unclosed", "inside-a-field"],
)
def test_deep_text_is_a_limit_error_not_a_recursion_error(text: str) -> None:
    with pytest.raises(JsonLimitExceeded, match="nested deeper"):
        loads(text, max_bytes=10 * 1024 * 1024)


def test_nesting_at_the_limit_is_read() -> None:
    text = json.dumps(nested_list(MAX_DEPTH))
    assert nesting_depth(loads(text, max_bytes=len(text))) == MAX_DEPTH


def test_nesting_one_past_the_limit_is_refused() -> None:
    text = json.dumps(nested_list(MAX_DEPTH + 1))
    with pytest.raises(JsonLimitExceeded):
        loads(text, max_bytes=len(text))


def test_a_document_larger_than_the_limit_is_refused_before_parsing() -> None:
    text = json.dumps({"padding": "x" * 2_000})
    with pytest.raises(JsonLimitExceeded, match="larger than the limit of 1000"):
        loads(text, max_bytes=1_000)


def test_size_counts_utf8_bytes_not_characters() -> None:
    text = json.dumps("é" * 600, ensure_ascii=False)  # 602 characters, 1,202 bytes
    with pytest.raises(JsonLimitExceeded):
        loads(text.encode(), max_bytes=1_000)
    with pytest.raises(JsonLimitExceeded):
        loads(text, max_bytes=1_000)


@pytest.mark.parametrize("text", ["not json {", "", '{"a": 1} trailing'])
def test_text_that_is_not_json_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the contract is "a ValueError", whichever
        loads(text, max_bytes=1_000)


def test_non_finite_numbers_are_read_for_the_models_to_judge() -> None:
    value = loads('{"accuracy": NaN, "f1": Infinity}', max_bytes=1_000)
    assert math.isnan(value["accuracy"])
    assert value["f1"] == math.inf


def test_a_parsed_value_of_any_depth_is_checked_without_recursion() -> None:
    with pytest.raises(JsonLimitExceeded):
        check_depth(nested_list(200_000))


def test_a_shallow_event_passes_the_depth_check() -> None:
    check_depth({"detail": {"ProcessingOutputConfig": {"Outputs": [{"S3Output": {"S3Uri": "s3://b/k"}}]}}})


@pytest.mark.parametrize(("value", "depth"), [(1, 0), ([], 1), ({"a": [1, {"b": []}]}, 4), ([[], [[[]]]], 4)])
def test_nesting_depth_counts_arrays_and_objects(value: Any, depth: int) -> None:
    assert nesting_depth(value) == depth
