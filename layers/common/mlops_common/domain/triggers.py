"""Clock arithmetic shared by the triggers: expiries of ledger records and leases."""

from __future__ import annotations

from datetime import datetime, timedelta


def expiry_epoch(now: datetime, minutes: int) -> int:
    """Epoch seconds ``minutes`` after ``now``: the value of a DynamoDB TTL attribute."""
    return int((now + timedelta(minutes=minutes)).timestamp())
