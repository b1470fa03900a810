"""SQS ReceiveMessage whose cost grows with the queue's length.

For every message it returns, moto checks the retention period through ``get_queue_attributes``,
which builds *all* the queue's attributes, ``ApproximateNumberOfMessages`` among them (a count over
every message). Receiving from a queue of n messages costs O(n) per message: a burst of uploads
makes the embedded SQS, and with it the local trigger, slower and slower (measured: a 10,000-object
upload put 14 objects/s with two uploaders against 32 with one), so the gaps between
start_pipeline batches outgrow the quiet period and a run claims part of an upload. AWS receives in
constant time whatever the backlog. The workaround reads the one attribute it needs; which
messages are returned is unchanged.

Each receive also lists the queue's visible messages (``Queue.messages``) with two clock readings
per queued message (its ``visible`` and ``delayed`` properties, each a datetime subtraction): 6 %
of the interpreter's time during a 2,000-photo upload with the trigger running. The workaround
reads the clock once per listing and applies the same two tests to every message.
"""

from __future__ import annotations

from moto.sqs import models
from moto.sqs.models import Message, Queue, SQSBackend

from mlops_local.engine.moto_compat.registry import Workaround
from mlops_local.engine.patching import Patches, replace


def _patches() -> Patches:
    def is_message_valid_based_on_retention_period(
        backend: SQSBackend, queue_name: str, message: Message
    ) -> bool:
        # Set from the queue's attributes at creation (moto's Queue declares it dynamically).
        retention_seconds = int(getattr(backend.get_queue(queue_name), "message_retention_period"))  # noqa: B009
        return retention_seconds + (message.sent_timestamp or 0) / 1000 > models.unix_time()

    yield replace(
        SQSBackend, "is_message_valid_based_on_retention_period", is_message_valid_based_on_retention_period
    )

    def visible_messages(queue: Queue) -> list[Message]:
        # Message.visible is ``now > visible_at``; Message.delayed is ``now < delayed_until``.
        now = models.unix_time_millis()
        return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]

    yield replace(Queue, "messages", property(visible_messages))


WORKAROUND = Workaround(
    name="sqs_receive_counts_the_queue",
    moto_does=(
        "builds every queue attribute (counting all its messages) for each message it receives, and "
        "reads the clock twice per queued message to list the visible ones"
    ),
    aws_does="receives in constant time whatever the queue's backlog",
    applies_to="==5.2.5",
    patches=_patches,
)
