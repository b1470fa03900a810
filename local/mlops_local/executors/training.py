"""SageMaker training jobs, run locally under the script-mode contract.

The request is ``CreateTrainingJob``'s, as received. The job's code is the ``sourcedir.tar.gz``
named by the ``sagemaker_submit_directory`` hyperparameter (the packaged project code in S3), or the
checkout's ``training/`` folder when the request names none. Channels land in
``<workdir>/input/data/<channel>``; the script sees the ``SM_*`` variables and ``--name value``
arguments a SageMaker framework container gives it; metrics are matched live against the job's own
``MetricDefinitions``; the model folder is tarred to ``<S3OutputPath>/<job>/output/model.tar.gz``.

Managed spot training: checkpoints are synced from ``CheckpointConfig.S3Uri`` before each attempt
and back after it. A spot interruption (a fault) sends SIGTERM once the chosen epoch has been
logged, then starts the script again on a fresh checkpoint folder filled from S3, so the job
resumes exactly as it would on a new spot instance. Time accounting, as DescribeTrainingJob defines
it (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeTrainingJob.html):
``TrainingStartTime`` is when the job starts on its instance (after ``Starting``),
``TrainingTimeInSeconds`` runs from then to ``TrainingEndTime``, and ``BillableTimeInSeconds`` is the
part of it spent on an instance: all of it on demand (SageMaker bills that interval); on spot, less
the time between a reclaim and the next instance (an interrupted attempt is paid for, its unfinished
epoch is lost). On AWS a spot job's billable time is also lower by the spot price, so that
``1 - BillableTimeInSeconds / TrainingTimeInSeconds`` is its saving; there is no spot market here, so
no price discount is invented and the local saving is only the unbilled wait. ``LocalSpotSummary``
reports the interruptions and the seconds spent in interrupted attempts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops_local.executors.base import ExecutionContext, JobResult, JobStatus
from mlops_local.executors.debugger_rules import rule_evaluation_statuses
from mlops_local.executors.faults import FaultPlan
from mlops_local.executors.s3_transfer import (
    download_object,
    download_prefix,
    extract_tar,
    join_s3_uri,
    tar_folder,
    upload_folder,
)
from mlops_local.executors.subprocess_runner import ScriptProcess, child_environment, watch_stop_request

# SageMaker's FailureReason when it cannot get instances (spot or on-demand) for a job: it begins
# with "CapacityError" (https://docs.aws.amazon.com/batch/latest/userguide/sm_job_stuck_in_runnable_capacity.html),
# worded as reported in https://github.com/DIAGNijmegen/rse-grand-challenge/issues/2631.
CAPACITY_ERROR = (
    "CapacityError: Unable to provision requested ML compute capacity. "
    "Please retry using a different ML instance type."
)
DEFAULT_PROGRAM = "train.py"
CONTAINER_CHECKPOINT_DIR = "/opt/ml/checkpoints"
# A per-epoch metric line starts with ``epoch=<n>;`` (docs/contracts.md); ``best_epoch=`` is not one.
EPOCH_PATTERN = re.compile(r"(?<![\w])epoch=(\d+);")

# Called after each epoch line with (epoch, metrics matched on that line); True stops the job
# (early stopping by a tuning job).
EpochHook = Callable[[int, dict[str, float]], bool]


@dataclass
class MetricLog:
    """Metric values matched from stdout with the job's MetricDefinitions."""

    definitions: list[tuple[str, re.Pattern[str]]]
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def from_request(cls, request: Mapping[str, Any]) -> MetricLog:
        """Compile the job's ``AlgorithmSpecification.MetricDefinitions``."""
        definitions = request.get("AlgorithmSpecification", {}).get("MetricDefinitions", [])
        return cls([(item["Name"], re.compile(item["Regex"])) for item in definitions])

    def parse(self, line: str, epoch: int | None) -> dict[str, float]:
        """Record and return every metric ``line`` matches."""
        found: dict[str, float] = {}
        for name, pattern in self.definitions:
            match = pattern.search(line)
            if match is None:
                continue
            try:
                value = float(match.group(1))
            except (IndexError, ValueError):
                continue  # SageMaker ignores a match it cannot read as a number
            found[name] = value
            self.history.setdefault(name, []).append(
                {"Value": value, "Timestamp": datetime.now(UTC), "Epoch": epoch}
            )
        return found

    def final(self) -> dict[str, float]:
        """The last value of each metric, which is what SageMaker reports as final."""
        return {name: points[-1]["Value"] for name, points in self.history.items()}


