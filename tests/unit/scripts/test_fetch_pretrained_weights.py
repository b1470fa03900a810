"""Fetching a backbone's weights: the sha256 check, the check against our network, the SSE-KMS upload.

Downloads come from file:// URLs (torch.hub reads them like any URL); S3 and KMS are moto's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import fetch_pretrained_weights
import pytest
import torch
from backbones import WEIGHTS_FILES, imagenet_network
from moto import mock_aws
from pretrained_weights import PretrainedWeightsError

REGION = "eu-west-1"
BUCKET = "artifacts"
ARCH = "mobilenet_v3_small"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A bucket and a KMS key in moto."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        key_arn = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
        yield {"s3": s3, "key_arn": key_arn}


def published_file(folder: Path, arch: str = ARCH, *, hash_ok: bool = True) -> Path:
    """A weights file named as torchvision names them: ``<arch>-<first 8 hex of its sha256>.pth``."""
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / "staging.pth"
    torch.manual_seed(2)
    torch.save(imagenet_network(arch).state_dict(), staging)
    digest = hashlib.sha256(staging.read_bytes()).hexdigest()[:8]
    prefix = digest if hash_ok else ("0" if digest[0] != "0" else "1") + digest[1:]
    return staging.rename(folder / f"{ARCH}-{prefix}.pth")


def run(aws: dict[str, Any], source: Path, *extra: str) -> int:
    return fetch_pretrained_weights.main([
        "--arch", ARCH, "--bucket", BUCKET, "--kms-key-id", aws["key_arn"], "--url", source.as_uri(), *extra,
    ])  # fmt: skip


def test_the_file_is_checked_uploaded_with_sse_kms_and_its_key_printed(aws, tmp_path, capsys):
    source = published_file(tmp_path / "published")

    assert run(aws, source) == 0

    key = f"pretrained/{source.name}"
    assert capsys.readouterr().out.splitlines()[-1] == f"PretrainedWeightsKey={key}"
    head = aws["s3"].head_object(Bucket=BUCKET, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == aws["key_arn"]
    assert head["Metadata"] == {"sha256": hashlib.sha256(source.read_bytes()).hexdigest()}
    assert aws["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read() == source.read_bytes()


def test_a_file_whose_sha256_does_not_match_its_name_is_not_uploaded(aws, tmp_path):
    source = published_file(tmp_path / "published", hash_ok=False)

    with pytest.raises(RuntimeError, match="invalid hash value"):
        run(aws, source)

    assert "Contents" not in aws["s3"].list_objects_v2(Bucket=BUCKET)


def test_weights_that_do_not_fit_the_network_are_not_uploaded(aws, tmp_path):
    source = published_file(tmp_path / "published", arch="resnet18")  # named as mobilenet's

    with pytest.raises(PretrainedWeightsError, match="does not fit model=mobilenet_v3_small"):
        run(aws, source)

    assert "Contents" not in aws["s3"].list_objects_v2(Bucket=BUCKET)


def test_the_downloaded_file_can_be_kept(aws, tmp_path):
    source = published_file(tmp_path / "published")

    assert run(aws, source, "--keep", str(tmp_path / "kept"), "--prefix", "weights/") == 0

    assert (tmp_path / "kept" / source.name).read_bytes() == source.read_bytes()
    assert aws["s3"].head_object(Bucket=BUCKET, Key=f"weights/{source.name}")["ContentLength"] > 0


@pytest.mark.parametrize("arch", sorted(WEIGHTS_FILES))
def test_the_default_urls_are_torchvisions_files_with_their_hash_prefix(arch):
    url = fetch_pretrained_weights.weights_url(arch)

    assert url.endswith(f"/models/{WEIGHTS_FILES[arch]}")
    assert (
        fetch_pretrained_weights.hash_prefix(WEIGHTS_FILES[arch]) == WEIGHTS_FILES[arch].split("-")[-1][:-4]
    )


def test_a_file_name_without_a_hash_prefix_is_refused():
    with pytest.raises(ValueError, match="no sha256 prefix"):
        fetch_pretrained_weights.hash_prefix("weights.pth")
