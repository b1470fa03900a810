"""SageMaker processing jobs (evaluation), run locally as a child process.

``ProcessingInputs`` are downloaded to the folder that stands for their ``/opt/ml/processing/...``
``LocalPath`` under the job's workdir; the ``ContainerEntrypoint`` and ``ContainerArguments`` run
with those paths remapped and the runtime's Python in place of the container's; the
``ProcessingOutputConfig.Outputs`` folders are uploaded to their ``S3Uri`` afterwards. A
``sourcedir.tar.gz`` among the inputs (the packaged project code) is unpacked where it lies and put
on ``PYTHONPATH``, as the SageMaker SDK's framework processors do, so ``evaluate.py`` imports the
training modules it was packaged with.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlops_local.executors.base import ExecutionContext, JobResult, run_timed
from mlops_local.executors.s3_transfer import download_prefix, extract_tar, upload_folder
from mlops_local.executors.subprocess_runner import child_environment, run_script

CONTAINER_ROOT = "/opt/ml/processing"
_PYTHON_NAMES = frozenset({"python", "python3", "python3.11"})
CODE_ARCHIVE = "sourcedir.tar.gz"
SEE_JOB_LOGS = "AlgorithmError: See job logs for more information"


class PathMap:
    """Maps container paths under /opt/ml/processing to the job's workdir."""

    def __init__(self, workdir: Path) -> None:
        self.root = workdir / "opt" / "ml" / "processing"

    def local(self, container_path: str) -> Path:
        """The local folder standing for ``container_path``."""
        if not container_path.startswith(CONTAINER_ROOT):
            raise ValueError(f"{container_path!r} is not under {CONTAINER_ROOT}")
        relative = container_path[len(CONTAINER_ROOT) :].strip("/")
        if ".." in Path(relative).parts:
            raise ValueError(f"{container_path!r} escapes {CONTAINER_ROOT}")
        return self.root / relative

    def argument(self, value: str) -> str:
        """An argument with any /opt/ml/processing path in it (``--x=/opt/...`` too) remapped."""
        return value.replace(CONTAINER_ROOT, str(self.root))


def container_command(entrypoint: Sequence[str], arguments: Sequence[str], paths: PathMap) -> list[str]:
    """The command to run locally for a container entrypoint and its arguments."""
    command = [paths.argument(part) for part in [*entrypoint, *arguments]]
    if command and Path(command[0]).name in _PYTHON_NAMES:
        command[0] = sys.executable
    return command


def run_processing_job(request: Mapping[str, Any], ctx: ExecutionContext) -> JobResult:
    """Run one ``CreateProcessingJob`` request; return what DescribeProcessingJob shows."""
    # What the job is billed for: the instances' time from start to end, as the API reports it
    # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeProcessingJob.html).
    return run_timed(
        _run_processing_job, request, ctx, start_field="ProcessingStartTime", end_field="ProcessingEndTime"
    )


def _run_processing_job(request: Mapping[str, Any], ctx: ExecutionContext) -> JobResult:
    job_name = request["ProcessingJobName"]
    paths = PathMap(ctx.workdir)
    python_path: list[Path] = []
    for item in request.get("ProcessingInputs", []):
        s3_input = item.get("S3Input")
        if s3_input is None:
            continue  # dataset definitions (Athena, Redshift) are not used by this project
        local = paths.local(s3_input["LocalPath"])
        files = download_prefix(ctx.s3, s3_input["S3Uri"], local)
        ctx.progress(f"{job_name}: input {item.get('InputName', '')}: {len(files)} objects")
        if (local / CODE_ARCHIVE).is_file():
            extract_tar(local / CODE_ARCHIVE, local)
            python_path.append(local)
    outputs = request.get("ProcessingOutputConfig", {}).get("Outputs", [])
    for item in outputs:
        paths.local(item["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)

    app = request["AppSpecification"]
    command = container_command(app.get("ContainerEntrypoint", []), app.get("ContainerArguments", []), paths)
    if not command:
        return JobResult(status="Failed", failure_reason="ClientError: the job has no ContainerEntrypoint")
    script_dir = Path(command[1]).parent if len(command) > 1 else ctx.workdir
    env = child_environment(
        {str(k): str(v) for k, v in request.get("Environment", {}).items()},
        python_path=[*python_path, script_dir],
    )
    timeout = request.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
    outcome = run_script(
        command,
        env=env,
        cwd=ctx.workdir,
        on_line=lambda line: ctx.show_output(f"{job_name}: {line}"),
        timeout=float(timeout) if timeout else None,
        log=ctx.log.write,
        warm=True,
        stop=ctx.stop_requested,
    )
    if ctx.stop_requested.is_set():
        return JobResult(status="Stopped")  # what the script wrote is left unuploaded
    if outcome.timed_out:
        return JobResult(status="Stopped", describe_fields={"ExitMessage": "MaxRuntimeExceeded"})
    if outcome.returncode != 0:
        # SageMaker's FailureReason for a container that exited non-zero says only where to look;
        # what the container said is its ExitMessage (SageMaker's own test of a failing processing
        # job: https://github.com/aws/sagemaker-spark-container,
        # test/integration/sagemaker/test_sagemaker_spark_errors.py).
        return JobResult(
            status="Failed",
            failure_reason=SEE_JOB_LOGS,
            describe_fields={"ExitMessage": outcome.error_message},
        )
    for item in outputs:
        s3_output = item["S3Output"]
        upload_folder(ctx.s3, paths.local(s3_output["LocalPath"]), s3_output["S3Uri"])
    ctx.progress(f"{job_name}: completed in {outcome.seconds:.1f} s")
    return JobResult(status="Completed")