@dataclass
class TrainingRun:
    """A finished training job: the Describe answer plus what a tuning job needs to know."""

    result: JobResult
    final_metrics: dict[str, float]
    epoch_metrics: list[tuple[int, dict[str, float]]]
    stopped_early: bool = False
    interruptions: int = 0


class _Transitions:
    """SecondaryStatusTransitions as DescribeTrainingJob lists them."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def enter(self, status: str, message: str) -> None:
        now = datetime.now(UTC)
        if self.items:
            self.items[-1]["EndTime"] = now
        self.items.append({"Status": status, "StartTime": now, "StatusMessage": message})

    def close(self) -> None:
        if self.items:
            self.items[-1].setdefault("EndTime", datetime.now(UTC))

    @property
    def current(self) -> str:
        return self.items[-1]["Status"] if self.items else "Starting"


def run_training_job(request: Mapping[str, Any], ctx: ExecutionContext) -> JobResult:
    """Run one ``CreateTrainingJob`` request to its end and return what DescribeTrainingJob shows."""
    return train(request, ctx).result


def train(
    request: Mapping[str, Any],
    ctx: ExecutionContext,
    *,
    epoch_hook: EpochHook | None = None,
    capacity_available: bool = True,
    cpus: set[int] | None = None,
) -> TrainingRun:
    """Run a training job; the keyword arguments are for the tuning executor.

    ``epoch_hook`` sees each epoch's metrics and may stop the job early; ``capacity_available=False``
    fails the job with the capacity error (its tuning job found no spot capacity); ``cpus`` pins the
    script to those cores (its share when trials run side by side).
    """
    job = _TrainingJob(request, ctx, epoch_hook, cpus)
    spot = bool(request.get("EnableManagedSpotTraining", False))
    if spot and (not capacity_available or job.faults.take_spot_capacity_error(job.name)):
        ctx.progress(f"{job.name}: no spot capacity")
        return job.failed(CAPACITY_ERROR)
    job.prepare(interruptible=spot)
    while True:
        ending = job.run_attempt()
        if ending == "interrupted":
            job.restart_after_interruption()
            continue
        if ending == "runtime":
            return job.stopped_at_max_runtime()
        if ending == "failed":
            return job.failed(job.last_error, with_metrics=True)
        return job.finish(ending, spot=spot)


class _TrainingJob:
    """The state of one training job across its attempts (more than one after a spot interruption)."""

    def __init__(
        self,
        request: Mapping[str, Any],
        ctx: ExecutionContext,
        epoch_hook: EpochHook | None,
        cpus: set[int] | None,
    ) -> None:
        self.request = request
        self.ctx = ctx
        self.name: str = request["TrainingJobName"]
        self.faults: FaultPlan = ctx.faults or FaultPlan()
        self.epoch_hook = epoch_hook
        self.cpus = cpus
        self.layout = _JobLayout(ctx.workdir)
        self.transitions = _Transitions()
        self.metrics = MetricLog.from_request(request)
        self.epoch_metrics: list[tuple[int, dict[str, float]]] = []
        self.billable = 0.0
        self.interruptions = 0
        self.interrupted_seconds = 0.0
        self.interrupt_after: int | None = None
        self.max_runtime = float(request.get("StoppingCondition", {}).get("MaxRuntimeInSeconds", 86400))
        self.command: list[str] = []
        self.code_dir = ctx.project_root / "training"
        self.env: dict[str, str] = {}
        self.last_error = ""
        self.transitions.enter("Starting", "Launching requested ML instances")

    def prepare(self, *, interruptible: bool) -> None:
        """Download code and channels and build the script's command line and environment."""
        self.transitions.enter("Downloading", "Downloading input data")
        channels = _download_channels(self.request, self.ctx, self.layout)
        self.code_dir, program = _resolve_code(self.request, self.ctx, self.layout)
        if self.faults.take_training_failure(self.name):
            # The script meets a missing channel and fails with its own error, as it would on AWS.
            first = next(iter(channels), "train")
            channels[first] = self.layout.root / "input" / "data" / f"{first}-missing"
            self.ctx.progress(f"{self.name}: training failure injected (channel {first} withheld)")
        hyperparameters = _user_hyperparameters(self.request.get("HyperParameters", {}))
        self.command = [sys.executable, str(self.code_dir / program), *_command_arguments(hyperparameters)]
        self.env = _script_environment(self.request, self.layout, channels, hyperparameters, self.cpus)
        if interruptible:
            self.interrupt_after = self.faults.take_spot_interruption(self.name)

    def run_attempt(self) -> str:
        """Run the script once; return how it ended: completed, failed, interrupted, early-stop, runtime,
        stop-request."""
        self.transitions.enter("Training", "Training image download completed. Training in progress.")
        _sync_checkpoints_down(self.request, self.ctx, self.layout)
        process = ScriptProcess(
            self.command, env=self.env, cwd=self.code_dir, log=self.ctx.log.write, warm=True
        )
        if self.cpus:
            os.sched_setaffinity(process.pid, self.cpus)
        stop_reasons: list[str] = []
        watchdog = threading.Timer(
            max(1.0, self.max_runtime - self.billable), _stop, (process, stop_reasons, "runtime")
        )
        watchdog.daemon = True
        watchdog.start()
        end_watch = watch_stop_request(
            process, self.ctx.stop_requested, lambda: _stop(process, stop_reasons, "stop-request")
        )
        for line in process.lines():
            self._read_line(line, process, stop_reasons)
        outcome = process.wait()
        end_watch()
        watchdog.cancel()
        self.billable += outcome.seconds
        _sync_checkpoints_up(self.request, self.ctx, self.layout)
        stop_reason = stop_reasons[0] if stop_reasons else None
        if stop_reason == "interruption" and outcome.returncode != 0:
            self.interrupted_seconds += outcome.seconds
            return "interrupted"
        if stop_reason in ("runtime", "early-stop", "stop-request"):
            return stop_reason
        if outcome.returncode != 0:
            self.last_error = _algorithm_error(outcome.returncode, outcome.error_message, self.command)
            return "failed"
        return "completed"

    def _read_line(self, line: str, process: ScriptProcess, stop_reasons: list[str]) -> None:
        match = EPOCH_PATTERN.search(line)
        epoch = int(match.group(1)) if match else None
        found = self.metrics.parse(line, epoch)
        if epoch is None:
            return
        self.epoch_metrics.append((epoch, found))
        self.ctx.show_output(f"{self.name}: {line.strip()}")
        if self.interrupt_after is not None and epoch >= self.interrupt_after:
            _stop(process, stop_reasons, "interruption")
        elif self.epoch_hook is not None and self.epoch_hook(epoch, found):
            _stop(process, stop_reasons, "early-stop")

    def restart_after_interruption(self) -> None:
        """Record the reclaim and start again, as managed spot does on a new instance."""
        self.interruptions += 1
        self.interrupt_after = None  # one reclaim per injected fault
        self.transitions.enter("Interrupted", "Training job interrupted by a spot instance reclaim")
        self.ctx.progress(f"{self.name}: spot instance reclaimed; restarting from the checkpoint")
        self.transitions.enter("Starting", "Launching requested ML instances")
        self.transitions.enter("Downloading", "Downloading input data")

    def finish(self, ending: str, *, spot: bool) -> TrainingRun:
        """Upload the model and report the job as Completed, or Stopped (by early stopping, or by a
        stop request: what the script saved after its SIGTERM is the model, as on SageMaker)."""
        self.transitions.enter("Uploading", "Uploading generated training model")
        artifacts = _upload_outputs(self.request, self.ctx, self.layout)
        stopped_early = ending == "early-stop"
        status: JobStatus = "Stopped" if ending in ("early-stop", "stop-request") else "Completed"
        self.transitions.enter(status, f"Training job {status.lower()}")
        describe = self._describe(status)
        describe["ModelArtifacts"] = {"S3ModelArtifacts": artifacts}
        if self.request.get("DebugRuleConfigurations"):
            describe["DebugRuleEvaluationStatuses"] = rule_evaluation_statuses(
                self.request,
                self.layout.model_dir / "diagnostics.json",
                region=self.ctx.client("sagemaker").meta.region_name,
                account=str(self.request["RoleArn"]).split(":")[4],
                now=describe["TrainingEndTime"],
            )
        if spot:
            describe["LocalSpotSummary"] = {
                "Interruptions": self.interruptions,
                "InterruptedSeconds": round(self.interrupted_seconds, 1),
            }
        self.ctx.progress(f"{self.name}: {status.lower()} in {describe['TrainingTimeInSeconds']} s")
        return self._run(JobResult(status=status, describe_fields=describe), stopped_early=stopped_early)

    def failed(self, reason: str, *, with_metrics: bool = False) -> TrainingRun:
        """Report the job as Failed with SageMaker's FailureReason."""
        self.transitions.enter("Failed", reason.splitlines()[0])
        describe = self._describe("Failed", with_metrics=with_metrics)
        # All of it on one line: the first line of an AlgorithmError names no cause.
        self.ctx.progress(f"{self.name}: failed: {' '.join(reason.split())}")
        return self._run(JobResult(status="Failed", failure_reason=reason, describe_fields=describe))

    def stopped_at_max_runtime(self) -> TrainingRun:
        """Report the job as Stopped because it ran past ``MaxRuntimeInSeconds``."""
        self.transitions.enter("MaxRuntimeExceeded", "Training job stopped: maximum runtime exceeded")
        describe = self._describe("MaxRuntimeExceeded")
        return self._run(JobResult(status="Stopped", describe_fields=describe))

    def _describe(self, secondary: str, *, with_metrics: bool = True) -> dict[str, Any]:
        self.transitions.close()
        items = self.transitions.items
        started, training, billable = _instance_time(items)
        on_demand = not self.request.get("EnableManagedSpotTraining", False)
        describe: dict[str, Any] = {
            "SecondaryStatus": secondary,
            "SecondaryStatusTransitions": items,
            "TrainingStartTime": started,
            "TrainingEndTime": items[-1]["EndTime"],
            "TrainingTimeInSeconds": _whole_seconds(training),
            "BillableTimeInSeconds": _whole_seconds(training if on_demand else billable),
        }
        if with_metrics:
            describe["FinalMetricDataList"] = _final_metric_list(self.metrics)
            describe["LocalMetricHistory"] = self.metrics.history
        return describe

    def _run(self, result: JobResult, *, stopped_early: bool = False) -> TrainingRun:
        return TrainingRun(
            result=result,
            final_metrics=self.metrics.final(),
            epoch_metrics=self.epoch_metrics,
            stopped_early=stopped_early,
            interruptions=self.interruptions,
        )


