"""SQS SendMessage that counts every message already in the queue, three times over.

To see whether a queue is FIFO with content-based deduplication, moto's ``send_message`` builds all
of the queue's attributes, and with them ``ApproximateNumberOfMessages``, ``...NotVisible`` and
``...Delayed``: three passes over every message, each message reading the clock (``unix_time_millis``,
a datetime subtraction) for its ``visible`` or ``delayed`` property. An upload burst that EventBridge
forwards to the trigger queue therefore slows down as the backlog grows: profiled, two thirds of a
local ``PutObject``'s time went there (818 uploads at 35 objects/s). AWS accepts a message in
constant time whatever the backlog.

The workaround does two things:
- a send reads only the attribute it asks for (``ContentBasedDeduplication``, which a FIFO queue
  has and a standard one has not), so it counts nothing;
- the counts themselves (``GetQueueAttributes``, and anything else reading them) take one clock
  reading per count, not one per message: the same tests as ``Message.visible`` and
  ``Message.delayed``, so every count is unchanged.
"""

from __future__ import annotations

import contextvars
from typing import Any

from moto.sqs import models
from moto.sqs.models import Queue, SQSBackend

from mlops_local.engine.moto_compat.registry import Workaround
from mlops_local.engine.patching import Patches, replace

# True while this thread (or task) is inside SQSBackend.send_message.
_SENDING = contextvars.ContextVar("sqs_send_message_in_progress", default=False)


def _patches() -> Patches:
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

    stock_attributes = Queue.attributes
    stock_send = SQSBackend.send_message

    def attributes(queue: Queue) -> dict[str, Any]:
        if _SENDING.get():
            # All that moto's send path reads (its validation, send_message, add_message), in the
            # form the full attributes give it: only a FIFO queue has it, as "true" or "false".
            if not queue.fifo_queue:
                return {}
            deduplicates = bool(queue.content_based_deduplication)  # type: ignore[attr-defined]
            return {"ContentBasedDeduplication": str(deduplicates).lower()}
        return stock_attributes.fget(queue)  # type: ignore[attr-defined]

    def send_message(backend: SQSBackend, *args: Any, **kwargs: Any) -> Any:
        token = _SENDING.set(True)
        try:
            return stock_send(backend, *args, **kwargs)
        finally:
            _SENDING.reset(token)

    yield replace(Queue, "attributes", property(attributes))
    yield replace(SQSBackend, "send_message", send_message)


WORKAROUND = Workaround(
    name="sqs_send_counts_the_queue",
    moto_does=(
        "builds every queue attribute on each send, counting the whole queue three times with a clock "
        "reading per queued message"
    ),
    aws_does="accepts a message in constant time whatever the queue's backlog",
    applies_to="==5.2.5",
    patches=_patches,
)
