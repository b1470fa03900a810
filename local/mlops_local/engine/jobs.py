"""The life of every job the embedded AWS is asked to run, from Create to the Describe that ends it.

When a Glue job run or a SageMaker training / tuning / processing / transform job is created (by
the state machine, a Lambda handler or the CLI), it is recorded as in progress and its executor
runs in a worker thread. The executor's ``JobResult`` is then what Describe returns: status, failure
reason and the API fields the executor filled in. Stop calls mark the job Stopping; it ends Stopped
when its executor returns.

``JobResult`` and ``ExecutionContext`` are the contract with the executors: the executors
(``mlops_local.executors``) implement it, and whoever starts the engine hands them in, so that the
engine never imports the code that runs jobs.

Every job has a folder of its own under ``<run dir>/jobs/`` holding ``job.json`` (what the job is and
how it ended) and ``job.log``: the job's output, as CloudWatch Logs keeps it on AWS (the script's
stdout and stderr, the runtime's own steps, an executor's traceback). ``mlops-local logs`` reads them.

Endpoints follow SageMaker: Creating/Updating, then InService on the new config, or, when the new
model cannot be deployed, InService on the old config (update, auto-rollback) or Failed (create).
An update plays its deployment's traffic steps (``TrafficStep``): the new fleet takes each step's
share of the requests, then bakes while the update's alarms are watched; an alarm in ALARM during
any bake rolls the update back to the old config, as SageMaker's AutoRollbackConfiguration does.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

JobKind = Literal["glue", "training", "tuning", "processing", "transform"]
# The session name each service's jobs act under (it only appears in AccessDenied messages).
_SESSION_NAMES = {
    "glue": "GlueJobRunnerSession",
    "training": "SageMaker",
    "tuning": "SageMaker",
    "processing": "SageMaker",
    "transform": "SageMaker",
}
JobStatus = Literal["Completed", "Failed", "Stopped"]


@dataclass
class JobResult:
    """The end state of one job, in the words of the Describe API."""

    status: JobStatus
    failure_reason: str | None = None
    # Fields merged into the Describe response, named as the API names them
    # (e.g. ``ModelArtifacts``, ``FinalMetricDataList``, ``BestTrainingJob``, ``SecondaryStatus``).
    describe_fields: dict[str, Any] = field(default_factory=dict)


LOG_FILE = "job.log"
JOB_FILE = "job.json"
# A job that prints without end (a runaway loop, Spark at DEBUG) must not fill the disk; 64 MiB is
# hundreds of times what a full local pipeline run writes (Spark's INFO logging included).
MAX_LOG_BYTES = 64 * 1024 * 1024
RUNTIME_PREFIX = "[mlops-local] "  # marks what the runtime wrote, apart from the job's own output


class JobLog:
    """A job's log file: one timestamped line per line of output, safe to write from any thread.

    ``JobLog(None)`` discards everything (a context built outside the runtime, as in unit tests).
    """

    def __init__(self, path: Path | None, *, max_bytes: int = MAX_LOG_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self._written = 0
        self._dropped = 0

    def write(self, line: str) -> None:
        """Append one line of the job's own output."""
        if self.path is None:
            return
        text = f"{datetime.now(UTC):%H:%M:%S.%f}"[:12] + " " + line.rstrip("\n") + "\n"
        with self._lock:
            if self._written + len(text) > self.max_bytes:
                self._dropped += 1
                return
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8", errors="replace", buffering=1)
            self._file.write(text)
            self._written += len(text)

    def note(self, message: str) -> None:
        """Append a line the runtime writes about the job (a step, the end state)."""
        for line in message.splitlines() or [""]:
            self.write(RUNTIME_PREFIX + line)

    def close(self) -> None:
        """Say how much was dropped past the size limit, if anything, and close the file."""
        with self._lock:
            if self._dropped and self._file is not None:
                self._file.write(
                    f"{RUNTIME_PREFIX}log stopped at {self.max_bytes} bytes; "
                    f"{self._dropped} more line(s) were dropped\n"
                )
                self._dropped = 0
            if self._file is not None:
                self._file.close()
                self._file = None


class _ThreadLogHandler(logging.Handler):
    """Sends the log records of one thread to a job's log."""

    def __init__(self, log: JobLog, thread_id: int) -> None:
        super().__init__()
        self.log = log
        self.thread_id = thread_id
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.thread_id

    def emit(self, record: logging.LogRecord) -> None:
        for line in self.format(record).splitlines():
            self.log.write(line)