# Transitions on an instance, and those without one (launching one, a spot instance reclaimed).
_ON_INSTANCE = frozenset({"Downloading", "Training", "Uploading"})
_OFF_INSTANCE = frozenset({"Starting", "Interrupted"})


def _instance_time(items: list[dict[str, Any]]) -> tuple[datetime, float, float]:
    """TrainingStartTime, then the seconds from it to the end, and the part of those on an instance."""
    first_on_instance = next((i for i, item in enumerate(items) if item["Status"] in _ON_INSTANCE), None)
    if first_on_instance is None:  # never got an instance (no capacity): nothing ran, nothing is billed
        return items[-1]["EndTime"], 0.0, 0.0
    started: datetime = items[first_on_instance]["StartTime"]
    training = (items[-1]["EndTime"] - started).total_seconds()
    waiting = sum(
        (item["EndTime"] - item["StartTime"]).total_seconds()
        for item in items[first_on_instance:]
        if item["Status"] in _OFF_INSTANCE
    )
    return started, training, training - waiting


def _whole_seconds(seconds: float) -> int:
    """Seconds as the API reports them: whole, and at least 1 for a job that ran at all."""
    return max(1, round(seconds)) if seconds > 0 else 0


@dataclass(frozen=True)
class _JobLayout:
    """The job's folders under its workdir, standing for ``/opt/ml/...`` in the container."""

    root: Path

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def output_data_dir(self) -> Path:
        return self.root / "output" / "data"

    @property
    def checkpoint_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def code_dir(self) -> Path:
        return self.root / "code"


