"""What failed in an ended execution, where its logs are, and whether a redrive can resume it.

Read from the execution's history (GetExecutionHistory events, oldest first), so it holds for any
state of either state machine without the machines carrying failure plumbing of their own.

- The failed state is the one entered last and never exited (what RedriveExecution resumes).
- The failed work is the last task that failed (a job, a Lambda, an SDK call), which may differ
  from the failed state when a Catch led on to a Fail state (``TrainingFailed`` after ``Tune``).
- Logs: where each service writes them, by job name or run id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

_TASK_FAILURES = {"TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed"}
_LAMBDA_FAILURES = {"LambdaFunctionFailed", "LambdaFunctionTimedOut", "LambdaFunctionStartFailed"}
_EXECUTION_ENDS = {"ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}


@dataclass(frozen=True)
class LogLocation:
    """A CloudWatch Logs group and the stream (or stream prefix) of one job or invocation."""

    group: str
    stream_prefix: str
    region: str

    @property
    def console_url(self) -> str:
        # The console's own encoding of a path inside its URL fragment: "/" -> "$252F", "?" -> "$3F".
        def encode(text: str) -> str:
            return quote(text, safe="").replace("%", "$25")

        base = f"https://{self.region}.console.aws.amazon.com/cloudwatch/home?region={self.region}"
        group = encode(self.group)
        if not self.stream_prefix:
            return f"{base}#logsV2:log-groups/log-group/{group}"
        stream_filter = f"log-events$3FlogStreamNameFilter$3D{encode(self.stream_prefix)}"
        return f"{base}#logsV2:log-groups/log-group/{group}/{stream_filter}"

    def to_json(self) -> dict[str, str]:
        return {"group": self.group, "stream_prefix": self.stream_prefix, "console_url": self.console_url}


@dataclass(frozen=True)
class FailedWork:
    """The task that failed: its state, the integration it called and the job or function it ran."""

    state: str
    resource_type: str  # glue, sagemaker, lambda, aws-sdk:s3...
    resource: str  # startJobRun.sync, createTrainingJob.sync, invoke...
    error: str
    cause: str
    job: str | None = None  # job run id, job name or function name
    logs: tuple[LogLocation, ...] = field(default=())


# Errors a task answers from the execution's input alone (PlanRun's InvalidConfiguration).
_SAME_INPUT_SAME_ERROR = frozenset({"InvalidConfiguration"})


@dataclass(frozen=True)
class FailureReport:
    failed_state: str | None
    failed_state_type: str | None
    error: str | None
    cause: str | None
    work: FailedWork | None

    @property
    def redrive_resumes_work(self) -> bool:
        """A redrive resumes at the failed state: useful only if that state does work (a Task) whose
        answer can change; a redrive keeps the execution's input and definition, so a refused
        configuration is refused again."""
        return self.failed_state_type == "Task" and self.error not in _SAME_INPUT_SAME_ERROR


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return None


def _details(event: dict[str, Any]) -> dict[str, Any]:
    # A HistoryEvent carries at most one member named <kind>EventDetails, the object its type names:
    # https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html
    return next((value for key, value in event.items() if key.endswith("EventDetails")), {})


Located = tuple[str | None, tuple[LogLocation, ...]]

# SageMaker job kinds: the name parameter, the log group, and what follows the name in a stream.
_SAGEMAKER_JOBS = {
    "createTrainingJob": ("TrainingJobName", "/aws/sagemaker/TrainingJobs", "/"),
    # A tuning job's training jobs are named <tuning job>-<index>-<id>.
    "createHyperParameterTuningJob": ("HyperParameterTuningJobName", "/aws/sagemaker/TrainingJobs", "-"),
    "createProcessingJob": ("ProcessingJobName", "/aws/sagemaker/ProcessingJobs", "/"),
    "createTransformJob": ("TransformJobName", "/aws/sagemaker/TransformJobs", "/"),
}
# Continuous logging (--enable-continuous-cloudwatch-log) writes the driver's log to logs-v2.
_GLUE_GROUPS = ("/aws-glue/jobs/logs-v2", "/aws-glue/jobs/error", "/aws-glue/jobs/output")


def _glue_logs(parameters: dict[str, Any], run: dict[str, Any], region: str) -> Located:
    run_id = run.get("Id") or run.get("JobRunId")
    if not run_id:
        return parameters.get("JobName"), ()
    return run_id, tuple(LogLocation(group, run_id, region) for group in _GLUE_GROUPS)


def _sagemaker_logs(resource: str, parameters: dict[str, Any], region: str) -> Located:
    action = resource.removesuffix(".sync")
    if action not in _SAGEMAKER_JOBS:
        return None, ()
    key, group, separator = _SAGEMAKER_JOBS[action]
    name = parameters.get(key)
    return (name, (LogLocation(group, f"{name}{separator}", region),)) if name else (None, ())


def _lambda_logs(parameters: dict[str, Any], region: str) -> Located:
    function = str(parameters.get("FunctionName", ""))
    if not function:
        return None, ()
    # A name, a partial or a full ARN, each with an optional ":<version or alias>":
    # https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#lambda-Invoke-request-FunctionName
    name = function.rpartition(":function:")[2].partition(":")[0]
    return name, (LogLocation(f"/aws/lambda/{name}", "", region),)


def log_locations(
    resource_type: str, resource: str, parameters: dict[str, Any], *, job_run: dict[str, Any], region: str
) -> Located:
    """The job (or function) a task ran and where its logs are; ``job_run``: what the job reported."""
    if resource_type == "glue":
        return _glue_logs(parameters, job_run, region)
    if resource_type == "sagemaker":
        return _sagemaker_logs(resource, parameters, region)
    if resource_type == "lambda":
        return _lambda_logs(parameters, region)
    return None, ()


def failure_report(history: list[dict[str, Any]], region: str) -> FailureReport:
    """The failed state, the failed work and the execution's error, from its history."""
    open_states: dict[str, str] = {}
    entered: list[str] = []
    scheduled: dict[str, Any] = {}
    submitted: Any = None
    current: str | None = None
    work: FailedWork | None = None
    error = cause = None
    for event in history:
        kind: str = event["type"]
        details = _details(event)
        if kind.endswith("StateEntered"):
            current = details.get("name")
            if current:
                open_states[current] = kind.removesuffix("StateEntered")
                entered.append(current)
            scheduled, submitted = {}, None
        elif kind.endswith("StateExited"):
            open_states.pop(details["name"], None)
        elif kind in ("TaskScheduled", "LambdaFunctionScheduled"):
            scheduled = details
        elif kind == "TaskSubmitted":
            submitted = _json(details.get("output"))
        elif kind in _TASK_FAILURES | _LAMBDA_FAILURES and current is not None:
            # A LambdaFunction* event names no integration; its LambdaFunctionScheduled event names
            # the function's ARN as its resource and has no parameters.
            task = scheduled | details
            resource_type = str(task.get("resourceType") or "lambda")
            resource = str(task.get("resource") or "invoke")
            if kind in _LAMBDA_FAILURES:
                parameters = {"FunctionName": scheduled.get("resource", "")}
            else:
                parameters = _json(scheduled.get("parameters")) or {}
            cause_json = _json(details.get("cause"))
            job_run = cause_json if isinstance(cause_json, dict) else {}
            job, logs = log_locations(
                resource_type,
                resource,
                parameters,
                job_run=job_run or (submitted if isinstance(submitted, dict) else {}),
                region=region,
            )
            work = FailedWork(
                state=current,
                resource_type=resource_type,
                resource=resource,
                error=str(details.get("error", "")),
                cause=str(details.get("cause", "")),
                job=job,
                logs=logs,
            )
        elif kind in _EXECUTION_ENDS:
            error, cause = details.get("error"), details.get("cause")
    failed_state, failed_state_type = next(
        ((name, open_states[name]) for name in reversed(entered) if name in open_states), (None, None)
    )
    return FailureReport(
        failed_state=failed_state,
        failed_state_type=failed_state_type,
        error=error,
        cause=cause,
        work=work,
    )
