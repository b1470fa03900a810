"""The pipeline's DynamoDB table: uploads seen and the drift cooldown (the run records: run_ledger).

Keys (docs/contracts.md): ``pk=object#<bucket>/<key>, sk=<sequencer>``,
``pk=drift, sk=cooldown``; TTL attribute ``expires_at``.
"""

from __future__ import annotations

from typing import Any

from mlops_common.adapters import aws
from mlops_common.ports import ObjectRecord

DRIFT_PK = "drift"
COOLDOWN_SK = "cooldown"


class Ledger:
    """Implements ``ports.UploadLedger`` and ``ports.DriftCooldown``."""

    def __init__(self, table_name: str, dynamodb_client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = dynamodb_client

    @property
    def client(self) -> Any:
        return self._client or aws.client("dynamodb")

    def _is_condition_failure(self, exc: BaseException) -> bool:
        return aws.error_code(exc) == "ConditionalCheckFailedException"

    def record_object(self, pk: str, sk: str, attributes: dict[str, str], expires_at: int) -> ObjectRecord:
        """Write the upload once; a duplicate event changes nothing and reports what is known."""
        item = {"pk": {"S": pk}, "sk": {"S": sk}, "expires_at": {"N": str(expires_at)}}
        item.update({name: {"S": value} for name, value in attributes.items()})
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

    def mark_handled(self, pk: str, sk: str, run: str, note: str) -> None:
        """Note which run covers the upload (``run``) and how (``note``: started, deferred...)."""
        self.client.update_item(
            TableName=self.table_name,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            UpdateExpression="SET #run = :run, #note = :note",
            ExpressionAttributeNames={"#run": "run", "#note": "run_note"},
            ExpressionAttributeValues={":run": {"S": run}, ":note": {"S": note}},
        )

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
