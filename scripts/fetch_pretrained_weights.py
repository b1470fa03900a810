"""Download torchvision's ImageNet weights for a backbone, check them, and upload them for training.

Training jobs run with network isolation and cannot download anything, so a backbone's weights reach
them through the ``pretrained`` input channel (training/pretrained_weights.py). Run this once where
the internet is reachable:

    python scripts/fetch_pretrained_weights.py --arch resnet18 \\
        --bucket <ArtifactsBucketName output> --kms-key-id <the stack's KMS key ARN>

It downloads torchvision's published file (the URL of torchvision's model definitions), checks its
sha256 against the prefix in the file name as torch.hub does, checks that it loads into the
project's own network (training/backbones.py), uploads it to ``s3://<bucket>/pretrained/<file>``
encrypted with the KMS key (SSE-KMS), and prints the key to pass as the ``PretrainedWeightsKey``
template parameter.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
# The training modules are flat (SageMaker script mode); they sit on sys.path as in their jobs.
sys.path.insert(0, str(REPO_ROOT / "training"))

import backbones  # noqa: E402
import pretrained_weights  # noqa: E402
import torch  # noqa: E402
from pretrained_weights import PretrainedWeights  # noqa: E402

# Where torchvision publishes its weights: the IMAGENET1K_V1 URLs of torchvision/models/resnet.py and
# torchvision/models/mobilenetv3.py are this folder followed by backbones.WEIGHTS_FILES.
WEIGHTS_BASE_URL = "https://download.pytorch.org/models/"
DEFAULT_PREFIX = "pretrained"


def weights_url(arch: str) -> str:
    """torchvision's URL of the ImageNet weights of ``arch``."""
    return WEIGHTS_BASE_URL + backbones.WEIGHTS_FILES[arch]


def hash_prefix(file_name: str) -> str:
    """The sha256 prefix a published weights file carries in its name: the part between "-" and
    "." (torch.hub's rule for torchvision's files: torch/hub.py, ``HASH_REGEX`` as used by
    ``load_state_dict_from_url(check_hash=True)``)."""
    match = torch.hub.HASH_REGEX.search(file_name)
    if match is None or not match.group(1):
        raise ValueError(f"{file_name} carries no sha256 prefix (name-<hex>.pth); cannot check it")
    return match.group(1)


def download(url: str, folder: Path) -> Path:
    """Download ``url`` into ``folder`` under its own name; torch.hub refuses a file whose sha256
    does not start with the prefix in its name (and leaves nothing behind)."""
    name = url.rsplit("/", 1)[-1]
    target = folder / name
    torch.hub.download_url_to_file(url, str(target), hash_prefix=hash_prefix(name), progress=False)
    return target


def check(arch: str, path: Path) -> PretrainedWeights:
    """Read the file as training will, and load it into the project's network (strict)."""
    weights = pretrained_weights.read_weights(arch, path)
    backbones.load_imagenet_weights(backbones.imagenet_network(arch), weights.state_dict)
    return weights


def upload(s3: Any, weights: PretrainedWeights, bucket: str, key: str, kms_key_id: str) -> None:
    """Upload the file with SSE-KMS under ``kms_key_id`` and its sha256 as object metadata.

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/specifying-kms-encryption.html
    """
    s3.upload_file(
        str(weights.path),
        bucket,
        key,
        ExtraArgs={
            "ServerSideEncryption": "aws:kms",
            "SSEKMSKeyId": kms_key_id,
            "Metadata": {"sha256": weights.sha256},
        },
    )


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", required=True, choices=backbones.BACKBONES)
    parser.add_argument("--bucket", required=True, help="the stack's ArtifactsBucketName output")
    parser.add_argument("--kms-key-id", required=True, help="KMS key (ARN, ID or alias) for SSE-KMS")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help="key prefix (default: pretrained)")
    parser.add_argument("--region", default=None)
    parser.add_argument("--url", default=None, help="download from here instead of torchvision's URL")
    parser.add_argument("--keep", type=Path, default=None, help="keep the downloaded file in this folder")
    arguments = parser.parse_args(argv)

    url = arguments.url or weights_url(arguments.arch)
    with tempfile.TemporaryDirectory(prefix="pretrained-") as temporary:
        folder = arguments.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        weights = check(arguments.arch, download(url, folder))
        key = f"{arguments.prefix.strip('/')}/{weights.path.name}"
        import boto3  # noqa: PLC0415 - only needed to upload, not to check a file

        s3 = boto3.session.Session(region_name=arguments.region).client("s3")
        upload(s3, weights, arguments.bucket, key, arguments.kms_key_id)
    print(
        f"uploaded s3://{arguments.bucket}/{key}: {len(weights.state_dict)} tensors, sha256 {weights.sha256}"
    )
    print(f"{pretrained_weights.TEMPLATE_PARAMETER}={key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
