"""AWS Glue job runs, run locally: the job's own script on local PySpark, as a child process.

The script is the job's ``Command.ScriptLocation`` downloaded from S3 (the deployed artefact), or
the checkout's ``glue/prepare_dataset.py`` when the location is not in S3. Arguments are the job's
``DefaultArguments`` overlaid with the run's, passed as ``--name value`` with Glue's own
``--JOB_NAME`` / ``--JOB_RUN_ID`` (the id GetJobRun answers to). The driver's stdout and stderr go
to the job's log; its ErrorMessage names S3 URIs, not the local copies. Each ``--source_paths``
prefix (comma-separated) is downloaded to ``<workdir>/s3/<bucket>/<key>`` and the argument points
there (``--s3_mirror <workdir>/s3`` tells the job, so the manifest keys objects by their S3 keys as
on AWS); ``--output_path`` points to an empty folder laid out the same way, uploaded to the S3
prefix afterwards with the same relative keys the job would write on AWS (Hadoop's local ``.crc``
checksum files are left out: S3 never gets them). ``--extra-py-files`` (comma-separated S3 URIs of
``.py`` or ``.zip`` files) are downloaded and put on the script's ``PYTHONPATH``, as Glue does;
nothing else from the checkout is importable, so a module missing from that list fails here as it
would on AWS.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops_local.executors.base import ExecutionContext, JobResult
from mlops_local.executors.s3_transfer import download_object, download_prefix, split_s3_uri, upload_folder
from mlops_local.executors.subprocess_runner import child_environment, run_script

DEFAULT_SCRIPT = Path("glue") / "prepare_dataset.py"
SOURCE_ARGUMENT = "--source_paths"
OUTPUT_ARGUMENT = "--output_path"
S3_MIRROR_ARGUMENT = "--s3_mirror"
EXTRA_PY_FILES = "--extra-py-files"


def local_mirror(workdir: Path, uri: str) -> Path:
    """Where an S3 prefix lives under the workdir: ``<workdir>/s3/<bucket>/<key>``."""
    bucket, key = split_s3_uri(uri)
    path = workdir / "s3" / bucket
    for part in key.strip("/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            raise ValueError(f"S3 prefix escapes its bucket: {uri!r}")
        path /= part
    return path


def run_job_run(job: Mapping[str, Any], arguments: Mapping[str, str], ctx: ExecutionContext) -> JobResult:
    """Run one Glue job run (GetJob's ``Job`` and the run's arguments); return what GetJobRun shows."""
    job_name = job["Name"]
    # The script's --JOB_RUN_ID is the id GetJobRun answers to, as on AWS.
    run_id = ctx.job_id or f"jr_{uuid.uuid4().hex}"
    merged = {**job.get("DefaultArguments", {}), **arguments}
    if ctx.faults is not None and ctx.faults.take_glue_failure(job_name):
        # What Glue reports when the script raises: the exception's type and message.
        message = f"RuntimeError: injected failure of {job_name} (mlops-local faults glue-failure)"
        ctx.log.write(message + "\n")
        return JobResult(status="Failed", failure_reason=message, describe_fields={"Id": run_id})
    script = _script(job, ctx)

    local_arguments = dict(merged)
    sources = [uri for uri in merged.get(SOURCE_ARGUMENT, "").split(",") if uri]
    local_sources = []
    for uri in sources:
        local = local_mirror(ctx.workdir, uri)
        files = download_prefix(ctx.s3, uri, local)
        ctx.progress(f"{job_name}: {len(files)} objects from {uri}")
        local_sources.append(str(local))
    if sources:
        local_arguments[SOURCE_ARGUMENT] = ",".join(local_sources)
        local_arguments[S3_MIRROR_ARGUMENT] = str(ctx.workdir / "s3")
    output_uri = merged.get(OUTPUT_ARGUMENT)
    output_dir = None
    if output_uri:
        output_dir = local_mirror(ctx.workdir, output_uri)
        output_dir.mkdir(parents=True, exist_ok=True)
        local_arguments[OUTPUT_ARGUMENT] = str(output_dir)

    command = [sys.executable, str(script), "--JOB_NAME", job_name, "--JOB_RUN_ID", run_id]
    for name, value in local_arguments.items():
        command += [name, value]
    python_path = [*_extra_py_files(merged.get(EXTRA_PY_FILES, ""), ctx), script.parent]
    env = child_environment({"PYSPARK_PYTHON": sys.executable}, python_path=python_path)
    timeout_minutes = job.get("Timeout")
    outcome = run_script(
        command,
        env=env,
        cwd=ctx.workdir,
        on_line=lambda line: ctx.show_output(f"{job_name}: {line}"),
        timeout=float(timeout_minutes) * 60 if timeout_minutes else None,
        log=ctx.log.write,
        warm=True,
        stop=ctx.stop_requested,
    )
    describe: dict[str, Any] = {
        "Id": run_id,
        "ExecutionTime": round(outcome.seconds),
        "Arguments": dict(arguments),
    }
    if ctx.stop_requested.is_set():
        return JobResult(status="Stopped", describe_fields=describe)
    if outcome.timed_out:
        return JobResult(status="Stopped", failure_reason="Job run timed out", describe_fields=describe)
    if outcome.returncode != 0:
        message = _in_s3_terms(outcome.error_message, ctx.workdir / "s3")
        describe["ErrorMessage"] = message
        return JobResult(status="Failed", failure_reason=message, describe_fields=describe)
    if output_dir is not None and output_uri:
        keys = upload_folder(ctx.s3, output_dir, output_uri, skip_suffixes=(".crc",))
        ctx.progress(f"{job_name}: {len(keys)} objects written to {output_uri}")
    return JobResult(status="Completed", describe_fields=describe)


def _in_s3_terms(message: str, mirror: Path) -> str:
    """The script's error with its local copies of S3 prefixes named by their S3 URIs, as on AWS."""
    for local in (f"file:{mirror}/", f"{mirror}/"):
        message = message.replace(local, "s3://")
    return message


def _script(job: Mapping[str, Any], ctx: ExecutionContext) -> Path:
    location = job.get("Command", {}).get("ScriptLocation", "")
    if location.startswith("s3://"):
        return download_object(ctx.s3, location, ctx.workdir / "script" / Path(location).name)
    return ctx.project_root / DEFAULT_SCRIPT


def _extra_py_files(uris: str, ctx: ExecutionContext) -> list[Path]:
    """Download ``--extra-py-files``; return the PYTHONPATH entries (the folder, and each zip)."""
    folder = ctx.workdir / "extra-py-files"
    entries: list[Path] = []
    for uri in (part.strip() for part in uris.split(",")):
        if not uri:
            continue
        path = download_object(ctx.s3, uri, folder / Path(uri).name)
        if path.suffix == ".zip":
            entries.append(path)
    return [folder, *entries] if folder.exists() else entries
