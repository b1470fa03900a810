"""Package the job code (Glue, training, evaluation, serving, monitoring), upload it by content hash, deploy.

SageMaker and Glue read their code from S3, not from the Lambda packages SAM builds. This script bundles
that code, uploads it once per content version to ``s3://<artifacts bucket>/code/<version>/`` and runs
``sam deploy`` with ``CodeVersion=<version>`` added to the environment's parameter overrides:

- ``sourcedir.tar.gz``: training/*.py and monitoring/*.py, flat (SageMaker script mode);
- ``source/<module>.py``: the same modules unpacked (the evaluation processing job's code input);
- ``glue/prepare_dataset.py`` and ``glue/modules.zip`` (the Glue script and its --extra-py-files: the other
  glue/ modules plus training/ modules such as image_features, flat);
- ``monitoring/record_preprocessor.py`` (Model Monitor's record preprocessor).

On the first deploy the stack (and so the bucket) does not exist yet: it is deployed once with the
placeholder version, then the code is uploaded and the stack updated to point at it.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlops_planning.samconfig import parameter_override_tokens, parse_parameter_overrides

REPO_ROOT = Path(__file__).resolve().parents[1]
BOOTSTRAP_VERSION = "bootstrap"
VERSION_LENGTH = 16
GLUE_SCRIPT = "prepare_dataset.py"


@dataclass(frozen=True)
class CodeBundle:
    """Every object to upload, keyed by its path under ``code/<version>/``."""

    files: Mapping[str, bytes]

    @property
    def version(self) -> str:
        """Content hash of the whole bundle: the same code always gets the same version."""
        digest = hashlib.sha256()
        for key in sorted(self.files):
            digest.update(key.encode())
            digest.update(hashlib.sha256(self.files[key]).digest())
        return digest.hexdigest()[:VERSION_LENGTH]

    def keys(self) -> dict[str, str]:
        """Object key of every file for this bundle's version."""
        return {name: f"code/{self.version}/{name}" for name in sorted(self.files)}


def _python_modules(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.py"))}


def build_sourcedir(modules: Mapping[str, bytes]) -> bytes:
    """A reproducible tar.gz of flat modules: fixed order, owner and timestamps, so the hash is stable."""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(modules):
            info = tarfile.TarInfo(name)
            info.size = len(modules[name])
            info.mode = 0o644
            info.mtime = 0
            archive.addfile(info, io.BytesIO(modules[name]))
    compressed = io.BytesIO()
    with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=0) as gz:
        gz.write(tar_bytes.getvalue())
    return compressed.getvalue()


