"""Lazily created, cached boto3 clients (boto3 is imported on first use, not at cold start)."""

from __future__ import annotations

import threading
from typing import Any

_clients: dict[str, Any] = {}
# boto3's default session is not thread-safe while it creates clients.
_lock = threading.Lock()


def client(service_name: str) -> Any:
    """The shared client for ``service_name``, created on first use."""
    with _lock:
        if service_name not in _clients:
            import boto3  # noqa: PLC0415 - deferred: keeps cold imports fast
            from botocore.config import Config  # noqa: PLC0415

            _clients[service_name] = boto3.client(
                service_name, config=Config(retries={"mode": "standard", "max_attempts": 5})
            )
        return _clients[service_name]


def reset_clients() -> None:
    """Forget every cached client (tests start a fresh mock per test)."""
    with _lock:
        _clients.clear()


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (empty for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""