def _stop(process: ScriptProcess, reasons: list[str], reason: str) -> None:
    if not reasons:
        reasons.append(reason)
        process.terminate()


def _decode_hyperparameter(value: str) -> Any:
    """SageMaker SDKs JSON-encode hyperparameter values; plain strings are taken as they are."""
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value


def _user_hyperparameters(raw: Mapping[str, str]) -> dict[str, str]:
    """The hyperparameters the script sees: ``sagemaker_*`` ones dropped, JSON string quotes removed."""
    user: dict[str, str] = {}
    for name, value in raw.items():
        if name.startswith("sagemaker_"):
            continue
        decoded = _decode_hyperparameter(value)
        user[name] = decoded if isinstance(decoded, str) else str(value)
    return user


def _command_arguments(hyperparameters: Mapping[str, str]) -> list[str]:
    arguments: list[str] = []
    for name, value in hyperparameters.items():
        arguments += [f"--{name}", value]
    return arguments


CONTAINER_INPUT_DATA = "/opt/ml/input/data/"  # where SageMaker mounts input channels


def _resolve_code(request: Mapping[str, Any], ctx: ExecutionContext, layout: _JobLayout) -> tuple[Path, str]:
    """The folder holding the job's code and the program to run in it."""
    raw = request.get("HyperParameters", {})
    program = str(_decode_hyperparameter(raw.get("sagemaker_program", json.dumps(DEFAULT_PROGRAM))))
    submit = raw.get("sagemaker_submit_directory")
    if submit is None:
        return ctx.project_root / "training", program
    source = str(_decode_hyperparameter(submit))
    if source.startswith(CONTAINER_INPUT_DATA):
        # The code came in as an input channel (it must, under network isolation): already downloaded.
        archive = layout.root / "input" / "data" / source.removeprefix(CONTAINER_INPUT_DATA)
    else:
        archive = download_object(ctx.s3, source, layout.root / "sourcedir.tar.gz")
    extract_tar(archive, layout.code_dir)
    return layout.code_dir, program


