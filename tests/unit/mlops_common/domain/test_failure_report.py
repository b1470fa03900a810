"""The failure report read from an execution's history: failed state, failed work, log links."""

from __future__ import annotations

import json
from typing import Any

from mlops_common.domain.failure_report import LogLocation, failure_report

REGION = "eu-west-1"


def entered(name: str, kind: str = "Task", state_input: Any = None) -> dict[str, Any]:
    return {
        "type": f"{kind}StateEntered",
        "stateEnteredEventDetails": {"name": name, "input": json.dumps(state_input or {})},
    }


def exited(name: str, kind: str = "Task") -> dict[str, Any]:
    return {"type": f"{kind}StateExited", "stateExitedEventDetails": {"name": name, "output": "{}"}}


def scheduled(resource_type: str, resource: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "TaskScheduled",
        "taskScheduledEventDetails": {
            "resourceType": resource_type,
            "resource": resource,
            "region": REGION,
            "parameters": json.dumps(parameters),
        },
    }


def task_failed(resource_type: str, resource: str, error: str, cause: Any) -> dict[str, Any]:
    return {
        "type": "TaskFailed",
        "taskFailedEventDetails": {
            "resourceType": resource_type,
            "resource": resource,
            "error": error,
            "cause": cause if isinstance(cause, str) else json.dumps(cause),
        },
    }


def execution_failed(error: str, cause: str) -> dict[str, Any]:
    return {"type": "ExecutionFailed", "executionFailedEventDetails": {"error": error, "cause": cause}}


GLUE_RUN = {
    "Id": "jr_0123abc",
    "JobName": "prepare-dataset",
    "JobRunState": "FAILED",
    "ErrorMessage": "AnalysisException: no such path",
}
GLUE_FAILURE = [
    entered("BeginRun"),
    exited("BeginRun"),
    entered("PrepareDataset"),
    scheduled("glue", "startJobRun.sync", {"JobName": "prepare-dataset", "Arguments": {}}),
    {
        "type": "TaskSubmitted",
        "taskSubmittedEventDetails": {"output": json.dumps({"JobRunId": "jr_0123abc"})},
    },
    task_failed("glue", "startJobRun.sync", "States.TaskFailed", GLUE_RUN),
    execution_failed("States.TaskFailed", json.dumps(GLUE_RUN)),
]


def test_a_failed_glue_run_is_the_failed_state_and_names_its_run_and_logs() -> None:
    report = failure_report(GLUE_FAILURE, REGION)

    assert (report.failed_state, report.failed_state_type) == ("PrepareDataset", "Task")
    assert report.redrive_resumes_work
    assert report.error == "States.TaskFailed"
    assert report.work is not None
    assert (report.work.state, report.work.job) == ("PrepareDataset", "jr_0123abc")
    assert [location.group for location in report.work.logs] == [
        "/aws-glue/jobs/logs-v2",
        "/aws-glue/jobs/error",
        "/aws-glue/jobs/output",
    ]
    assert all(location.stream_prefix == "jr_0123abc" for location in report.work.logs)


def test_a_tuning_failure_caught_into_a_fail_state_names_the_tuning_jobs_logs() -> None:
    cause = {
        "HyperParameterTuningJobName": "abc12345-hpo-deadbeef",
        "FailureReason": "No training job succeeded",
    }
    history = [
        entered("Tune"),
        scheduled(
            "sagemaker",
            "createHyperParameterTuningJob.sync",
            {"HyperParameterTuningJobName": "abc12345-hpo-deadbeef"},
        ),
        task_failed("sagemaker", "createHyperParameterTuningJob.sync", "States.TaskFailed", cause),
        exited("Tune"),
        entered("CheckTuneCapacityError", "Choice"),
        exited("CheckTuneCapacityError", "Choice"),
        entered("TuneFailed", "Fail"),
        execution_failed("States.TaskFailed", json.dumps(cause)),
    ]

    report = failure_report(history, REGION)

    assert (report.failed_state, report.failed_state_type) == ("TuneFailed", "Fail")
    assert not report.redrive_resumes_work
    assert report.work is not None
    assert (report.work.state, report.work.job) == ("Tune", "abc12345-hpo-deadbeef")
    assert report.work.logs == (LogLocation("/aws/sagemaker/TrainingJobs", "abc12345-hpo-deadbeef-", REGION),)


def test_a_failed_lambda_task_points_at_the_functions_log_group() -> None:
    function = "arn:aws:lambda:eu-west-1:123456789012:function:stack-CheckDataset-x1"
    history = [
        entered("CheckDataset"),
        scheduled("lambda", "invoke", {"FunctionName": function, "Payload": {}}),
        task_failed(
            "lambda",
            "invoke",
            "DatasetTooSmall",
            {"errorType": "DatasetTooSmall", "errorMessage": "dent: 3 images"},
        ),
        execution_failed("DatasetTooSmall", "dent: 3 images"),
    ]

    report = failure_report(history, REGION)

    assert report.work is not None
    assert report.work.job == "stack-CheckDataset-x1"
    assert report.work.logs == (LogLocation("/aws/lambda/stack-CheckDataset-x1", "", REGION),)


def test_a_timed_out_run_fails_at_the_state_it_was_in() -> None:
    history = [
        entered("WaitForEndpoint", "Wait"),
        {"type": "ExecutionTimedOut", "executionTimedOutEventDetails": {}},
    ]

    report = failure_report(history, REGION)

    assert (report.failed_state, report.failed_state_type, report.work) == ("WaitForEndpoint", "Wait", None)


def test_a_redriven_run_that_failed_again_reports_the_latest_failure() -> None:
    again = dict(GLUE_RUN, Id="jr_second")
    history = [
        *GLUE_FAILURE,
        {"type": "ExecutionRedriven", "executionRedrivenEventDetails": {"redriveCount": 1}},
        entered("PrepareDataset"),
        scheduled("glue", "startJobRun.sync", {"JobName": "prepare-dataset"}),
        task_failed("glue", "startJobRun.sync", "States.TaskFailed", again),
        execution_failed("States.TaskFailed", json.dumps(again)),
    ]

    report = failure_report(history, REGION)

    assert report.work is not None
    assert report.work.job == "jr_second"


def test_log_console_links_use_the_consoles_own_escaping() -> None:
    location = LogLocation("/aws/sagemaker/TrainingJobs", "job-1/", "eu-west-1")

    assert location.console_url == (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
        "#logsV2:log-groups/log-group/$252Faws$252Fsagemaker$252FTrainingJobs"
        "/log-events$3FlogStreamNameFilter$3Djob-1$252F"
    )
    assert LogLocation("/aws/lambda/f", "", "eu-west-1").console_url.endswith(
        "log-group/$252Faws$252Flambda$252Ff"
    )