@contextlib.contextmanager
def thread_logging_to(log: JobLog) -> Iterator[None]:
    """Log records of this thread go to ``log`` too while the block runs.

    An in-process job (transform, monitoring) has no stdout of its own; what its code logs
    (skipped capture records, analyzer errors) is its output, as the container's log is on AWS.
    """
    handler = _ThreadLogHandler(log, threading.get_ident())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


def write_job_file(folder: Path, **fields: Any) -> None:
    """Write (or update) ``job.json``: what the job in ``folder`` is and how it ended, for ``logs``."""
    path = folder / JOB_FILE
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = {}
    current.update({key: value for key, value in fields.items() if value is not None})
    folder.mkdir(parents=True, exist_ok=True)
    # Replaced whole, never rewritten in place: `logs --follow` reads it while the job runs.
    staging = path.with_name(f".{JOB_FILE}.{threading.get_ident()}")
    staging.write_text(json.dumps(current, indent=2, default=str) + "\n", encoding="utf-8")
    staging.replace(path)


@dataclass
class ExecutionContext:
    """Everything an executor may use besides the request itself."""

    s3: Any  # a boto3 S3 client bound to the embedded AWS
    client: Callable[[str], Any]  # any other boto3 client bound to the embedded AWS, by service name
    workdir: Path  # a fresh folder for this job
    project_root: Path  # where glue/, training/ and monitoring/ live
    faults: Any  # mlops_local.executors.faults.FaultPlan: what to break in this job, if anything
    progress: Callable[[str], None] = print  # one-line progress messages for the CLI (and the log)
    # Registers a child training job (tuning trials) so Describe/List calls see it.
    record_training_job: Callable[[dict[str, Any], JobResult], None] | None = None
    # The job's log (its CloudWatch Logs stream on AWS): the script's stdout and stderr go here.
    log: JobLog = field(default_factory=lambda: JobLog(None))
    # The name the API knows the job by (a Glue job run's id), when it is not in the request.
    job_id: str = ""
    # Progress that is a line of the job's own output, already in its log (default: ``progress``).
    echo: Callable[[str], None] | None = None
    # Set when the job is asked to stop (Stop*Job, the runtime stopping): the executor stops its
    # script (SIGTERM first, as SageMaker does) and returns; the job then ends Stopped.
    stop_requested: threading.Event = field(default_factory=threading.Event)

    def show_output(self, line: str) -> None:
        """Show a line the job printed as its progress, without writing it to the log twice."""
        (self.echo or self.progress)(line)


Executor = Callable[..., JobResult]

# The Describe field holding each kind's status, and the API's words for "running".
_STATUS_FIELD = {
    "training": "TrainingJobStatus",
    "tuning": "HyperParameterTuningJobStatus",
    "processing": "ProcessingJobStatus",
    "transform": "TransformJobStatus",
}
_END_TIME_FIELD = {
    "training": "TrainingEndTime",
    "tuning": "HyperParameterTuningEndTime",
    "processing": "ProcessingEndTime",
    "transform": "TransformEndTime",
}
# Placeholders moto puts in Describe responses of jobs that have not produced them.
_MOTO_PLACEHOLDER_FIELDS = {
    "training": ("FinalMetricDataList", "SecondaryStatusTransitions", "ModelArtifacts"),
    "tuning": (
        "BestTrainingJob",
        "OverallBestTrainingJob",
        "TrainingJobStatusCounters",
        "ObjectiveStatusCounters",
    ),
    "processing": (),
    "transform": (),
}
_GLUE_STATE = {
    "InProgress": "RUNNING",
    "Stopping": "STOPPING",
    "Completed": "SUCCEEDED",
    "Failed": "FAILED",
    "Stopped": "STOPPED",
}


@dataclass
class JobRecord:
    """One job as the local runtime tracks it."""

    kind: str
    name: str
    request: dict[str, Any]
    status: str = "InProgress"  # InProgress | Stopping | Completed | Failed | Stopped
    failure_reason: str | None = None
    describe_fields: dict[str, Any] = field(default_factory=dict)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended_at: datetime | None = None
    last_progress: str = ""
    done: threading.Event = field(default_factory=threading.Event)
    stop_requested: threading.Event = field(default_factory=threading.Event)
    workdir: Path | None = None  # the job's folder: job.json, job.log and its working files
    log: JobLog = field(default_factory=lambda: JobLog(None))

    @property
    def finished(self) -> bool:
        return self.done.is_set()

    @property
    def ended(self) -> bool:
        """Whether Describe reports the job ended: its end status is set (ended_at is set first),
        possibly a moment before ``finished``, while its log and job file are written."""
        return self.ended_at is not None and self.status not in ("InProgress", "Stopping")


