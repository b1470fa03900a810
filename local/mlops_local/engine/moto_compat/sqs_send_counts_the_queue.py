"""SQS SendMessage that reads the clock once for every message already in the queue.

To see whether a queue is FIFO with content-based deduplication, moto's ``send_message`` builds all
of the queue's attributes, and with them ``ApproximateNumberOfMessages``, ``...NotVisible`` and
``...Delayed``: three passes over every message, each message reading the clock (``unix_time_millis``,
a datetime subtraction) for its ``visible`` or ``delayed`` property. An upload burst that EventBridge
forwards to the trigger queue therefore slows down as the backlog grows: profiled, two thirds of a
local ``PutObject``'s time went there (818 uploads at 35 objects/s). AWS accepts a message in
constant time whatever the backlog. The workaround counts with one clock reading per count: the
counts, and everything that reads them, are unchanged; the per-message cost is a comparison.
"""

from __future__ import annotations

from moto.sqs import models
from moto.sqs.models import Queue

from mlops_local.engine.moto_compat.registry import Workaround
from mlops_local.engine.patching import Patches, replace


def _patches() -> Patches:
    # The same tests as moto's Message.visible and Message.delayed, against one reading of the clock.
    def visible_count(queue: Queue) -> int:
        now = models.unix_time_millis()
        return sum(1 for m in queue._messages if now > m.visible_at and not now < m.delayed_until)

    def delayed_count(queue: Queue) -> int:
        now = models.unix_time_millis()
        return sum(1 for m in queue._messages if now < m.delayed_until)

    def not_visible_count(queue: Queue) -> int:
        now = models.unix_time_millis()
        return sum(1 for m in queue._messages if not now > m.visible_at)

    yield replace(Queue, "approximate_number_of_messages", property(visible_count))
    yield replace(Queue, "approximate_number_of_messages_delayed", property(delayed_count))
    yield replace(Queue, "approximate_number_of_messages_not_visible", property(not_visible_count))


WORKAROUND = Workaround(
    name="sqs_send_counts_the_queue",
    moto_does="reads the clock once per queued message, three times over, for every message it sends",
    aws_does="accepts a message in constant time whatever the queue's backlog",
    applies_to="==5.2.5",
    patches=_patches,
)
