"""``mlops-local`` (or ``python -m mlops_local``): the local runtime from the command line.

``demo`` runs the whole closed loop. ``up`` provisions the template and keeps it serving; while it
runs, ``upload``, ``run``, ``status``, ``history``, ``predict``, ``drift``, ``faults add`` and
``invoke`` talk to it over a small JSON control API on 127.0.0.1 (its address is in
``.local/runtime.json``). ``invoke`` without a running ``up`` starts a runtime just for the call,
like ``sam local invoke`` does with a container. ``logs`` reads the jobs' logs from ``.local/runs``,
with or without ``up``.

A mistake in what was asked (a missing file, an unknown name, no ``up`` running) ends with one line
on stderr saying what is wrong and what to do, and exit status 2; a command that ran and failed
exits with 1. ``--debug`` shows the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import signal
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn

from botocore.exceptions import ClientError

from mlops_local.engine.jobs import JOB_FILE, LOG_FILE
from mlops_local.project import TEMPLATE_NAME, flat_module, local_state_dir, project_root

PROG = "mlops-local"


def _state_file() -> Path:
    """Where ``up`` writes its control API address, for the other commands to find it."""
    return local_state_dir() / "runtime.json"


SHIFTS = ("darker", "blurred", "new-camera")


class UserError(Exception):
    """What was asked cannot be done as asked; the message says what is wrong and what to do."""


class NotRunning(UserError):
    """No ``up`` is serving."""


# --- why a state failed ----------------------------------------------------------------------------

# Fields of the Describe answers a .sync task puts in its cause (Glue GetJobRun, SageMaker Describe*).
_JOB_NAME_FIELDS = (
    "JobName",
    "TrainingJobName",
    "HyperParameterTuningJobName",
    "ProcessingJobName",
    "TransformJobName",
)
_JOB_STATE_FIELDS = (
    "JobRunState",
    "TrainingJobStatus",
    "HyperParameterTuningJobStatus",
    "ProcessingJobStatus",
    "TransformJobStatus",
)
_JOB_MESSAGE_FIELDS = ("ErrorMessage", "FailureReason", "ExitMessage")
_TERMINAL_FAILURES = ("FAILED", "TIMED_OUT", "ABORTED")


@dataclass(frozen=True)
class Failure:
    """Why a state failed, in the words of whatever failed; ``job`` names the job whose log says more."""

    reason: str
    job: str | None = None


def _decode_json(text: str | None) -> Any:
    """``text`` parsed as JSON (a JSON string holding JSON is unwrapped); the text itself if it is not."""
    value: Any = text
    for _ in range(3):
        if not isinstance(value, str):
            break
        try:
            value = json.loads(value)
        except ValueError:
            break
    return value


def describe_failure(cause: str | None) -> Failure:
    """The meaningful part of a failed state's cause, whole.

    A task that runs a job (``.sync``) fails with the job's Describe answer as its cause: the
    ErrorMessage / FailureReason / ExitMessage is the reason. A Lambda task fails with the
    function's error payload: its errorType, errorMessage and the frame that raised. Anything else
    (a Fail state's Cause, a timeout) is shown as it is.
    """
    document = _decode_json(cause)
    if not isinstance(document, dict):
        return Failure((cause or "").strip())
    if "errorMessage" in document or "errorType" in document:
        reason = f"{document.get('errorType') or 'Error'}: {document.get('errorMessage') or ''}".rstrip()
        frames = document.get("stackTrace") or []
        if frames and isinstance(frames[-1], str):
            reason += "\n" + "\n".join(line.strip() for line in frames[-1].strip().splitlines())
        return Failure(reason)
    messages: list[str] = []
    for field_name in _JOB_MESSAGE_FIELDS:
        message = str(document.get(field_name) or "").strip()
        if message and not any(message in known for known in messages):
            messages.append(message)
    if not messages:
        return Failure(json.dumps(document, default=str))
    name = next((str(document[f]) for f in _JOB_NAME_FIELDS if document.get(f)), None)
    state = next((str(document[f]) for f in _JOB_STATE_FIELDS if document.get(f)), None)
    run_id = str(document["Id"]) if document.get("JobRunState") and document.get("Id") else None
    head = " ".join(part for part in (name, f"run {run_id}" if run_id else None, state) if part)
    return Failure((f"{head}: " if head else "") + "\n".join(messages), job=run_id or name)


def failed_visit(visits: Sequence[Any]) -> Any | None:
    """The state that made an execution fail: the last failed state that is not a Fail state.

    A Fail state at the end only says that a step failed (the pipeline's ``PipelineFailed``); the
    step is the last failed Task before it. A failure caught and recovered from earlier (spot
    capacity) is not the last one.
    """
    failed = [visit for visit in visits if visit.error]
    return next((v for v in reversed(failed) if v.type != "Fail"), failed[-1] if failed else None)


# --- the control API, served by ``up`` -------------------------------------------------------------


class Controller:
    """What the control API can ask of a running ``LocalRuntime``."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    def upload(self, directory: str, source: str, objects_per_second: float | None = None) -> dict[str, Any]:
        if not Path(directory).is_dir():
            raise UserError(f"no folder {directory}")
        keys = self.runtime.upload_directory(Path(directory), source, objects_per_second=objects_per_second)
        self.runtime.wait_until_idle(timeout=60)
        return {"uploaded": len(keys), "trigger": self.runtime.trigger_state()}

    def accounting(self) -> dict[str, Any]:
        """Each training run and what its dataset covers (``stats.json``: the upload snapshot)."""
        s3, bucket = self.runtime.client("s3"), self.runtime.provisioned.ref("DataBucket")
        runs = []
        for execution in sorted(self.runtime.executions(), key=lambda e: e["startDate"]):
            try:
                body = s3.get_object(Bucket=bucket, Key=f"datasets/{execution['name']}/stats.json")["Body"]
                stats = json.loads(body.read())
            except s3.exceptions.NoSuchKey:
                stats = {}
            visits = self.runtime.history(execution["executionArn"])
            output = json.loads(
                self.runtime.client("stepfunctions")
                .describe_execution(executionArn=execution["executionArn"])
                .get("output")
                or "{}"
            )
            runs.append(
                {
                    "name": execution["name"],
                    "status": execution["status"],
                    "ended_in": visits[-1].name if visits else None,
                    # Succeeded is not deployed: the run's record says deployed, approved (batch-only),
                    # rejected by the gate, or skipped (another run held the lease).
                    "outcome": output.get("outcome"),
                    "gate_reasons": (output.get("gate") or {}).get("reasons", []),
                    "uploads": stats.get("uploads"),
                    "accounting": stats.get("accounting"),
                    "excluded_labels": stats.get("excluded_labels") or {},
                }
            )
        return {"runs": runs}

    def run(self, trigger: str, state_machine: str, execution_input: dict[str, Any] | None) -> dict[str, Any]:
        payload = execution_input or {
            "trigger": trigger,
            "reason": "started from the command line",
            "requested_at": datetime.now(UTC).isoformat(),
        }
        arn = self.runtime.start_execution(payload, state_machine=state_machine)
        return {"execution_arn": arn}

    def status(self) -> dict[str, Any]:
        executions = []
        sfn = self.runtime.client("stepfunctions")
        for machine in ("TrainingPipelineStateMachine", "BatchInferenceStateMachine"):
            for execution in self.runtime.executions(machine):
                visits = self.runtime.history(execution["executionArn"])
                current = next((v.name for v in reversed(visits) if v.exited is None), None)
                # A run that succeeded says how in its record: deployed, approved, rejected, skipped.
                output = sfn.describe_execution(executionArn=execution["executionArn"]).get("output")
                executions.append(
                    {
                        "name": execution["name"],
                        "state_machine": machine,
                        "status": execution["status"],
                        "outcome": json.loads(output or "{}").get("outcome"),
                        "current_state": current,
                        "started": str(execution["startDate"]),
                    }
                )
        jobs = [f"{job.kind} {job.name}: {job.last_progress}" for job in self.runtime.jobs.running()]
        return {
            "executions": executions,
            "running_jobs": jobs,
            "trigger": self.runtime.trigger_state(),
            "latest_failure": self._latest_failure(),
            # What the dead-letter alarms watch on AWS: work the pipeline gave up on.
            "dead_letter_queues": self.runtime.dead_letter_depths(),
        }

    def redrive(self, execution: str) -> dict[str, Any]:
        """``aws stepfunctions redrive-execution``: resume a failed run at its failed step."""
        arn = self._execution_arn(execution)
        try:
            self.runtime.redrive_execution(arn)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExecutionNotRedrivable":
                raise
            reason = error.response["Error"]["Message"]
            raise UserError(f"{execution} cannot be redriven: {reason}") from error
        return {"execution_arn": arn}

    def history(self, execution: str) -> dict[str, Any]:
        arn = self._execution_arn(execution)
        states = []
        for visit in self.runtime.history(arn):
            failure = describe_failure(visit.cause) if visit.error else None
            states.append(
                {
                    "state": visit.name,
                    "type": visit.type,
                    "entered": visit.entered.isoformat(),
                    "seconds": visit.duration_seconds,
                    "error": visit.error,
                    "cause": visit.cause,
                    "reason": failure.reason if failure else None,
                    "job": failure.job if failure else None,
                }
            )
        return {"execution_arn": arn, "states": states}

    def _latest_failure(self) -> dict[str, Any] | None:
        """The last execution that failed: the state that failed it and why, whole."""
        failed = [
            execution
            for machine in ("TrainingPipelineStateMachine", "BatchInferenceStateMachine")
            for execution in self.runtime.executions(machine)
            if execution["status"] in _TERMINAL_FAILURES
        ]
        if not failed:
            return None
        latest = max(failed, key=lambda e: e.get("stopDate") or e["startDate"])
        visit = failed_visit(self.runtime.history(latest["executionArn"]))
        if visit is not None:
            state, error, cause = visit.name, visit.error, visit.cause
        else:  # stopped from outside: the reason is the execution's own
            described = self.runtime.client("stepfunctions").describe_execution(
                executionArn=latest["executionArn"]
            )
            state, error, cause = None, described.get("error"), described.get("cause")
        failure = describe_failure(cause)
        return {
            "execution": latest["name"],
            "status": latest["status"],
            "state": state,
            "error": error,
            "reason": failure.reason,
            "logs": f"{PROG} logs {failure.job}" if failure.job else None,
        }

    def predict(self, path: str, content_type: str) -> dict[str, Any]:
        if not Path(path).is_file():
            raise UserError(f"no file {path}")
        endpoint = self._endpoint_name()
        response = self.runtime.endpoint_host.invoke(endpoint, Path(path).read_bytes(), content_type)
        body: Any = response.body
        try:
            body = json.loads(body)
        except ValueError:  # an error page or a refusal in plain text
            body = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else str(body)
        return {"endpoint": endpoint, "status": response.status, "body": body}

    def drift(self, shift: str, count: int, seed: int) -> dict[str, Any]:
        from mlops_local.scenarios import generate_photos, send_and_monitor  # noqa: PLC0415

        traffic_shift = flat_module("traffic_shift", self.runtime.project_root)
        transforms: dict[str, Callable[..., Any]] = {
            "darker": traffic_shift.darker,
            "blurred": traffic_shift.blurred,
            "new-camera": traffic_shift.new_camera,
        }
        transform = transforms[shift]
        endpoint, schedule = self._endpoint_name(), self._schedule_name()
        folder = self.runtime.run_dir / "drift" / f"{shift}-{int(time.time())}"
        photos = generate_photos(folder, count, seed=seed)
        run = send_and_monitor(self.runtime, endpoint, schedule, photos, shift=transform)
        self.runtime.wait_until_idle(timeout=30)
        return {
            "sent": run.traffic.sent,
            "monitoring": run.monitoring.exit_message,
            "distances": run.monitoring.distances,
            "executions": self.status()["executions"],
        }

    def add_faults(self, specs: list[str]) -> dict[str, Any]:
        from mlops_local.executors.faults import parse_fault_spec  # noqa: PLC0415

        rules = [parse_fault_spec(spec) for spec in specs]  # all or none: one bad spec adds nothing
        for rule in rules:
            self.runtime.faults.add(rule)
        return {"pending": [str(rule) for rule in self.runtime.faults.pending()]}

    def invoke(self, function: str, event: Any) -> dict[str, Any]:
        return invoke_function(self.runtime, function, event)

    def _execution_arn(self, execution: str) -> str:
        names = []
        for machine in ("TrainingPipelineStateMachine", "BatchInferenceStateMachine"):
            for item in self.runtime.executions(machine):
                if execution in (item["name"], item["executionArn"]):
                    return str(item["executionArn"])
                names.append(item["name"])
        raise UserError(
            f"no execution named {execution}{_did_you_mean(execution, names)}; `{PROG} status` lists them"
        )

    def _endpoint_name(self) -> str:
        names = self.runtime.endpoint_host.endpoint_names()
        if not names:
            raise UserError("no endpoint is serving yet: a training run that passes the gate deploys one")
        return str(names[0])

    def _schedule_name(self) -> str:
        schedules = self.runtime.client("sagemaker").list_monitoring_schedules()[
            "MonitoringScheduleSummaries"
        ]
        if not schedules:
            raise UserError("no monitoring schedule yet: a successful pipeline run creates it")
        return str(schedules[0]["MonitoringScheduleName"])


def invoke_function(runtime: Any, function: str, event: Any) -> dict[str, Any]:
    """Invoke one of the runtime's functions; an unknown name is the caller's mistake."""
    from mlops_local.engine.lambdas import FunctionNotFound  # noqa: PLC0415

    try:
        outcome = runtime.invoke(function, event)
    except FunctionNotFound as error:
        known = sorted(f.logical_id for f in runtime.provisioned.functions)
        raise UserError(_unknown_function(function, known)) from error
    return {"payload": outcome.payload, "function_error": outcome.function_error}


def _unknown_function(name: str, known: Iterable[str]) -> str:
    known = sorted(known)
    return (
        f"no function {name} in {TEMPLATE_NAME}{_did_you_mean(name, known)}; "
        f"give a function's logical id: {', '.join(known)}"
    )


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def serve(controller: Controller) -> ThreadingHTTPServer:
    """Serve the controller's methods as ``POST /<method>`` with JSON arguments, on 127.0.0.1."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet: the CLI prints what matters
            return

        def do_POST(self) -> None:
            method = self.path.strip("/").replace("-", "_")
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)) or 0)
            try:
                if method.startswith("_") or not callable(getattr(controller, method, None)):
                    raise UserError(f"the running up has no command {method}: restart it with this version")
                result = getattr(controller, method)(**json.loads(body or b"{}"))
                status, payload = 200, result
            except (UserError, ValueError) as error:  # FaultSpecError is a ValueError
                status, payload = 400, {"error": str(error)}
            except Exception as error:
                status, payload = 500, {"error": f"{type(error).__name__}: {error}"}
            data = json.dumps(payload, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, name="control-api", daemon=True).start()
    return server


def _control_url() -> str:
    """The running ``up``'s control API address, from the file it wrote."""
    start = f"start one with `{PROG} up` in another terminal"
    try:
        state = json.loads(_state_file().read_text(encoding="utf-8"))
        return str(state["control_url"])
    except FileNotFoundError:
        raise NotRunning(f"no local runtime is up: {start}") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise NotRunning(f"{_state_file()} is unreadable (an `up` that crashed?): {start}") from None


def call(method: str, *, timeout: float = 3600, **arguments: Any) -> dict[str, Any]:
    """Call a method of the running ``up`` over the control API."""
    url = _control_url() + "/" + method
    request = urllib.request.Request(  # noqa: S310 - a loopback URL this program wrote
        url, data=json.dumps(arguments).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as error:
        try:
            message = str(json.loads(error.read()).get("error") or error)
        except ValueError:
            message = str(error)
        raise (UserError if error.code == 400 else RuntimeError)(message) from error
    except (urllib.error.URLError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise NotRunning(
            f"the local runtime at {url} does not answer ({reason}); start `{PROG} up` again"
        ) from error


# --- what the user typed ---------------------------------------------------------------------------


def positive_int(text: str) -> int:
    """A whole number above zero."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not above zero")
    return value


def positive_float(text: str) -> float:
    """A number above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a number above zero")
    return value


def json_object(text: str) -> dict[str, Any]:
    """A JSON object given on the command line."""
    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f'not JSON ({error}): quote it, e.g. \'{{"trigger": "manual"}}\''
        ) from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{text} is JSON but not an object {{...}}")
    return value


def event_file(path: str) -> Any:
    """The JSON document in the file at ``path`` (an event for ``invoke``)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise argparse.ArgumentTypeError(f"no file {path}: give the path of an event JSON file") from None
    except IsADirectoryError:
        raise argparse.ArgumentTypeError(f"{path} is a folder: give the path of an event JSON file") from None
    except UnicodeDecodeError:
        raise argparse.ArgumentTypeError(f"{path} is not UTF-8 text: an event is a JSON file") from None
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        return json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{path} is not valid JSON: {error}") from None


def existing_file(path: str) -> Path:
    """A file that exists, as an absolute path (the running ``up`` may have another working folder)."""
    file = Path(path)
    if not file.is_file():
        raise argparse.ArgumentTypeError(
            f"{path} is a folder, not a file" if file.is_dir() else f"no file {path}"
        )
    return file.resolve()


def label_folder(path: str) -> Path:
    """A folder laid out as ``<label>/<file>``, as an absolute path."""
    folder = Path(path)
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(
            f"{path} is a file, not a folder" if folder.exists() else f"no folder {path}"
        )
    files = [p for p in folder.rglob("*") if p.is_file()]
    if not files:
        raise argparse.ArgumentTypeError(f"{path} holds no files: put images in {path}/<label>/<file>")
    unlabelled = [p for p in files if p.parent == folder]
    if unlabelled:
        raise argparse.ArgumentTypeError(
            f"{unlabelled[0]} is not in a label folder: the folder name is the label, "
            f"so lay the images out as {path}/<label>/<file>"
        )
    return folder.resolve()


def source_name(text: str) -> str:
    """One S3 key segment naming the camera line or site: ``incoming/<source>/...``."""
    if not text or "/" in text or text in (".", "..") or not text.isprintable():
        raise argparse.ArgumentTypeError(f"{text!r} is not a source name: one word such as line-a, no '/'")
    return text


def fault_spec(text: str) -> str:
    """A fault description ``parse_fault_spec`` understands, kept as given."""
    from mlops_local.executors.faults import FaultSpecError, parse_fault_spec  # noqa: PLC0415

    try:
        parse_fault_spec(text)
    except FaultSpecError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _check_config_env(config_env: str | None) -> None:
    """Fail before anything starts when ``--config-env`` names no samconfig.toml environment."""
    if config_env is None:
        return
    from mlops_local.engine.template import TemplateError, samconfig_parameter_overrides  # noqa: PLC0415

    samconfig = project_root() / "samconfig.toml"
    try:
        samconfig_parameter_overrides(samconfig, config_env)
    except FileNotFoundError:
        raise UserError(f"--config-env {config_env}: there is no {samconfig}") from None
    except (TemplateError, OSError) as error:
        raise UserError(f"--config-env {config_env}: {error}") from None


def _function_logical_ids() -> list[str]:
    """The logical ids of the template's functions, read without provisioning anything."""
    from mlops_local.engine.template import read_template  # noqa: PLC0415

    resources = read_template(project_root() / TEMPLATE_NAME).get("Resources") or {}
    return sorted(
        name
        for name, resource in resources.items()
        if isinstance(resource, dict)
        and resource.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function")
    )


# --- job logs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobEntry:
    """A job folder of a local run: what ``job.json`` says about it, and where its log is."""

    folder: Path
    run: str
    kind: str
    name: str
    status: str
    started_at: str
    job_name: str | None = None  # the Glue job of a run named by its id
    parent: str | None = None  # the tuning job of a trial

    @property
    def log(self) -> Path:
        return self.folder / LOG_FILE

    def matches(self, name: str) -> bool:
        return name in (self.name, self.job_name, self.folder.name)

    def describe(self) -> str:
        what = self.name + (f" ({self.job_name})" if self.job_name else "")
        what += f" (trial of {self.parent})" if self.parent else ""
        return f"{self.started_at[:19]}  {self.run}  {self.kind:<10} {self.status:<10} {what}"


def job_entries(runs_dir: Path) -> list[JobEntry]:
    """Every job of every local run under ``runs_dir`` (tuning trials included), oldest first."""
    entries = []
    # `latest` is a link to a run folder: its jobs are listed once, under the run's own name.
    job_files = [
        (run.name, path)
        for run in runs_dir.glob("*")
        if run.is_dir() and not run.is_symlink()
        for pattern in (f"jobs/*/{JOB_FILE}", f"jobs/*/*/{JOB_FILE}")  # jobs, then tuning trials
        for path in run.glob(pattern)
    ]
    for run, path in job_files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries.append(
                JobEntry(
                    folder=path.parent,
                    run=run,
                    kind=str(data["kind"]),
                    name=str(data["name"]),
                    status=str(data.get("status", "?")),
                    started_at=str(data.get("started_at", "")),
                    job_name=data.get("job_name"),
                    parent=data.get("parent"),
                )
            )
        except (OSError, ValueError, KeyError):
            continue  # a folder being written, or not a job's
    return sorted(entries, key=lambda entry: (entry.started_at, entry.name))


def find_job(entries: Sequence[JobEntry], name: str) -> tuple[JobEntry, int]:
    """The latest job called ``name`` (job name, Glue run id or folder), and how many older ones share it."""
    matching = [entry for entry in entries if entry.matches(name)]
    if not matching:
        names = {n for entry in entries for n in (entry.name, entry.job_name) if n}
        raise UserError(
            f"no job named {name} has a log under {_runs_dir()}{_did_you_mean(name, names)}; "
            f"`{PROG} logs` lists the jobs that have one"
        )
    return matching[-1], len(matching) - 1


def _runs_dir() -> Path:
    return local_state_dir() / "runs"


def _job_finished(entry: JobEntry) -> bool:
    try:
        status = json.loads((entry.folder / JOB_FILE).read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError):
        return False
    return status not in ("InProgress", "Stopping")


def follow_log(
    entry: JobEntry, *, poll_seconds: float = 0.5, out: Callable[[str], None] | None = None
) -> None:
    """Print the job's log as it grows, until the job has ended and everything is printed."""
    write = out or (lambda text: print(text, end="", flush=True))
    offset = 0
    while True:
        finished = _job_finished(entry)  # read before the log, so the last lines are not missed
        if entry.log.exists():
            with entry.log.open(encoding="utf-8", errors="replace") as handle:
                handle.seek(offset)
                text = handle.read()
                offset = handle.tell()
            if text:
                write(text)
        if finished:
            return
        time.sleep(poll_seconds)


def cmd_logs(args: argparse.Namespace) -> int:
    entries = job_entries(_runs_dir())
    if args.job is None:
        if not entries:
            print(f"no job has run yet: the logs of local jobs land under {_runs_dir()}", file=sys.stderr)
            return 0
        for entry in entries:
            print(entry.describe())
        return 0
    entry, older = find_job(entries, args.job)
    if older:
        print(
            f"{args.job}: {older} earlier job(s) of that name; this is the latest, of run {entry.run} "
            f"({entry.folder})",
            file=sys.stderr,
        )
    if args.follow:
        follow_log(entry)
        return 0
    if not entry.log.exists():
        print(f"{entry.name} has written nothing to its log yet ({entry.log})", file=sys.stderr)
        return 0
    with entry.log.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            sys.stdout.write(line)
    return 0


# --- commands --------------------------------------------------------------------------------------


def _runtime(args: argparse.Namespace) -> Any:
    from mlops_local.executors.faults import FaultPlan  # noqa: PLC0415
    from mlops_local.runtime import LocalRuntime  # noqa: PLC0415

    _check_config_env(args.config_env)
    return LocalRuntime(
        config_env=args.config_env,
        faults=FaultPlan.from_specs(args.fault or []),
        on_progress=(lambda message: print(f"  {message}", flush=True)) if args.verbose else None,
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from mlops_local.demo import run_demo  # noqa: PLC0415

    return run_demo(images_per_class=args.images_per_class, seed=args.seed)


def _answering_up() -> str | None:
    """The control address of an ``up`` that answers, if one does."""
    try:
        call("status", timeout=5)
    except (NotRunning, UserError, RuntimeError, OSError):
        return None
    return _control_url()


def cmd_up(args: argparse.Namespace) -> int:
    running = _answering_up()
    if running is not None:
        raise UserError(f"a local runtime is already up at {running}: use it, or stop it (Ctrl-C) first")
    runtime = _runtime(args)
    runtime.start()
    server = serve(Controller(runtime))
    # `up &` (as the README starts it) is stopped with `kill` (SIGTERM), and a script's background
    # job ignores SIGINT: either signal stops it as Ctrl-C does, so that its endpoints and state
    # file go with it instead of outliving it.
    previous = {number: signal.signal(number, _stop_up) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        _state_file().parent.mkdir(parents=True, exist_ok=True)
        control_url = f"http://127.0.0.1:{server.server_address[1]}"
        _state_file().write_text(json.dumps({"control_url": control_url, "run_dir": str(runtime.run_dir)}))
        print(json.dumps({"control_url": control_url, "outputs": runtime.outputs()}, indent=2, default=str))
        print("local runtime is up; Ctrl-C stops it", flush=True)
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        print("stopping", flush=True)
    finally:
        server.shutdown()
        _state_file().unlink(missing_ok=True)
        runtime.stop()
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 0


def _stop_up(signum: int, frame: Any) -> NoReturn:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def cmd_run(args: argparse.Namespace) -> int:
    machine = {"training": "TrainingPipelineStateMachine", "batch": "BatchInferenceStateMachine"}[
        args.pipeline
    ]
    started = call("run", trigger=args.trigger, state_machine=machine, execution_input=args.input)
    print(started["execution_arn"])
    if not args.wait:
        return 0
    name = started["execution_arn"].rsplit(":", 1)[-1]
    while True:
        mine = next((e for e in call("status")["executions"] if e["name"] == name), None)
        if mine is not None:
            print(f"  {mine['status']:<9} {mine['current_state'] or ''}", flush=True)
            if mine["status"] != "RUNNING":
                if mine["status"] != "SUCCEEDED":
                    print(f"  `{PROG} history {name}` shows why", flush=True)
                return 0 if mine["status"] == "SUCCEEDED" else 1
        time.sleep(2)


def cmd_upload(args: argparse.Namespace) -> int:
    result = call(
        "upload",
        directory=str(args.directory),
        source=args.source,
        objects_per_second=args.objects_per_second,
    )
    print(f"uploaded {result['uploaded']} object(s) to incoming/{args.source}/")
    if not args.wait:
        _print(result["trigger"])
        return 0
    return follow_training()


# The states before a run claims the uploads (its BeginRun loop): uploads pending then are its own.
_BEFORE_THE_CLAIM = {"BeginRun", "RunDecision", "WaitForUploadsToSettle"}


def _still_claiming(holder: str, running: list[dict[str, Any]]) -> bool:
    return any(e["name"] == holder and e["current_state"] in _BEFORE_THE_CLAIM for e in running)


def trigger_line(trigger: dict[str, Any], running: list[dict[str, Any]]) -> str:
    """One line of what the trigger waits for and what runs, for ``upload --wait``."""
    parts = []
    if trigger["pending_uploads"]:
        pending = f"{trigger['pending_uploads']} upload(s) pending"
        claimable = datetime.fromisoformat(trigger["claimable_at"])
        if claimable > datetime.now(UTC):
            parts.append(f"{pending}, quiet period ends {claimable:%H:%M:%S} UTC")
        elif trigger["lease"] and _still_claiming(trigger["lease"]["holder"], running):
            parts.append(f"{pending}, settled: {trigger['lease']['holder']} claims them next")
        elif trigger["lease"]:
            parts.append(f"{pending} for the follow-up run")
        else:
            parts.append(f"{pending}, settled")
    if trigger["lease"]:
        parts.append(f"run lease: {trigger['lease']['holder']}")
    parts += [f"{e['name']}: {e['current_state'] or e['status']}" for e in running]
    if trigger["queued_retraining"]:
        parts.append(f"queued {trigger['queued_retraining']['trigger']} retraining")
    return "  " + ("; ".join(parts) or "idle")


def follow_training(poll_seconds: float = 1.0) -> int:
    """Print the trigger's state as it changes until every upload is trained on; then the runs."""
    last = ""
    while True:
        status = call("status")
        trigger = status["trigger"]
        running = [
            e
            for e in status["executions"]
            if e["state_machine"] == "TrainingPipelineStateMachine" and e["status"] == "RUNNING"
        ]
        line = trigger_line(trigger, running)
        if line != last:
            print(line, flush=True)
            last = line
        if not trigger["pending_uploads"] and trigger["lease"] is None and not running:
            break
        time.sleep(poll_seconds)
    return print_runs(call("accounting")["runs"])


def print_runs(runs: Sequence[dict[str, Any]]) -> int:
    """Each run: how it ended, what it claimed, why the gate said no; 0 when the last one's model
    went live or was approved for batch inference."""
    for run in runs:
        uploads = run["uploads"] or {}
        excluded = ", ".join(f"{label} ({why['reason']})" for label, why in run["excluded_labels"].items())
        ended = f"{run['outcome']}" if run["outcome"] else f"at {run['ended_in']}"
        print(
            f"{run['name']}: {run['status']} ({ended}), {uploads.get('new', '?')} new upload(s)"
            f" ({uploads.get('previously_covered', 0)} from earlier runs)"
            + (f"; excluded labels: {excluded}" if excluded else "")
        )
        for reason in run["gate_reasons"]:
            print(f"  gate: {reason}")
    return 0 if runs and runs[-1]["outcome"] in ("deployed", "approved") else 1


def history_lines(states: Sequence[dict[str, Any]]) -> list[str]:
    """``history``'s lines: one per state, then the whole reason of a failed one, indented."""
    lines = []
    for state in states:
        seconds = "" if state["seconds"] is None else f"{state['seconds']:7.2f}s"
        error = f"  {state['error']}" if state["error"] else ""
        lines.append(f"{state['entered'][11:19]}  {state['type']:<8} {state['state']:<32} {seconds}{error}")
        if state["error"]:
            reason = state.get("reason") or state.get("cause") or ""
            lines += [f"          {line}" for line in reason.splitlines()]
            if state.get("job"):
                lines.append(f"          log: {PROG} logs {state['job']}")
    return lines


def cmd_redrive(args: argparse.Namespace) -> int:
    redriven = call("redrive", execution=args.execution)
    print(f"redriven: {redriven['execution_arn']} (`{PROG} history {args.execution}` follows it)")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    for line in history_lines(call("history", execution=args.execution)["states"]):
        print(line)
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    event = args.event if args.event is not None else {}
    try:
        result = call("invoke", function=args.function, event=event)
    except NotRunning:
        known = _function_logical_ids()
        if args.function not in known:  # before spending seconds on provisioning
            raise UserError(_unknown_function(args.function, known)) from None
        runtime = _runtime(args)
        runtime.start()
        try:
            result = invoke_function(runtime, args.function, event)
        finally:
            runtime.stop()
    print(json.dumps(result["payload"], indent=2, default=str))
    return 1 if result["function_error"] else 0


def cmd_faults(args: argparse.Namespace) -> int:
    from mlops_local.executors.faults import FAULT_DESCRIPTIONS  # noqa: PLC0415

    if args.add:
        print(json.dumps(call("add_faults", specs=args.add), indent=2))
        return 0
    for kind, description in FAULT_DESCRIPTIONS.items():
        print(f"{kind:<26} {description}")
    return 0


def _print(result: dict[str, Any]) -> int:
    print(json.dumps(result, indent=2, default=str))
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake said in one line (argparse prints the usage block first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (`{self.prog} --help` shows how)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--config-env", help="a samconfig.toml environment whose parameter_overrides apply")
    parser.add_argument(
        "--fault", action="append", type=fault_spec, help="inject a fault (see `faults`); repeatable"
    )
    parser.add_argument("--verbose", action="store_true", help="print every job progress line")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run the whole closed loop and write the report")
    demo.add_argument("--images-per-class", type=positive_int, default=200)
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(handler=cmd_demo)
    commands.add_parser("up", help="provision the template and keep it serving").set_defaults(handler=cmd_up)

    upload = commands.add_parser("upload", help="upload DIR/<label>/<file> to incoming/<source>/")
    upload.add_argument("directory", type=label_folder)
    upload.add_argument("--source", type=source_name, default="line-a")
    upload.add_argument(
        "--objects-per-second", type=positive_float, help="pace the upload, as a camera line would"
    )
    upload.add_argument(
        "--wait", action="store_true", help="follow the trigger and the training run(s) until they end"
    )
    upload.set_defaults(handler=cmd_upload)
    run = commands.add_parser("run", help="start an execution")
    run.add_argument("--pipeline", choices=("training", "batch"), default="training")
    run.add_argument("--trigger", choices=("manual", "schedule", "drift", "upload"), default="manual")
    run.add_argument(
        "--input", type=json_object, help="the execution input as JSON (default: a manual trigger)"
    )
    run.add_argument("--wait", action="store_true", help="follow the execution until it ends")
    run.set_defaults(handler=cmd_run)
    commands.add_parser(
        "status", help="executions, running jobs, the latest failure and the dead-letter queues' depths"
    ).set_defaults(handler=lambda a: _print(call("status")))
    redrive = commands.add_parser(
        "redrive", help="resume a failed execution at its failed step (aws stepfunctions redrive-execution)"
    )
    redrive.add_argument("execution", help="execution name or ARN")
    redrive.set_defaults(handler=cmd_redrive)
    history = commands.add_parser("history", help="an execution state by state, with why a state failed")
    history.add_argument("execution", help="execution name or ARN")
    history.set_defaults(handler=cmd_history)
    predict = commands.add_parser("predict", help="send an image to the endpoint")
    predict.add_argument("file", type=existing_file)
    predict.add_argument("--content-type", default="image/png")
    predict.set_defaults(
        handler=lambda a: _print(call("predict", path=str(a.file), content_type=a.content_type))
    )
    drift = commands.add_parser("drift", help="send shifted traffic, then run the monitoring schedule once")
    drift.add_argument("--shift", choices=SHIFTS, default="darker")
    drift.add_argument("--count", type=positive_int, default=80)
    drift.add_argument("--seed", type=int, default=11)
    drift.set_defaults(handler=lambda a: _print(call("drift", shift=a.shift, count=a.count, seed=a.seed)))
    faults = commands.add_parser("faults", help="list the injectable faults, or --add them to a running up")
    faults.add_argument("--add", nargs="+", metavar="SPEC", type=fault_spec)
    faults.set_defaults(handler=cmd_faults)
    invoke = commands.add_parser("invoke", help="invoke a function by logical id, like sam local invoke")
    invoke.add_argument("function", help="logical id in template.yaml, e.g. StartPipelineFunction")
    invoke.add_argument("-e", "--event", type=event_file, help="path to the event JSON")
    invoke.set_defaults(handler=cmd_invoke)
    logs = commands.add_parser(
        "logs", help="a job's log (its stdout and stderr); without JOB, the jobs with one"
    )
    logs.add_argument("job", nargs="?", help="job name or Glue run id (the latest job of that name)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing until the job ends")
    logs.set_defaults(handler=cmd_logs)
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(arguments)
    except SystemExit as done:  # --help, or a usage mistake already said in one line
        return done.code if isinstance(done.code, int) else 2
    try:
        code: int = args.handler(args)
    except UserError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`logs JOB | head`); Python's own advice: point stdout at devnull so
        # the flush at exit does not fail again (https://docs.python.org/3/library/signal.html#note-on-sigpipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:
        return _unexpected(error, debug=args.debug)
    return code


def _unexpected(error: Exception, *, debug: bool) -> int:
    """A project file that cannot be used is the user's to fix; anything else is a fault here."""
    from mlops_local.engine.template import TemplateError  # noqa: PLC0415
    from mlops_local.project import ProjectNotFoundError  # noqa: PLC0415

    if isinstance(error, (TemplateError, ProjectNotFoundError)):
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    if debug:
        traceback.print_exception(error)
    else:
        print(f"{PROG}: error: {type(error).__name__}: {error} (`--debug` shows where)", file=sys.stderr)
    return 1