class JobLifecycle:
    """Runs executors for created jobs and answers what Describe should say about them."""

    def __init__(
        self,
        *,
        client: Callable[[str], Any],
        run_dir: Path,
        project_root: Path,
        faults: Any = None,
        executors: Mapping[str, Executor] | None = None,
        load_executor: Callable[[str], Executor] | None = None,
        on_progress: Callable[[str, str, str], None] | None = None,
        client_as: Callable[[str, str], Callable[[str], Any]] | None = None,
    ) -> None:
        """``executors`` by job kind win over ``load_executor``, which finds the others on first use.

        ``client_as(role ARN, session name)`` gives clients acting as a role: a job reads its input
        and writes its output as the role it was given, as Glue and SageMaker do.
        """
        self._client = client
        self._client_as = client_as
        self._run_dir = run_dir
        self._project_root = project_root
        self.faults = faults
        self._executors = dict(executors or {})
        self._load_executor = load_executor
        self._on_progress = on_progress
        self._jobs: dict[tuple[str, str], JobRecord] = {}
        self._lock = threading.Lock()
        self._sequence = itertools.count(1)

    # -- queries -----------------------------------------------------------------------------

    def get(self, kind: str, name: str) -> JobRecord | None:
        return self._jobs.get((kind, name))

    def records(self, kind: str | None = None) -> list[JobRecord]:
        return [job for (k, _), job in self._jobs.items() if kind is None or k == kind]

    def running(self) -> list[JobRecord]:
        return [job for job in self._jobs.values() if not job.finished]

    def wait_all(self, timeout: float | None = None) -> bool:
        """Wait until every started job has finished; False if ``timeout`` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for job in list(self._jobs.values()):
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not job.done.wait(remaining):
                return False
        return True

    # -- lifecycle ---------------------------------------------------------------------------

    def start(
        self, kind: str, name: str, request: dict[str, Any], *, job: dict[str, Any] | None = None
    ) -> JobRecord:
        """Record the job as in progress and run its executor in a worker thread."""
        record = JobRecord(kind=kind, name=name, request=copy.deepcopy(request))
        with self._lock:
            self._jobs[(kind, name)] = record
            sequence = next(self._sequence)
        workdir = self._run_dir / "jobs" / f"{sequence:03d}-{kind}-{name}"
        workdir.mkdir(parents=True, exist_ok=True)
        record.workdir, record.log = workdir, JobLog(workdir / LOG_FILE)
        write_job_file(
            workdir,
            kind=kind,
            name=name,
            job_name=(job or {}).get("Name"),  # a Glue run is named by its id; its job by this
            status=record.status,
            started_at=record.started_at.isoformat(),
        )
        role_arn = self._job_role(kind, request, job) if self._client_as else ""
        data_client = (
            self._client_as(role_arn, _SESSION_NAMES[kind]) if self._client_as and role_arn else self._client
        )
        context = ExecutionContext(
            s3=data_client("s3"),
            client=self._client,
            workdir=workdir,
            project_root=self._project_root,
            faults=self.faults,
            progress=lambda message: self._progress(record, message),
            record_training_job=self.record_child_training_job,
            log=record.log,
            job_id=name,
            echo=lambda message: self._progress(record, message, logged=False),
            stop_requested=record.stop_requested,
        )
        worker = threading.Thread(
            target=self._run, args=(record, context, job), name=f"{kind}-job-{name}", daemon=True
        )
        worker.start()
        return record

    def _job_role(self, kind: str, request: dict[str, Any], job: dict[str, Any] | None) -> str:
        """The role the service runs the job as (a transform job runs as its model's role)."""
        if kind == "glue":
            return str((job or {}).get("Role", ""))
        if kind == "tuning":
            return str(request.get("TrainingJobDefinition", {}).get("RoleArn", ""))
        if kind == "transform" and request.get("ModelName"):
            model = self._client("sagemaker").describe_model(ModelName=request["ModelName"])
            return str(model.get("ExecutionRoleArn", ""))
        return str(request.get("RoleArn", ""))

    def stop(self, kind: str, name: str) -> bool:
        """Ask a job to stop; it ends Stopped when its executor returns. False if unknown."""
        record = self.get(kind, name)
        if record is None:
            return False
        if not record.finished:
            record.status = "Stopping"
            record.stop_requested.set()
        return True

    def stop_all(self, timeout: float) -> bool:
        """Ask every running job to stop and wait for them; False if one still runs after ``timeout``."""
        for record in self.running():
            self.stop(record.kind, record.name)
        return self.wait_all(timeout=timeout)

    def record_child_training_job(self, request: dict[str, Any], result: JobResult) -> None:
        """A training job an executor ran itself (a tuning trial), recorded so Describe/List see it."""
        name = request["TrainingJobName"]
        backend = _sagemaker_backend()
        if name not in backend.training_jobs:
            self._client("sagemaker").create_training_job(**_without_local_keys(request), **_LOCAL_CHILD_MARK)
        record = self._jobs.get(("training", name)) or JobRecord(kind="training", name=name, request=request)
        self._finish(record, result)
        self._jobs[("training", name)] = record

    def _run(self, record: JobRecord, context: ExecutionContext, job: dict[str, Any] | None) -> None:
        try:
            executor = self._executor(record.kind)
            with thread_logging_to(record.log):
                if record.kind == "glue":
                    arguments = dict(record.request.get("Arguments") or {})
                    result = executor(job or {}, arguments, context)
                else:
                    result = executor(copy.deepcopy(record.request), context)
        except Exception as error:
            record.log.note(traceback.format_exc())
            result = JobResult(status="Failed", failure_reason=f"{type(error).__name__}: {error}")
        self._progress(
            record, f"{result.status}" + (f": {result.failure_reason}" if result.failure_reason else "")
        )
        self._finish(record, result)

    def _executor(self, kind: str) -> Executor:
        executor = self._executors.get(kind)
        if executor is not None:
            return executor
        if self._load_executor is None:
            raise LookupError(f"no executor runs {kind} jobs")
        return self._load_executor(kind)

    def _finish(self, record: JobRecord, result: JobResult) -> None:
        status = result.status
        if record.status == "Stopping" and status == "Completed":
            status = "Stopped"
        record.failure_reason = result.failure_reason
        record.describe_fields = dict(result.describe_fields)
        record.ended_at = datetime.now(UTC)
        record.status = status
        if record.workdir is not None:  # before done: whoever waits for the job finds its files complete
            record.log.close()
            write_job_file(
                record.workdir,
                status=status,
                ended_at=record.ended_at.isoformat(),
                failure_reason=record.failure_reason,
            )
        record.done.set()

    def _progress(self, record: JobRecord, message: str, *, logged: bool = True) -> None:
        record.last_progress = message
        if logged:
            record.log.note(message)
        if self._on_progress is not None:
            self._on_progress(record.kind, record.name, message)

    # -- what Describe says ------------------------------------------------------------------

    def describe(self, kind: str, name: str, response: dict[str, Any]) -> dict[str, Any]:
        """moto's Describe response for a SageMaker job, corrected with what the executor did."""
        record = self.get(kind, name)
        if record is None:
            return response
        described = dict(response)
        for placeholder in _MOTO_PLACEHOLDER_FIELDS[kind]:
            described.pop(placeholder, None)
        # Describe echoes the request (moto rewrites some of it, e.g. MetricDefinitions).
        described.update({k: copy.deepcopy(v) for k, v in record.request.items() if k != "Tags"})
        described[_STATUS_FIELD[kind]] = "Stopping" if record.status == "Stopping" else record.status
        described["LastModifiedTime"] = record.ended_at or datetime.now(UTC)
        if record.ended:
            described[_END_TIME_FIELD[kind]] = record.ended_at
        else:
            described.pop(_END_TIME_FIELD[kind], None)
        if kind == "training":
            described["SecondaryStatus"] = {"InProgress": "Training"}.get(record.status, record.status)
        if record.failure_reason:
            described["FailureReason"] = record.failure_reason
        else:
            described.pop("FailureReason", None)
        described.update(copy.deepcopy(record.describe_fields))
        return described

    def describe_glue_run(self, job_name: str, run: dict[str, Any]) -> dict[str, Any]:
        """moto's GetJobRun ``JobRun`` corrected with the executor's state."""
        record = self.get("glue", run["Id"])
        if record is None:
            return run
        described = dict(run)
        described["JobRunState"] = _GLUE_STATE[record.status]
        described["StartedOn"] = record.started_at
        described["LastModifiedOn"] = record.ended_at or datetime.now(UTC)
        if record.ended:
            described["CompletedOn"] = record.ended_at
            described["ExecutionTime"] = int(
                ((record.ended_at or record.started_at) - record.started_at).total_seconds()
            )
        else:
            described.pop("CompletedOn", None)
            # Not moto's placeholder: what the run consumed, which a cost report multiplies by its
            # DPUs, is known when it ends (https://docs.aws.amazon.com/glue/latest/webapi/API_JobRun.html).
            described["ExecutionTime"] = 0
        if record.failure_reason:
            described["ErrorMessage"] = record.failure_reason
        identity = {"Id": described.get("Id"), "JobName": described.get("JobName")}
        described.update(copy.deepcopy(record.describe_fields))
        described.update(identity)  # the run's own id, whatever the executor reported
        return described


# Tuning trials are created through the API only to appear in List/Describe: this tag tells the
# create hook not to start an executor for them.
LOCAL_CHILD_TAG = "mlops-local:tuning-trial"
_LOCAL_CHILD_MARK = {"Tags": [{"Key": LOCAL_CHILD_TAG, "Value": "true"}]}


def _without_local_keys(request: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in request.items() if k != "Tags"}


def _sagemaker_backend() -> Any:
    from moto.sagemaker.models import sagemaker_backends  # noqa: PLC0415 - moto only inside the runtime

    return sagemaker_backends["123456789012"]["us-east-1"]


def model_container(sagemaker: Any, model_name: str) -> dict[str, Any]:
    """The container a SageMaker model runs, with ``ModelDataUrl`` and ``Image`` resolved.

    A model created from a model package (``PrimaryContainer.ModelPackageName``, as the pipeline
    creates it from the registry) has no ``ModelDataUrl`` of its own: SageMaker takes the package's
    inference specification, and so does the local runtime.
    """
    model = sagemaker.describe_model(ModelName=model_name)
    container = dict(model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0])
    package = container.get("ModelPackageName")
    if package and not container.get("ModelDataUrl"):
        described = sagemaker.describe_model_package(ModelPackageName=package)
        packaged = described["InferenceSpecification"]["Containers"][0]
        container.setdefault("Image", packaged.get("Image"))
        container["ModelDataUrl"] = packaged["ModelDataUrl"]
        container.setdefault("Environment", packaged.get("Environment", {}))
    return container


