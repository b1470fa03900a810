"""The run lease, the pending uploads and the pending retraining, in the pipeline's DynamoDB table.

Keys (docs/contracts.md): ``pk=run, sk=lease``, ``pk=uploads, sk=pending``,
``pk=retraining, sk=pending``. Every change that must not race is a conditional write:
DynamoDB evaluates the condition and applies the write atomically, so two triggers can never both
hold the lease, and an upload recorded between reading and claiming the pending uploads makes the
claim fail instead of being lost. The pending uploads item has no ``expires_at``: the table's TTL
must never delete it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mlops_common.adapters import aws
from mlops_common.domain.run_control import Lease, PendingRetraining, PendingUploads

LEASE_KEY = {"pk": {"S": "run"}, "sk": {"S": "lease"}}
PENDING_UPLOADS_KEY = {"pk": {"S": "uploads"}, "sk": {"S": "pending"}}
PENDING_RETRAINING_KEY = {"pk": {"S": "retraining"}, "sk": {"S": "pending"}}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _moment(attribute: dict[str, str] | None) -> datetime | None:
    return datetime.fromisoformat(attribute["S"]) if attribute and attribute.get("S") else None


class RunLedger:
    """Implements ``ports.RunControl``: conditional reads and writes of the one-run records."""

    def __init__(self, table_name: str, dynamodb_client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = dynamodb_client

    @property
    def client(self) -> Any:
        return self._client or aws.client("dynamodb")

    def _conditional(self, call: Any, **kwargs: Any) -> bool:
        """Run a conditional write; False when its condition did not hold."""
        try:
            call(TableName=self.table_name, **kwargs)
        except Exception as exc:
            if aws.error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _get(self, key: dict[str, Any]) -> dict[str, Any]:
        response = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True)
        return dict(response.get("Item") or {})

    # --- the lease ------------------------------------------------------------------------------

    def lease(self) -> Lease | None:
        item = self._get(LEASE_KEY)
        if not item:
            return None
        return Lease(
            holder=item["holder"]["S"],
            trigger=item["trigger"]["S"],
            expires_at=int(item["expires_at"]["N"]),
            acquired_at=_moment(item.get("acquired_at")),
        )

    def take_lease(self, holder: str, trigger: str, now: datetime, expires_at: int) -> bool:
        """Take the lease if nobody holds it, it expired, or ``holder`` has it already."""
        return self._conditional(
            self.client.put_item,
            Item={
                **LEASE_KEY,
                "holder": {"S": holder},
                "trigger": {"S": trigger},
                "acquired_at": {"S": _iso(now)},
                "expires_at": {"N": str(expires_at)},
            },
            ConditionExpression="attribute_not_exists(pk) OR expires_at <= :now OR holder = :holder",
            ExpressionAttributeValues={":now": {"N": str(int(now.timestamp()))}, ":holder": {"S": holder}},
        )

    def release_lease(self, holder: str) -> bool:
        """Give the lease back, only if ``holder`` still has it."""
        return self._conditional(
            self.client.delete_item,
            Key=LEASE_KEY,
            ConditionExpression="holder = :holder",
            ExpressionAttributeValues={":holder": {"S": holder}},
        )

    # --- pending uploads ------------------------------------------------------------------------

    def add_pending_uploads(self, count: int, now: datetime) -> None:
        """Count ``count`` more accepted uploads; the quiet period restarts at ``now``."""
        self.client.update_item(
            TableName=self.table_name,
            Key=PENDING_UPLOADS_KEY,
            UpdateExpression=(
                "ADD #count :count, #version :one "
                "SET last_at = :now, first_at = if_not_exists(first_at, :now)"
            ),
            ExpressionAttributeNames={"#count": "count", "#version": "version"},
            ExpressionAttributeValues={
                ":count": {"N": str(count)},
                ":one": {"N": "1"},
                ":now": {"S": _iso(now)},
            },
        )

    def pending_uploads(self) -> PendingUploads:
        item = self._get(PENDING_UPLOADS_KEY)
        return PendingUploads(
            count=int(item.get("count", {}).get("N", "0")),
            first_at=_moment(item.get("first_at")),
            last_at=_moment(item.get("last_at")),
            version=int(item.get("version", {}).get("N", "0")),
            covered_until=_moment(item.get("covered_until")),
        )

    def claim_pending_uploads(self, seen: PendingUploads, until: datetime) -> bool:
        """Claim the uploads counted in ``seen`` for a run whose snapshot ends at ``until``.

        Fails (False) if any upload was counted since ``seen`` was read: the caller waits again.
        """
        return self._conditional(
            self.client.update_item,
            Key=PENDING_UPLOADS_KEY,
            UpdateExpression=(
                "SET #count = :zero, covered_until = :until ADD #version :one REMOVE first_at, last_at"
            ),
            ConditionExpression="attribute_not_exists(pk) OR #version = :seen",
            ExpressionAttributeNames={"#count": "count", "#version": "version"},
            ExpressionAttributeValues={
                ":zero": {"N": "0"},
                ":one": {"N": "1"},
                ":until": {"S": _iso(until)},
                ":seen": {"N": str(seen.version)},
            },
        )

    # --- pending retraining ---------------------------------------------------------------------

    def request_retraining(self, trigger: str, reason: str, now: datetime) -> None:
        """Remember a retraining for the next run to end (a later request replaces an earlier one)."""
        self.client.put_item(
            TableName=self.table_name,
            Item={
                **PENDING_RETRAINING_KEY,
                "trigger": {"S": trigger},
                "reason": {"S": reason[:1000]},
                "requested_at": {"S": _iso(now)},
            },
        )

    def pending_retraining(self) -> PendingRetraining | None:
        item = self._get(PENDING_RETRAINING_KEY)
        if not item:
            return None
        return PendingRetraining(trigger=item["trigger"]["S"], reason=item["reason"]["S"])

    def clear_retraining(self) -> None:
        """A run began: it trains on everything so far, so it answers any pending retraining."""
        self.client.delete_item(TableName=self.table_name, Key=PENDING_RETRAINING_KEY)
