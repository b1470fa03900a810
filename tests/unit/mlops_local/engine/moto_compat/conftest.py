"""Fixtures shared by the workarounds' tests."""

from __future__ import annotations

import pytest
from moto.sqs import models


@pytest.fixture
def clock_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times moto's SQS models read the clock (``unix_time_millis``)."""
    reads: list[int] = []
    stock = models.unix_time_millis

    def counted(*args: object) -> float:
        reads.append(1)
        return stock(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(models, "unix_time_millis", counted)
    return reads
