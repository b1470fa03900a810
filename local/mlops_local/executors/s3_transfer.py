"""Moving files between the embedded S3 and a job's work folder, the way SageMaker and Glue do."""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

_CHUNK_BYTES = 1 << 20


def split_s3_uri(uri: str) -> tuple[str, str]:
    """Return (bucket, key) of ``s3://bucket/key``; raise ValueError for anything else."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"S3 URI without a bucket: {uri!r}")
    return bucket, key


def join_s3_uri(base: str, *parts: str) -> str:
    """Join key parts onto an S3 URI with exactly one slash between them."""
    joined = base.rstrip("/")
    for part in parts:
        joined += "/" + part.strip("/")
    return joined


def safe_local_path(root: Path, relative_key: str) -> Path:
    """Map an object key (relative to a prefix) below ``root``, refusing keys that would escape it."""
    parts = [part for part in PurePosixPath(relative_key).parts if part not in ("", "/")]
    if any(part == ".." for part in parts):
        raise ValueError(f"object key escapes its folder: {relative_key!r}")
    return root.joinpath(*parts) if parts else root


def list_keys(s3: Any, uri: str) -> list[str]:
    """Every object key under the S3 prefix ``uri``, sorted."""
    bucket, prefix = split_s3_uri(uri)
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return sorted(keys)


def download_prefix(s3: Any, uri: str, destination: Path) -> list[Path]:
    """Download every object under ``uri`` to ``destination``, keeping the keys below the prefix.

    A URI naming a single object (as SageMaker allows for an ``S3Prefix`` that matches one key
    exactly) lands as that file's name in ``destination``. Each file's modification time is the
    object's LastModified, the time Spark's file sources report for it on AWS: the Glue job selects
    its snapshot by that time (``--uploads_until``), and must select the same objects from the copy.
    """
    bucket, prefix = split_s3_uri(uri)
    destination.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    items = (item for page in pages for item in page.get("Contents", []))
    for item in sorted(items, key=lambda item: item["Key"]):
        key = item["Key"]
        if key.endswith("/"):
            continue  # folder placeholder objects hold no data
        relative = key[len(prefix) :].lstrip("/") if key != prefix else PurePosixPath(key).name
        if not relative:
            continue
        target = safe_local_path(destination, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        _get_to_file(s3, bucket, key, target)
        modified = item["LastModified"].timestamp()
        os.utime(target, (modified, modified))
        written.append(target)
    return written


def download_object(s3: Any, uri: str, destination: Path) -> Path:
    """Download one object to the file ``destination``."""
    bucket, key = split_s3_uri(uri)
    destination.parent.mkdir(parents=True, exist_ok=True)
    _get_to_file(s3, bucket, key, destination)
    return destination


def _get_to_file(s3: Any, bucket: str, key: str, target: Path) -> None:
    """One GetObject, streamed to ``target``. ``download_file`` (s3transfer) adds a HeadObject and a
    transfer manager with its thread pool to every call: 4.7x slower per small object on the
    embedded S3, where a job's inputs are hundreds of photos (a Glue job's mirror, a channel)."""
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    try:
        with target.open("wb") as file:
            shutil.copyfileobj(body, file, _CHUNK_BYTES)
    finally:
        body.close()


def upload_folder(s3: Any, folder: Path, uri: str, *, skip_suffixes: tuple[str, ...] = ()) -> list[str]:
    """Upload every file under ``folder`` to the prefix ``uri``; return the keys written."""
    bucket, prefix = split_s3_uri(uri)
    keys: list[str] = []
    if not folder.exists():
        return keys
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.name.endswith(skip_suffixes):
            continue
        key = join_s3_uri(f"s3://{bucket}/{prefix}", path.relative_to(folder).as_posix())
        key = split_s3_uri(key)[1]
        s3.upload_file(str(path), bucket, key)
        keys.append(key)
    return keys


def tar_folder(folder: Path, archive: Path) -> Path:
    """Write ``folder``'s contents (not the folder itself) into a gzipped tar, as SageMaker does."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=path.name)
    return archive


def extract_tar(archive: Path, destination: Path) -> Path:
    """Extract a (possibly untrusted) tar archive below ``destination`` with the safe data filter."""
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(destination, filter="data")
    return destination
