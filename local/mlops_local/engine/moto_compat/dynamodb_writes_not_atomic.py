"""DynamoDB conditional writes are not atomic across threads."""

from __future__ import annotations

import threading
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

from mlops_local.engine.moto_compat.registry import Workaround
from mlops_local.engine.patching import Patches, replace


def _patches() -> Patches:
    lock = threading.RLock()
    for method in ("put_item", "update_item", "delete_item"):
        original = getattr(DynamoDBBackend, method)

        def locked(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(*args, **kwargs)

        yield replace(DynamoDBBackend, method, locked)


WORKAROUND = Workaround(
    name="dynamodb_writes_not_atomic",
    moto_does=(
        "checks a write's condition and then writes without a lock, so concurrent callers can all pass "
        "a condition (attribute_not_exists, a version check) that only one of them should pass"
    ),
    aws_does="each conditional PutItem, UpdateItem and DeleteItem is atomic: exactly one caller wins",
    applies_to="==5.2.5",
    patches=_patches,
)
