"""Reading JSON documents from S3."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from mlops_common.adapters import aws
from mlops_common.ports import ObjectNotFound


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


class ObjectStore:
    """Implements ``ports.JsonDocuments``."""

    def __init__(self, s3_client: Any | None = None) -> None:
        self._client = s3_client

    @property
    def client(self) -> Any:
        return self._client or aws.client("s3")

    def read_json(self, uri: str) -> Any:
        """The parsed JSON at ``uri``; ``ObjectNotFound`` if there is no such object."""
        bucket, key = split_s3_uri(uri)
        try:
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as exc:
            if aws.error_code(exc) in {"NoSuchKey", "404", "NoSuchBucket"}:
                raise ObjectNotFound(uri) from exc
            raise
        return json.loads(body)
