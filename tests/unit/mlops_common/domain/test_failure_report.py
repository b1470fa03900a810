"""The failure report read from an execution's history: failed state, failed work, log links.

Events have the shapes GetExecutionHistory returns, one ``<kind>EventDetails`` member each:
https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlops_common.domain.failure_report import FailedWork, LogLocation, failure_report

REGION = "eu-west-1"
GLUE_GROUPS = ("/aws-glue/jobs/logs-v2", "/aws-glue/jobs/error", "/aws-glue/jobs/output")


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


def failed_work(history: list[dict[str, Any]]) -> FailedWork:
    work = failure_report(history, REGION).work
    assert work is not None
    return work


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
    assert report.work.logs == tuple(LogLocation(group, "jr_0123abc", REGION) for group in GLUE_GROUPS)


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
        entered("TrainingFailed", "Fail"),
        execution_failed("States.TaskFailed", json.dumps(cause)),
    ]

    report = failure_report(history, REGION)

    assert (report.failed_state, report.failed_state_type) == ("TrainingFailed", "Fail")
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


def test_a_refused_configuration_is_not_worth_a_redrive() -> None:
    # A redrive keeps the execution's input: PlanRun would refuse the same settings again.
    function = "arn:aws:lambda:eu-west-1:123456789012:function:stack-PlanRun-x1"
    history = [
        entered("PlanRun"),
        scheduled("lambda", "invoke", {"FunctionName": function, "Payload": {}}),
        task_failed("lambda", "invoke", "InvalidConfiguration", {"errorMessage": "max_wait_seconds=600"}),
        execution_failed("InvalidConfiguration", "max_wait_seconds=600"),
    ]

    report = failure_report(history, REGION)

    assert (report.failed_state, report.failed_state_type) == ("PlanRun", "Task")
    assert not report.redrive_resumes_work


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


def test_log_locations_are_given_with_their_console_links() -> None:
    location = LogLocation("/aws/lambda/f", "", "eu-west-1")

    assert location.to_json() == {
        "group": "/aws/lambda/f",
        "stream_prefix": "",
        "console_url": location.console_url,
    }


def test_the_failed_work_carries_its_integration_error_and_cause() -> None:
    work = failed_work(GLUE_FAILURE)

    assert (work.resource_type, work.resource, work.error, work.cause) == (
        "glue",
        "startJobRun.sync",
        "States.TaskFailed",
        json.dumps(GLUE_RUN),
    )


def test_the_report_carries_the_executions_error_and_cause() -> None:
    report = failure_report(GLUE_FAILURE, REGION)

    assert (report.error, report.cause) == ("States.TaskFailed", json.dumps(GLUE_RUN))


def test_a_glue_run_that_timed_out_is_found_by_the_run_id_its_start_returned() -> None:
    # TaskSubmitted's output is StartJobRun's response; a timeout names no run, and its cause is
    # optional (https://docs.aws.amazon.com/step-functions/latest/apireference/API_TaskTimedOutEventDetails.html).
    history = [
        entered("PrepareDataset"),
        scheduled("glue", "startJobRun.sync", {"JobName": "prepare-dataset"}),
        {
            "type": "TaskStarted",
            "taskStartedEventDetails": {"resourceType": "glue", "resource": "startJobRun.sync"},
        },
        {
            "type": "TaskSubmitted",
            "taskSubmittedEventDetails": {
                "resourceType": "glue",
                "resource": "startJobRun.sync",
                "output": json.dumps({"JobRunId": "jr_0456def", "SdkHttpMetadata": {"HttpStatusCode": 200}}),
            },
        },
        {
            "type": "TaskTimedOut",
            "taskTimedOutEventDetails": {
                "resourceType": "glue",
                "resource": "startJobRun.sync",
                "error": "States.Timeout",
            },
        },
        {"type": "ExecutionFailed", "executionFailedEventDetails": {"error": "States.Timeout"}},
    ]

    work = failed_work(history)

    assert work.job == "jr_0456def"
    assert work.logs == tuple(LogLocation(group, "jr_0456def", REGION) for group in GLUE_GROUPS)


def test_a_glue_run_refused_before_it_started_names_the_job_and_no_logs() -> None:
    history = [
        entered("PrepareDataset"),
        scheduled("glue", "startJobRun.sync", {"JobName": "prepare-dataset"}),
        task_failed(
            "glue",
            "startJobRun.sync",
            "Glue.ConcurrentRunsExceededException",
            "Concurrent runs exceeded for prepare-dataset (Service: AWSGlue; Status Code: 400; "
            "Error Code: ConcurrentRunsExceededException; Request ID: 1f0e; Proxy: null)",
        ),
        execution_failed("Glue.ConcurrentRunsExceededException", "Concurrent runs exceeded"),
    ]

    work = failed_work(history)

    assert (work.job, work.logs) == ("prepare-dataset", ())


def test_a_failure_event_without_error_or_cause_reports_them_empty() -> None:
    # error and cause are optional members of every task failure's details.
    history = [
        entered("Train"),
        scheduled("sagemaker", "createTrainingJob.sync", {"TrainingJobName": "abc12345-train"}),
        {
            "type": "TaskTimedOut",
            "taskTimedOutEventDetails": {"resourceType": "sagemaker", "resource": "createTrainingJob.sync"},
        },
    ]

    work = failed_work(history)

    assert (work.error, work.cause) == ("", "")


def test_a_sagemaker_job_refused_for_a_null_name_names_no_job_and_no_logs() -> None:
    history = [
        entered("Train"),
        scheduled("sagemaker", "createTrainingJob.sync", {"TrainingJobName": None, "RoleArn": "arn:r"}),
        task_failed(
            "sagemaker",
            "createTrainingJob.sync",
            "SageMaker.AmazonSageMakerException",
            "1 validation error detected: Value null at 'trainingJobName' failed to satisfy constraint: "
            "Member must not be null (Service: AmazonSageMaker; Status Code: 400; "
            "Error Code: ValidationException; Request ID: 2a1b; Proxy: null)",
        ),
    ]

    work = failed_work(history)

    assert (work.job, work.logs) == (None, ())


def test_a_lambda_task_whose_parameters_name_no_function_names_no_job_and_no_logs() -> None:
    history = [
        entered("CheckDataset"),
        scheduled("lambda", "invoke", {"Payload": {}}),
        task_failed(
            "lambda",
            "invoke",
            "Lambda.AWSLambdaException",
            "1 validation error detected: Value null at 'functionName' failed to satisfy constraint: "
            "Member must not be null (Service: AWSLambda; Status Code: 400; "
            "Error Code: ValidationException; Request ID: 3c2d; Proxy: null)",
        ),
    ]

    work = failed_work(history)

    assert (work.job, work.logs) == (None, ())


# FunctionName's forms: https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#lambda-Invoke-request-FunctionName
@pytest.mark.parametrize(
    "function",
    [
        "check-dataset",
        "check-dataset:live",
        "123456789012:function:check-dataset",
        "arn:aws:lambda:eu-west-1:123456789012:function:check-dataset",
        "arn:aws:lambda:eu-west-1:123456789012:function:check-dataset:7",
    ],
)
def test_a_failed_lambda_task_names_its_function_whatever_form_invoke_was_given(function: str) -> None:
    history = [
        entered("CheckDataset"),
        scheduled("lambda", "invoke", {"FunctionName": function, "Payload": {}}),
        task_failed("lambda", "invoke", "DatasetTooSmall", {"errorType": "DatasetTooSmall"}),
    ]

    work = failed_work(history)

    assert work.job == "check-dataset"


def test_a_lambda_state_that_calls_its_function_by_arn_points_at_the_functions_log_group() -> None:
    # A Task whose Resource is the function's ARN records LambdaFunction* events: the scheduled event
    # names the function as its resource and the failure names neither integration nor function:
    # https://docs.aws.amazon.com/step-functions/latest/apireference/API_LambdaFunctionScheduledEventDetails.html
    function = "arn:aws:lambda:eu-west-1:123456789012:function:stack-CheckDataset-x1"
    history = [
        entered("CheckDataset"),
        {
            "type": "LambdaFunctionScheduled",
            "lambdaFunctionScheduledEventDetails": {
                "resource": function,
                "input": "{}",
                "timeoutInSeconds": 60,
            },
        },
        {"type": "LambdaFunctionStarted"},
        {
            "type": "LambdaFunctionFailed",
            "lambdaFunctionFailedEventDetails": {
                "error": "DatasetTooSmall",
                "cause": json.dumps({"errorType": "DatasetTooSmall", "errorMessage": "dent: 3 images"}),
            },
        },
        execution_failed("DatasetTooSmall", "dent: 3 images"),
    ]

    work = failed_work(history)

    assert (work.resource_type, work.resource, work.job, work.logs) == (
        "lambda",
        function,
        "stack-CheckDataset-x1",
        (LogLocation("/aws/lambda/stack-CheckDataset-x1", "", REGION),),
    )


def test_a_parallel_branch_that_was_still_running_is_the_failed_state_not_one_that_finished() -> None:
    # Branches run concurrently: the other branch's state was entered later but had exited.
    history = [
        entered("Evaluate", "Parallel"),
        {"type": "ParallelStateStarted"},
        entered("WaitForQuota", "Wait"),
        entered("Annotate", "Pass"),
        exited("Annotate", "Pass"),
        {"type": "ExecutionAborted", "executionAbortedEventDetails": {}},
    ]

    report = failure_report(history, REGION)

    assert (report.failed_state, report.failed_state_type) == ("WaitForQuota", "Wait")


def test_concurrent_map_iterations_that_exit_the_same_state_twice_leave_the_failed_state_found() -> None:
    history = [
        entered("ScoreImages", "Map"),
        {"type": "MapStateStarted", "mapStateStartedEventDetails": {"length": 2}},
        {
            "type": "MapIterationStarted",
            "mapIterationStartedEventDetails": {"name": "ScoreImages", "index": 0},
        },
        {
            "type": "MapIterationStarted",
            "mapIterationStartedEventDetails": {"name": "ScoreImages", "index": 1},
        },
        entered("Annotate", "Pass"),
        entered("Annotate", "Pass"),
        exited("Annotate", "Pass"),
        exited("Annotate", "Pass"),
        {"type": "MapStateSucceeded"},
        exited("ScoreImages", "Map"),
        entered("Publish"),
        scheduled("sns", "publish", {"TopicArn": "arn:aws:sns:eu-west-1:123456789012:t", "Message": "m"}),
        task_failed("sns", "publish", "SNS.NotFoundException", "Topic does not exist"),
    ]

    report = failure_report(history, REGION)

    assert (report.failed_state, report.failed_state_type) == ("Publish", "Task")


def test_a_run_stopped_before_it_entered_a_state_names_no_failed_state() -> None:
    history = [
        {"type": "ExecutionStarted", "executionStartedEventDetails": {"input": "{}", "roleArn": "arn:r"}},
        {"type": "ExecutionAborted"},
    ]

    report = failure_report(history, REGION)

    assert (report.failed_state, report.failed_state_type, report.work) == (None, None, None)