def build_zip(modules: Mapping[str, bytes]) -> bytes:
    """A reproducible zip of flat modules (fixed order and timestamps)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(modules):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, modules[name], compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def collect_bundle(repo_root: Path) -> CodeBundle:
    """Read the job code from the working tree into one bundle."""
    training = _python_modules(repo_root / "training")
    monitoring = _python_modules(repo_root / "monitoring")
    clashes = set(training) & set(monitoring)
    if clashes:
        raise ValueError(
            f"training/ and monitoring/ share module names {sorted(clashes)}: the bundle is flat"
        )
    modules = {**training, **monitoring}
    glue = _python_modules(repo_root / "glue")
    files = {
        "sourcedir.tar.gz": build_sourcedir(modules),
        **{f"source/{name}": content for name, content in modules.items()},
        "glue/prepare_dataset.py": glue.pop(GLUE_SCRIPT),
        "glue/modules.zip": build_zip({**training, **glue}),
        "monitoring/record_preprocessor.py": monitoring["record_preprocessor.py"],
    }
    return CodeBundle(files)


def deploy_settings(samconfig: Mapping[str, object], config_env: str) -> dict[str, object]:
    """The ``[<env>.deploy.parameters]`` table of samconfig.toml."""
    try:
        return dict(samconfig[config_env]["deploy"]["parameters"])  # type: ignore[index]
    except KeyError as missing:
        raise ValueError(f"samconfig.toml has no [{config_env}.deploy.parameters]") from missing


def parameter_overrides(settings: Mapping[str, object], code_version: str) -> list[str]:
    """The environment's overrides plus CodeVersion (a CLI --parameter-overrides replaces samconfig's).

    One ``Key=Value`` argument per override, quoted where the value needs it, because ``sam deploy``
    reads each argument with the same grammar as samconfig's ``parameter_overrides``.
    """
    configured = parse_parameter_overrides(settings.get("parameter_overrides"))
    configured.pop("CodeVersion", None)
    return parameter_override_tokens({**configured, "CodeVersion": code_version})


class Deployer:
    """The only place this script talks to AWS (boto3) or runs the SAM CLI."""

    def __init__(self, stack_name: str, region: str | None, sam: Path, config_env: str) -> None:
        import boto3  # noqa: PLC0415 - only needed when deploying, not for planning or tests

        session = boto3.session.Session(region_name=region)
        self._cloudformation = session.client("cloudformation")
        self._s3 = session.client("s3")
        self._stack_name = stack_name
        self._sam = sam
        self._config_env = config_env

    def artifacts_bucket(self) -> str | None:
        """The stack's ArtifactsBucketName output, or None before the first deploy."""
        try:
            stacks = self._cloudformation.describe_stacks(StackName=self._stack_name)["Stacks"]
        except self._cloudformation.exceptions.ClientError:
            return None
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        return outputs.get("ArtifactsBucketName")

    def upload(self, bucket: str, bundle: CodeBundle) -> int:
        """Upload the files not there yet (versions are immutable); returns how many were uploaded."""
        uploaded = 0
        for name, key in bundle.keys().items():
            try:
                self._s3.head_object(Bucket=bucket, Key=key)
                continue
            except self._s3.exceptions.ClientError:
                pass
            self._s3.put_object(Bucket=bucket, Key=key, Body=bundle.files[name])
            uploaded += 1
        return uploaded

    def sam_deploy(self, overrides: list[str]) -> None:
        """Run ``sam deploy`` for the environment with these parameter overrides."""
        command = [
            str(self._sam),
            "deploy",
            "--config-env",
            self._config_env,
            "--parameter-overrides",
            *overrides,
        ]
        subprocess.run(command, cwd=REPO_ROOT, check=True)  # noqa: S603 - fixed executable, no shell


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: ``python scripts/package_code.py --config-env dev [--plan]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config-env", default="dev", help="samconfig.toml environment (dev|prod)")
    parser.add_argument("--plan", action="store_true", help="print the version and keys; upload nothing")
    parser.add_argument("--sam", type=Path, default=REPO_ROOT / ".venv-sam" / "bin" / "sam")
    arguments = parser.parse_args(argv)

    bundle = collect_bundle(REPO_ROOT)
    settings = deploy_settings(
        tomllib.loads((REPO_ROOT / "samconfig.toml").read_text()), arguments.config_env
    )
    overrides = parameter_overrides(settings, bundle.version)
    if arguments.plan:
        print(f"CodeVersion={bundle.version}")
        for key in bundle.keys().values():
            print(key)
        return 0

    region = settings.get("region")
    deployer = Deployer(
        str(settings["stack_name"]), str(region) if region else None, arguments.sam, arguments.config_env
    )
    bucket = deployer.artifacts_bucket()
    if bucket is None:
        deployer.sam_deploy(parameter_overrides(settings, BOOTSTRAP_VERSION))
        bucket = deployer.artifacts_bucket()
        if bucket is None:
            raise SystemExit("the stack has no ArtifactsBucketName output after the first deploy")
    uploaded = deployer.upload(bucket, bundle)
    print(f"code version {bundle.version}: {uploaded} new object(s) in s3://{bucket}/code/{bundle.version}/")
    deployer.sam_deploy(overrides)
    return 0


if __name__ == "__main__":
    sys.exit(main())
