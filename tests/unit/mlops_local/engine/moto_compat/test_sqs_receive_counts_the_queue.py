"""moto counts the whole queue for each message it receives; AWS receives in constant time."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from moto.sqs import models

from mlops_local.engine.moto_compat.sqs_receive_counts_the_queue import WORKAROUND
from tests.unit.mlops_local.engine.conftest import client


@pytest.fixture
def attribute_builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times a queue's full attributes (with their message counts) were built."""
    builds: list[int] = []
    stock = models.Queue.attributes

    def counted(queue: models.Queue) -> object:
        builds.append(1)
        return stock.fget(queue)  # type: ignore[attr-defined]

    monkeypatch.setattr(models.Queue, "attributes", property(counted))
    return builds


def _receive_ten(attribute_builds: list[int]) -> list[dict[str, object]]:
    """Send ten messages, then receive them; ``attribute_builds`` counts the receive's builds only."""
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    for index in range(10):
        sqs.send_message(QueueUrl=url, MessageBody=str(index))
    attribute_builds.clear()
    return list(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []))


def test_stock_moto_builds_every_attribute_for_each_message(stock: None, attribute_builds: list[int]) -> None:
    assert len(_receive_ten(attribute_builds)) == 10
    assert len(attribute_builds) >= 10


def test_the_workaround_alone_receives_without_counting_the_queue(
    apply: Callable[..., None], attribute_builds: list[int]
) -> None:
    apply(WORKAROUND)
    received = _receive_ten(attribute_builds)
    assert sorted(str(message["Body"]) for message in received) == [str(i) for i in range(10)]
    assert attribute_builds == []


def test_messages_past_their_retention_are_still_not_received(
    apply: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    apply(WORKAROUND)
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="q", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    later = models.unix_time() + 61
    monkeypatch.setattr(models, "unix_time", lambda *_: later)
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []


BACKLOG = 50


def _receive_one(clock_reads: list[int], backlog: int) -> int:
    """Queue a backlog, then receive one message; return how often that receive read the clock."""
    sqs = client("sqs")
    url = str(sqs.create_queue(QueueName=f"q{backlog}")["QueueUrl"])
    for index in range(backlog + 1):
        sqs.send_message(QueueUrl=url, MessageBody=str(index))
    clock_reads.clear()
    assert len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]) == 1
    return len(clock_reads)


def test_stock_moto_reads_the_clock_for_every_queued_message_it_lists(
    stock: None, clock_reads: list[int]
) -> None:
    assert _receive_one(clock_reads, BACKLOG) >= 2 * BACKLOG


def test_the_workaround_alone_lists_the_queue_with_one_clock_reading(
    apply: Callable[..., None], clock_reads: list[int]
) -> None:
    apply(WORKAROUND)
    assert _receive_one(clock_reads, BACKLOG) == _receive_one(clock_reads, 0) <= 5


@pytest.mark.parametrize("patched", [False, True], ids=["stock", "workaround"])
def test_in_flight_and_delayed_messages_are_received_as_before(
    apply: Callable[..., None], monkeypatch: pytest.MonkeyPatch, patched: bool
) -> None:
    if patched:
        apply(WORKAROUND)
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="now")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in first] == ["now"]
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) == []
    # 61 s on: the delay is over and the first message's visibility timeout ran out.
    later = models.unix_time_millis() + 61_000
    monkeypatch.setattr(models, "unix_time_millis", lambda *_: later)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in again) == ["later", "now"]