def _download_channels(
    request: Mapping[str, Any], ctx: ExecutionContext, layout: _JobLayout
) -> dict[str, Path]:
    channels: dict[str, Path] = {}
    for channel in request.get("InputDataConfig", []):
        name = channel["ChannelName"]
        uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
        target = layout.root / "input" / "data" / name
        files = download_prefix(ctx.s3, uri, target)
        ctx.progress(f"{request['TrainingJobName']}: channel {name}: {len(files)} objects from {uri}")
        channels[name] = target
    return channels


def script_mode_environment(
    job_name: str,
    channels: Mapping[str, Path],
    *,
    model_dir: Path,
    output_data_dir: Path,
    checkpoint_dir: Path,
    hyperparameters: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The script-mode variables a SageMaker framework container sets for a training script.

    Always the job name, the model, output and checkpoint folders and one ``SM_CHANNEL_<NAME>`` per
    channel: what ``training/train.py`` needs when run by hand, as its tests and benchmarks do (with
    hyperparameters as arguments). ``hyperparameters`` (as the script receives them) adds what a
    training job's container sets besides: ``SM_HPS`` and the channel and host lists.
    """
    environment = {
        "TRAINING_JOB_NAME": job_name,
        "SM_MODEL_DIR": str(model_dir),
        "SM_OUTPUT_DATA_DIR": str(output_data_dir),
        "SM_CHECKPOINT_DIR": str(checkpoint_dir),
    }
    if hyperparameters is not None:
        environment |= {
            "SM_HPS": json.dumps({name: _decode_hyperparameter(v) for name, v in hyperparameters.items()}),
            "SM_CHANNELS": json.dumps(sorted(channels)),
            "SM_CURRENT_HOST": "algo-1",
            "SM_HOSTS": json.dumps(["algo-1"]),
        }
    return environment | {f"SM_CHANNEL_{name.upper()}": str(path) for name, path in channels.items()}


def _script_environment(
    request: Mapping[str, Any],
    layout: _JobLayout,
    channels: Mapping[str, Path],
    hyperparameters: Mapping[str, str],
    cpus: set[int] | None,
) -> dict[str, str]:
    layout.model_dir.mkdir(parents=True, exist_ok=True)
    layout.output_data_dir.mkdir(parents=True, exist_ok=True)
    layout.checkpoint_dir.mkdir(parents=True, exist_ok=True)
    extra = script_mode_environment(
        request["TrainingJobName"],
        channels,
        model_dir=layout.model_dir,
        output_data_dir=layout.output_data_dir,
        checkpoint_dir=layout.checkpoint_dir,
        hyperparameters=hyperparameters,
    )
    extra |= {str(key): str(value) for key, value in request.get("Environment", {}).items()}
    if cpus:
        # Libraries size their thread pools from these before the affinity is read.
        extra["OMP_NUM_THREADS"] = extra["MKL_NUM_THREADS"] = str(len(cpus))
        extra["SM_NUM_CPUS"] = str(len(cpus))
    return child_environment(extra)


def _checkpoint_uri(request: Mapping[str, Any]) -> str | None:
    return request.get("CheckpointConfig", {}).get("S3Uri")


def _sync_checkpoints_down(request: Mapping[str, Any], ctx: ExecutionContext, layout: _JobLayout) -> None:
    """Fill a fresh checkpoint folder from S3, as a new instance starts with only what S3 holds."""
    shutil.rmtree(layout.checkpoint_dir, ignore_errors=True)
    layout.checkpoint_dir.mkdir(parents=True)
    uri = _checkpoint_uri(request)
    if uri:
        download_prefix(ctx.s3, uri, layout.checkpoint_dir)


def _sync_checkpoints_up(request: Mapping[str, Any], ctx: ExecutionContext, layout: _JobLayout) -> None:
    uri = _checkpoint_uri(request)
    if uri:
        upload_folder(ctx.s3, layout.checkpoint_dir, uri)


def _upload_outputs(request: Mapping[str, Any], ctx: ExecutionContext, layout: _JobLayout) -> str:
    """Upload model.tar.gz (and output.tar.gz when the script wrote output data); return the model URI."""
    output_path = request["OutputDataConfig"]["S3OutputPath"]
    output_uri = join_s3_uri(output_path, request["TrainingJobName"], "output")
    staging = layout.root / "upload"
    staging.mkdir(parents=True, exist_ok=True)
    tar_folder(layout.model_dir, staging / "model.tar.gz")
    if any(layout.output_data_dir.iterdir()):
        tar_folder(layout.output_data_dir, staging / "output.tar.gz")
    upload_folder(ctx.s3, staging, output_uri)
    return join_s3_uri(output_uri, "model.tar.gz")


def _algorithm_error(returncode: int, message: str, command: list[str]) -> str:
    """FailureReason in the form SageMaker's framework containers report a failed user script
    (as reported in https://github.com/huggingface/notebooks/issues/136)."""
    shown = " ".join(Path(part).name if index < 2 else part for index, part in enumerate(command))
    return (
        f"AlgorithmError: ExecuteUserScriptError:\nExitCode {returncode}\n"
        f'ErrorMessage "{message}"\nCommand "{shown}"'
    )


def _final_metric_list(metrics: MetricLog) -> list[dict[str, Any]]:
    final_points = {name: points[-1] for name, points in metrics.history.items()}
    return [
        {"MetricName": name, "Value": point["Value"], "Timestamp": point["Timestamp"]}
        for name, point in final_points.items()
    ]
