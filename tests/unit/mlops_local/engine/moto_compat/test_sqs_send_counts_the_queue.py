"""moto reads the clock for every queued message each time it sends one; AWS sends in constant time."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from moto.sqs import models

from mlops_local.engine.moto_compat.sqs_send_counts_the_queue import WORKAROUND
from tests.unit.mlops_local.engine.conftest import client

BACKLOG = 50


@pytest.fixture
def clock_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the SQS models read the clock."""
    reads: list[int] = []
    stock = models.unix_time_millis

    def counted(*args: object) -> float:
        reads.append(1)
        return stock(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(models, "unix_time_millis", counted)
    return reads


def _send_one_more(clock_reads: list[int]) -> str:
    """Queue a backlog, then send one message; ``clock_reads`` counts that send's reads only."""
    sqs = client("sqs")
    url = str(sqs.create_queue(QueueName="q")["QueueUrl"])
    for index in range(BACKLOG):
        sqs.send_message(QueueUrl=url, MessageBody=str(index))
    clock_reads.clear()
    sqs.send_message(QueueUrl=url, MessageBody="one more")
    return url


def test_stock_moto_reads_the_clock_for_every_queued_message(stock: None, clock_reads: list[int]) -> None:
    _send_one_more(clock_reads)
    assert len(clock_reads) >= BACKLOG


def test_the_workaround_alone_sends_with_a_few_clock_reads(
    apply: Callable[..., None], clock_reads: list[int]
) -> None:
    apply(WORKAROUND)
    _send_one_more(clock_reads)
    assert len(clock_reads) <= 5


@pytest.mark.parametrize("patched", [False, True], ids=["stock", "workaround"])
def test_the_counts_are_the_same_with_and_without_it(apply: Callable[..., None], patched: bool) -> None:
    if patched:
        apply(WORKAROUND)
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    for index in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=str(index))
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "3"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "2"
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
