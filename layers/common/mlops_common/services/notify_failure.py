"""A run of either state machine failed, timed out or was stopped: tell the operator what to do.

The machines carry no failure plumbing: a failed task leaves its execution failed *at that task*, so
``RedriveExecution`` resumes there and keeps what succeeded. This service, fed by the executions'
status-change events, reads the history and publishes what failed, why, where its logs are, and
the redrive command (or why a redrive would not help).
"""

from __future__ import annotations

import json
from typing import Any

from mlops_common.aws_events import ExecutionStatusChange
from mlops_common.domain.failure_report import FailureReport, failure_report
from mlops_common.models import FailureNotificationOutcome
from mlops_common.observability import logger
from mlops_common.ports import ExecutionHistories, Notifications

ENDED_UNSUCCESSFULLY = {"FAILED": "failed", "TIMED_OUT": "timed out", "ABORTED": "was stopped"}


def execution_console_url(execution_arn: str, region: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/states/home?region={region}"
        f"#/v2/executions/details/{execution_arn}"
    )


def redrive_advice(report: FailureReport, execution_arn: str) -> dict[str, Any]:
    command = f"aws stepfunctions redrive-execution --execution-arn {execution_arn}"
    if report.redrive_resumes_work:
        return {
            "command": command,
            "resumes_at": report.failed_state,
            "note": f"Fix the cause, then redrive: {report.failed_state} and what follows run again; "
            "the steps that succeeded are kept.",
        }
    return {
        "command": None,
        "resumes_at": report.failed_state,
        "note": f"The run ended at {report.failed_state or 'a state'} "
        f"({report.failed_state_type or 'no task'}); a redrive uses the same input and would end there "
        "again. Fix the cause or the input and start a new run.",
    }


def failure_message(
    event: ExecutionStatusChange, report: FailureReport, *, pipeline: str, region: str
) -> dict[str, Any]:
    detail = event.detail
    work = report.work
    return {
        "outcome": detail.status.lower(),
        "pipeline": pipeline,
        "execution": detail.name,
        "execution_arn": detail.execution_arn,
        "console_url": execution_console_url(detail.execution_arn, region),
        "failed_state": report.failed_state,
        "error": report.error or (work.error if work else None),
        "cause": report.cause or (work.cause if work else None),
        "failed_work": None
        if work is None
        else {
            "state": work.state,
            "service": f"{work.resource_type}:{work.resource}",
            "job": work.job,
            "error": work.error,
            "cause": work.cause,
            "logs": [location.to_json() for location in work.logs],
        },
        "redrive": redrive_advice(report, detail.execution_arn),
        "input": _parsed(detail.input),
    }


def _parsed(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def notify_failure(
    event: ExecutionStatusChange,
    *,
    pipelines: dict[str, str],
    histories: ExecutionHistories,
    notifications: Notifications,
    environment: str,
) -> FailureNotificationOutcome:
    """Publish the failure of an execution of one of ``pipelines`` (state machine ARN -> label)."""
    detail = event.detail
    # arn:<partition>:states:<region>:<account>:execution:...: the links are regional.
    region = detail.execution_arn.split(":")[3]
    pipeline = pipelines.get(detail.state_machine_arn)
    if pipeline is None:
        return FailureNotificationOutcome(
            action="ignored", reason=f"{detail.state_machine_arn} is not one of this stack's pipelines"
        )
    verb = ENDED_UNSUCCESSFULLY.get(detail.status)
    if verb is None:
        return FailureNotificationOutcome(action="ignored", reason=f"{detail.name} is {detail.status}")
    report = failure_report(histories.history(detail.execution_arn), region)
    message = failure_message(event, report, pipeline=pipeline, region=region)
    where = f" at {report.failed_state}" if report.failed_state else ""
    subject = f"[{environment}] {pipeline.capitalize()} pipeline {verb}{where}: {detail.name}"
    notifications.publish(subject, json.dumps(message, indent=2, default=str))
    logger.info("failure notified", execution_name=detail.name, failed_state=report.failed_state)
    return FailureNotificationOutcome(
        action="notified", execution_name=detail.name, failed_state=report.failed_state
    )
