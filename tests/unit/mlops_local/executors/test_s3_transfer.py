"""Downloads from the embedded S3 keep what a job may select objects by: keys and LastModified."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlops_local.executors.s3_transfer import download_prefix

BUCKET = "artifacts"


def test_downloaded_files_carry_the_objects_last_modified(s3: Any, tmp_path: Path) -> None:
    s3.put_object(Bucket=BUCKET, Key="incoming/line-a/ok/1.jpg", Body=b"one")
    s3.put_object(Bucket=BUCKET, Key="incoming/line-a/dent/2.jpg", Body=b"two")
    s3.put_object(Bucket=BUCKET, Key="incoming/line-a/", Body=b"")  # a folder marker, no data
    listed = {
        item["Key"]: item["LastModified"]
        for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="incoming/")["Contents"]
    }

    files = download_prefix(s3, f"s3://{BUCKET}/incoming/", tmp_path / "mirror")

    assert files == [tmp_path / "mirror/line-a/dent/2.jpg", tmp_path / "mirror/line-a/ok/1.jpg"]
    for path in files:
        key = "incoming/" + path.relative_to(tmp_path / "mirror").as_posix()
        # The Glue job reads the copy's mtime as Spark's modificationTime, S3's LastModified on AWS
        # (whole seconds: a file's own write time would carry a fraction).
        assert path.stat().st_mtime == listed[key].timestamp()
        assert path.read_bytes() == s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
