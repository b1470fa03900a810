"""The pipeline's DynamoDB table: uploads seen and the drift cooldown (the run records: run_ledger).

Keys (docs/contracts.md): ``pk=object#<bucket>/<key>, sk=<sequencer>``,
``pk=drift, sk=cooldown``; TTL attribute ``expires_at``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from mlops_common.adapters import aws
from mlops_common.ports import HandledUpload, ObjectRecord

DRIFT_PK = "drift"
COOLDOWN_SK = "cooldown"
# BatchWriteItem takes at most 25 put or delete requests per call, and may leave some unprocessed
# (throttling, a partition's limit) for the caller to retry with exponential backoff:
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html
BATCH_WRITE_LIMIT = 25
UNPROCESSED_RETRIES = 3
UNPROCESSED_FIRST_BACKOFF_SECONDS = 0.05


class Ledger:
    """Implements ``ports.UploadLedger`` and ``ports.DriftCooldown``."""

    def __init__(
        self,
        table_name: str,
        dynamodb_client: Any | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.table_name = table_name
        self._client = dynamodb_client
        self._sleep = sleep

    @property
    def client(self) -> Any:
        return self._client or aws.client("dynamodb")

    def _is_condition_failure(self, exc: BaseException) -> bool:
        return aws.error_code(exc) == "ConditionalCheckFailedException"

    def record_object(self, pk: str, sk: str, attributes: dict[str, str], expires_at: int) -> ObjectRecord:
        """Write the upload once; a duplicate event changes nothing and reports what is known."""
        item = _object_item(pk, sk, attributes, expires_at)
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except Exception as exc:
            if not self._is_condition_failure(exc):
                raise
            old = getattr(exc, "response", {}).get("Item") or {}
            return ObjectRecord(
                new=False, handled="run" in old or old.get("status", {}).get("S") == "rejected"
            )
        return ObjectRecord(new=True, handled=attributes.get("status") == "rejected")

    def mark_handled(self, uploads: Sequence[HandledUpload]) -> list[HandledUpload]:
        """Note which run covers each upload and how; return the uploads that could not be written.

        Whole items, 25 to a BatchWriteItem: a batch write puts items, it cannot update them, so each
        item is written as ``record_object`` wrote it plus ``run`` and ``run_note``. One call per 25
        uploads instead of an UpdateItem each: a 100-record batch makes 4 calls, not 100. Unprocessed
        items are retried with exponential backoff; those still unprocessed are returned. An error
        (after botocore's own retries) is raised: the caller cannot tell which chunk was written.
        """
        unwritten: list[HandledUpload] = []
        for start in range(0, len(uploads), BATCH_WRITE_LIMIT):
            chunk = {(upload.pk, upload.sk): upload for upload in uploads[start : start + BATCH_WRITE_LIMIT]}
            requests = [{"PutRequest": {"Item": _handled_item(upload)}} for upload in chunk.values()]
            for attempt in range(UNPROCESSED_RETRIES + 1):
                if attempt:
                    self._sleep(UNPROCESSED_FIRST_BACKOFF_SECONDS * 2 ** (attempt - 1))
                response = self.client.batch_write_item(RequestItems={self.table_name: requests})
                requests = response.get("UnprocessedItems", {}).get(self.table_name, [])
                if not requests:
                    break
            for request in requests:
                item = request["PutRequest"]["Item"]
                unwritten.append(chunk[(item["pk"]["S"], item["sk"]["S"])])
        return unwritten

    def claim_cooldown(self, holder: str, now_epoch: int, expires_at: int) -> bool:
        """Atomically take the drift cooldown; False if another claim still holds it."""
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    "pk": {"S": DRIFT_PK},
                    "sk": {"S": COOLDOWN_SK},
                    "holder": {"S": holder},
                    "expires_at": {"N": str(expires_at)},
                },
                # TTL deletes lazily: an expired item still exists, so compare its expiry.
                ConditionExpression="attribute_not_exists(pk) OR expires_at <= :now",
                ExpressionAttributeValues={":now": {"N": str(now_epoch)}},
            )
        except Exception as exc:
            if self._is_condition_failure(exc):
                return False
            raise
        return True

    def release_cooldown(self, holder: str) -> None:
        """Give the cooldown back (only if ``holder`` still has it): the start failed."""
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key={"pk": {"S": DRIFT_PK}, "sk": {"S": COOLDOWN_SK}},
                ConditionExpression="holder = :holder",
                ExpressionAttributeValues={":holder": {"S": holder}},
            )
        except Exception as exc:
            if not self._is_condition_failure(exc):
                raise


def _object_item(pk: str, sk: str, attributes: dict[str, str], expires_at: int) -> dict[str, Any]:
    item: dict[str, Any] = {"pk": {"S": pk}, "sk": {"S": sk}, "expires_at": {"N": str(expires_at)}}
    item.update({name: {"S": value} for name, value in attributes.items()})
    return item


def _handled_item(upload: HandledUpload) -> dict[str, Any]:
    item = _object_item(upload.pk, upload.sk, upload.attributes, upload.expires_at)
    item.update({"run": {"S": upload.run}, "run_note": {"S": upload.note}})
    return item
