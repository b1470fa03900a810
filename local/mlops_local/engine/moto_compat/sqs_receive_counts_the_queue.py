"""SQS ReceiveMessage whose cost grows with the queue's length.

For every message it returns, moto checks the retention period through ``get_queue_attributes``,
which builds *all* the queue's attributes, ``ApproximateNumberOfMessages`` among them (a count over
every message). Receiving from a queue of n messages costs O(n) per message: a burst of uploads
makes the embedded SQS, and with it the local trigger, slower and slower (measured: a 10,000-object
upload put 14 objects/s with two uploaders against 32 with one), so the gaps between
start_pipeline batches outgrow the quiet period and a run claims part of an upload. AWS receives in
constant time whatever the backlog. The workaround reads the one attribute it needs; which
messages are returned is unchanged.
"""

from __future__ import annotations

from moto.sqs import models
from moto.sqs.models import Message, SQSBackend

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


WORKAROUND = Workaround(
    name="sqs_receive_counts_the_queue",
    moto_does="builds every queue attribute (counting all its messages) for each message it receives",
    aws_does="receives in constant time whatever the queue's backlog",
    applies_to="==5.2.5",
    patches=_patches,
)
