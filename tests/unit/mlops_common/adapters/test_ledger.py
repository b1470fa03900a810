"""Ledger.mark_handled: whole items 25 to a BatchWriteItem, unprocessed ones retried, then returned."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_common.adapters.ledger import BATCH_WRITE_LIMIT, UNPROCESSED_RETRIES, Ledger
from mlops_common.ports import HandledUpload

TABLE = "pipeline"


def handled(index: int) -> HandledUpload:
    return HandledUpload(
        pk=f"object#data/incoming/a/ok/{index}.jpg",
        sk=f"S{index}",
        attributes={"status": "accepted", "label": "ok"},
        expires_at=1_800_000_000,
        run="upload-1",
        note="started",
    )


class BatchWrites:
    """BatchWriteItem calls, answered with the first ``unprocessed`` requests of each call left over."""

    def __init__(self, unprocessed: list[int]) -> None:
        self.unprocessed = list(unprocessed)  # per call, how many requests come back unprocessed
        self.calls: list[list[dict[str, Any]]] = []

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        (requests,) = RequestItems.values()
        self.calls.append(requests)
        left = self.unprocessed.pop(0) if self.unprocessed else 0
        return {"UnprocessedItems": {TABLE: requests[:left]} if left else {}}


def ledger(client: BatchWrites, sleeps: list[float]) -> Ledger:
    return Ledger(TABLE, dynamodb_client=client, sleep=sleeps.append)


def test_uploads_are_written_as_whole_items_25_to_a_call() -> None:
    client, sleeps = BatchWrites([]), []
    assert ledger(client, sleeps).mark_handled([handled(i) for i in range(60)]) == []
    assert [len(call) for call in client.calls] == [BATCH_WRITE_LIMIT, BATCH_WRITE_LIMIT, 10]
    first = client.calls[0][0]["PutRequest"]["Item"]
    # What record_object wrote (a batch write replaces the item), plus the run that covers it.
    assert first == {
        "pk": {"S": "object#data/incoming/a/ok/0.jpg"},
        "sk": {"S": "S0"},
        "expires_at": {"N": "1800000000"},
        "status": {"S": "accepted"},
        "label": {"S": "ok"},
        "run": {"S": "upload-1"},
        "run_note": {"S": "started"},
    }
    assert sleeps == []


def test_unprocessed_items_are_retried_with_exponential_backoff() -> None:
    client, sleeps = BatchWrites([3, 1]), []
    assert ledger(client, sleeps).mark_handled([handled(i) for i in range(5)]) == []
    assert [len(call) for call in client.calls] == [5, 3, 1]
    assert sleeps == [pytest.approx(0.05), pytest.approx(0.1)]


def test_items_still_unprocessed_after_the_retries_are_returned() -> None:
    client, sleeps = BatchWrites([2] * (UNPROCESSED_RETRIES + 1)), []
    uploads = [handled(i) for i in range(30)]
    unwritten = ledger(client, sleeps).mark_handled(uploads)
    # The first chunk kept two items back every time; the second chunk was written at once.
    assert unwritten == uploads[:2]
    assert len(client.calls) == UNPROCESSED_RETRIES + 2
    assert len(sleeps) == UNPROCESSED_RETRIES


def test_nothing_to_mark_makes_no_call() -> None:
    client = BatchWrites([])
    assert ledger(client, []).mark_handled([]) == []
    assert client.calls == []
