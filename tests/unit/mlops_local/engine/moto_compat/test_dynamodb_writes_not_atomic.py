"""DynamoDB conditional writes: moto lets concurrent callers all pass a condition; AWS lets one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models.table import Table

from mlops_local.engine.moto_compat.dynamodb_writes_not_atomic import WORKAROUND
from tests.unit.mlops_local.engine.conftest import client

CALLERS = 2


@pytest.fixture
def slow_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Widen the gap between a write's condition check and the write, so that every caller is in it."""
    stock_get_item = Table.get_item

    def get_item(*args: Any, **kwargs: Any) -> Any:
        item = stock_get_item(*args, **kwargs)
        time.sleep(0.3)
        return item

    monkeypatch.setattr(Table, "get_item", get_item)


def _claims_granted() -> int:
    dynamodb = client("dynamodb")
    dynamodb.create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    start = threading.Barrier(CALLERS)
    granted: list[int] = []
    refused: list[str] = []

    def claim(caller: int) -> None:
        start.wait()
        try:
            dynamodb.put_item(
                TableName="ledger",
                Item={"pk": {"S": "retraining"}, "by": {"N": str(caller)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
            granted.append(caller)
        except ClientError as error:
            refused.append(error.response["Error"]["Code"])

    threads = [threading.Thread(target=claim, args=(caller,)) for caller in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert set(refused) <= {"ConditionalCheckFailedException"}
    assert len(granted) + len(refused) == CALLERS
    return len(granted)


@pytest.mark.usefixtures("slow_reads")
def test_stock_moto_lets_every_concurrent_caller_pass_the_condition(stock: None) -> None:
    assert _claims_granted() == CALLERS


@pytest.mark.usefixtures("slow_reads")
def test_the_workaround_alone_lets_exactly_one_pass(apply: Callable[..., None]) -> None:
    apply(WORKAROUND)
    assert _claims_granted() == 1