class DeploymentFailed(Exception):
    """Stand-in when the endpoint host module is absent: the new model could not be deployed."""


class AlarmRollback(Exception):
    """An alarm of the update's AutoRollbackConfiguration fired during a bake."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TrafficStep:
    """One step of an update: the new fleet's share of the requests, then a bake with the alarms armed."""

    share: float  # 0 < share <= 1
    bake_seconds: float


# How often a bake looks at the alarms (CloudWatch evaluates them per period; a local bake is short).
ALARM_POLL_SECONDS = 0.05


@dataclass
class EndpointRecord:
    name: str
    status: str
    config_name: str | None  # the config serving now (None until the first deploy succeeds)
    pending_config: str | None = None
    failure_reason: str | None = None
    url: str | None = None
    done: threading.Event = field(default_factory=threading.Event)
    # The update in progress: its steps and the alarms that roll it back.
    steps: tuple[TrafficStep, ...] = ()
    alarm_names: tuple[str, ...] = ()
    shares: list[float] = field(default_factory=list)  # the shares the last update reached, in order


class EndpointLifecycle:
    """Create/Update of endpoints: deploys through the endpoint host, rolls back like SageMaker."""

    def __init__(self, *, host: Any, client: Callable[[str], Any]) -> None:
        self._host = host
        self._client = client
        self._endpoints: dict[str, EndpointRecord] = {}

    def get(self, name: str) -> EndpointRecord | None:
        return self._endpoints.get(name)

    def records(self) -> list[EndpointRecord]:
        return list(self._endpoints.values())

    def create(self, name: str, config_name: str) -> EndpointRecord:
        record = EndpointRecord(name=name, status="Creating", config_name=None, pending_config=config_name)
        self._endpoints[name] = record
        self._deploy_in_background(record)
        return record

    def update(
        self,
        name: str,
        config_name: str,
        steps: tuple[TrafficStep, ...] = (),
        alarm_names: tuple[str, ...] = (),
    ) -> EndpointRecord:
        """Move the endpoint to ``config_name`` through ``steps`` (none: all at once, no bake)."""
        record = self._endpoints[name]
        record.status = "Updating"
        record.pending_config = config_name
        record.failure_reason = None
        record.steps = steps or (TrafficStep(1.0, 0.0),)
        record.alarm_names = alarm_names
        record.shares = []
        record.done = threading.Event()
        self._deploy_in_background(record)
        return record

    def delete(self, name: str) -> None:
        """DeleteEndpoint: the endpoint stops serving and is forgotten (its configs and models stay)."""
        record = self._endpoints.pop(name, None)
        if record is not None:
            self._host.delete(name)

    def _deploy_in_background(self, record: EndpointRecord) -> None:
        threading.Thread(
            target=self._deploy, args=(record,), name=f"endpoint-{record.name}", daemon=True
        ).start()

    def _deploy(self, record: EndpointRecord) -> None:
        config_name = record.pending_config
        assert config_name is not None
        try:
            variants, capture = self.resolve_config(config_name)
            if record.config_name is None:
                record.url = self._host.deploy(record.name, config_name, variants, capture)
            else:
                self._shift(record, config_name, variants, capture)
            record.config_name = config_name
            record.status = "InService"
        except Exception as error:
            reason = getattr(error, "reason", None) or str(error)
            if record.config_name is not None:
                # SageMaker's auto-rollback: the old config keeps serving and the endpoint stays usable.
                record.status = "InService"
                record.failure_reason = f"Update to {config_name} failed and was rolled back: {reason}"
            else:
                record.status = "Failed"
                record.failure_reason = reason
        finally:
            record.pending_config = None
            record.done.set()

    def _shift(
        self,
        record: EndpointRecord,
        config_name: str,
        variants: list[dict[str, Any]],
        capture: dict[str, Any] | None,
    ) -> None:
        """Stage the new fleet beside the old one, shift its steps, commit it or roll it back."""
        self._host.stage(record.name, config_name, variants, capture)
        try:
            for step in record.steps:
                self._host.shift(record.name, step.share)
                record.shares.append(step.share)
                self._bake(record, step.bake_seconds)
        except BaseException:
            self._host.discard(record.name)
            raise
        self._host.commit(record.name)

    def _bake(self, record: EndpointRecord, seconds: float) -> None:
        """Wait ``seconds`` (at least one look), raising ``AlarmRollback`` when an alarm is in ALARM."""
        deadline = time.monotonic() + seconds
        while True:
            firing = self._alarms_in_alarm(record.alarm_names)
            if firing:
                raise AlarmRollback(
                    f"alarm {', '.join(firing)} went into ALARM while {record.name} was baking "
                    f"at {record.shares[-1]:.0%} of the traffic on the new fleet (auto-rollback)"
                )
            if time.monotonic() >= deadline:
                return
            time.sleep(min(ALARM_POLL_SECONDS, max(deadline - time.monotonic(), 0.0)))

    def _alarms_in_alarm(self, alarm_names: tuple[str, ...]) -> list[str]:
        if not alarm_names:
            return []
        described = self._client("cloudwatch").describe_alarms(AlarmNames=list(alarm_names))
        return sorted(
            alarm["AlarmName"]
            for alarm in described.get("MetricAlarms", [])
            if alarm.get("StateValue") == "ALARM"
        )

    def resolve_config(self, config_name: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The config's production variants, each with its model's container (``ModelDataUrl``...)."""
        sagemaker = self._client("sagemaker")
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        variants = []
        for variant in config["ProductionVariants"]:
            container = model_container(sagemaker, variant["ModelName"])
            model = sagemaker.describe_model(ModelName=variant["ModelName"])
            variants.append(
                {
                    **variant,
                    # SageMaker fetches the model's artefacts with the model's execution role.
                    "ExecutionRoleArn": model.get("ExecutionRoleArn", ""),
                    "ModelDataUrl": container.get("ModelDataUrl"),
                    "Image": container.get("Image"),
                    "Environment": container.get("Environment", {}),
                }
            )
        return variants, config.get("DataCaptureConfig")
