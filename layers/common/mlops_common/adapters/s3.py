"""Reading JSON documents from S3."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from mlops_common.adapters import aws
from mlops_common.bounded_json import MAX_DOCUMENT_BYTES, JsonLimitExceeded, loads
from mlops_common.ports import ObjectNotFound


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


class ObjectStore:
    """Implements ``ports.JsonDocuments``."""

    def __init__(self, s3_client: Any | None = None, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> None:
        self._client = s3_client
        self.max_bytes = max_bytes

    @property
    def client(self) -> Any:
        return self._client or aws.client("s3")

    def read_json(self, uri: str) -> Any:
        """The parsed JSON at ``uri``; ``ObjectNotFound`` if there is no such object.

        A document that is not JSON, larger than ``max_bytes`` or nested too deeply is a
        ``ValueError`` (``bounded_json.JsonLimitExceeded`` for the limits); no more than
        ``max_bytes`` of it is ever read into memory.
        """
        bucket, key = split_s3_uri(uri)
        try:
            response = self.client.get_object(Bucket=bucket, Key=key)
        except Exception as exc:
            if aws.error_code(exc) in {"NoSuchKey", "404", "NoSuchBucket"}:
                raise ObjectNotFound(uri) from exc
            raise
        stream = response["Body"]
        try:
            size = int(response.get("ContentLength") or 0)
            if size > self.max_bytes:
                raise JsonLimitExceeded(f"{uri} is {size} bytes, larger than the limit of {self.max_bytes}")
            body = stream.read(self.max_bytes + 1)
        finally:
            stream.close()
        return loads(body, max_bytes=self.max_bytes)
