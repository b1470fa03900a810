"""moto counts the whole queue each time it sends a message; AWS sends in constant time."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError

from mlops_local.engine.moto_compat.sqs_send_counts_the_queue import WORKAROUND
from tests.unit.mlops_local.engine.conftest import client

BACKLOG = 50


def _send_one_more(clock_reads: list[int], backlog: int = BACKLOG) -> int:
    """Queue a backlog, then send one message; return how often that send read the clock."""
    sqs = client("sqs")
    url = str(sqs.create_queue(QueueName=f"q{backlog}")["QueueUrl"])
    for index in range(backlog):
        sqs.send_message(QueueUrl=url, MessageBody=str(index))
    clock_reads.clear()
    sqs.send_message(QueueUrl=url, MessageBody="one more")
    return len(clock_reads)


def test_stock_moto_reads_the_clock_for_every_queued_message(stock: None, clock_reads: list[int]) -> None:
    assert _send_one_more(clock_reads) >= BACKLOG


def test_the_workaround_alone_sends_in_the_same_time_whatever_the_backlog(
    apply: Callable[..., None], clock_reads: list[int]
) -> None:
    apply(WORKAROUND)
    # The message's own timestamps only: the send counts nothing.
    assert _send_one_more(clock_reads, backlog=BACKLOG) == _send_one_more(clock_reads, backlog=0) <= 3


@pytest.mark.parametrize("patched", [False, True], ids=["stock", "workaround"])
def test_fifo_content_based_deduplication_is_the_same_with_and_without_it(
    apply: Callable[..., None], patched: bool
) -> None:
    if patched:
        apply(WORKAROUND)
    sqs = client("sqs")
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    url = sqs.create_queue(QueueName="q.fifo", Attributes=attributes)["QueueUrl"]
    for body in ("same", "same", "other"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in received] == ["same", "other"]
    # Without content-based deduplication a FIFO send must carry its own id, as on AWS.
    plain = sqs.create_queue(QueueName="plain.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    with pytest.raises(ClientError, match="MessageDeduplicationId"):
        sqs.send_message(QueueUrl=plain, MessageBody="x", MessageGroupId="g")


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
