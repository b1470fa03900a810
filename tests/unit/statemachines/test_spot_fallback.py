"""The spot fallback, run: the training pipeline's own states after a failed Tune or Train, in moto's
Step Functions engine (JSONata evaluated as Step Functions does), with the failure worded as AWS
reports it.

A tuning job whose training jobs all failed for capacity fails with SageMaker's generic
"No training job succeeded after N attempts." (no "CapacityError" in the tuning job's cause): the
fallback must still reach on-demand capacity. The classifier task is played by a Pass state whose
input is what the real ``classify_training_failure`` service answers for that failure, read through
the task's own Assign; the Catch's variables are set as the Catch sets them; every other state is
the definition's, and the step the fallback re-enters ends the run with the capacity it would use.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops_common.models import ClassifyTrainingFailureInput
from mlops_common.services.classify_training_failure import classify_training_failure
from mlops_local.engine.moto_compat.fail_state_refuses_states_errors import WORKAROUND as RERAISE
from mlops_local.engine.moto_compat.jsonata_not_evaluated import WORKAROUND as JSONATA
from tests.asl import render, request
from tests.sagemaker_failure_reasons import ALGORITHM, CAPACITY, TUNING_REASON

REGION = "us-east-1"
TUNING_JOB = "1a2b3c4d-hpo-5e6f7a8b"
TRAINING_JOB = "upload-20261112T1000-1a2b3c4d-train-5e6f7a8b"
SPOT = {
    "EnableManagedSpotTraining": True,
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
}
ON_DEMAND = {"EnableManagedSpotTraining": False, "StoppingCondition": {"MaxRuntimeInSeconds": 3600}}
STEP = {"tuning": "Tune", "training": "Train"}


class AwsReportedJobs:
    """SageMaker's answers about one failed job (implements ``ports.TrainingJobs``)."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons

    def failed_training_jobs(self, tuning_job_name: str) -> list[dict[str, Any]]:
        return [
            {
                "TrainingJobName": f"{tuning_job_name}-{index:03d}-0c9d8e7f",
                "TrainingJobStatus": "Failed",
                "FailureReason": reason,
            }
            for index, reason in enumerate(self.reasons, start=1)
        ]

    def describe_training_job(self, job_name: str) -> dict[str, Any]:
        return {"TrainingJobName": job_name, "TrainingJobStatus": "Failed", "FailureReason": self.reasons[0]}


def caught_failure(kind: str) -> dict[str, str]:
    """The Catch's error output of a failed .sync task: its cause is the job's Describe response."""
    if kind == "tuning":
        described = {
            "HyperParameterTuningJobName": TUNING_JOB,
            "HyperParameterTuningJobStatus": "Failed",
            "FailureReason": TUNING_REASON,
        }
    else:
        described = {
            "TrainingJobName": TRAINING_JOB,
            "TrainingJobStatus": "Failed",
            "FailureReason": CAPACITY,
        }
    return {"Error": "States.TaskFailed", "Cause": json.dumps(described)}


def fallback_machine(
    asl: dict[str, Any], kind: str, variables: dict[str, Any], reasons: list[str]
) -> tuple[str, dict[str, Any]]:
    """The fallback's states as a definition, the classifier played by the service's real answer;
    and the execution input its first state reads the run's variables from."""
    states = asl["States"]
    classify = states["ClassifyTrainingFailure"]
    answer = classify_training_failure(
        ClassifyTrainingFailureInput.model_validate(render(request(classify)["Payload"], variables)),
        sagemaker=AwsReportedJobs(reasons),
    )
    (catcher,) = states[STEP[kind]]["Catch"]
    caught = render(catcher["Assign"], {**variables, "states": {"errorOutput": variables["job_failure"]}})
    played = json.loads(json.dumps(classify["Assign"]).replace("$states.result.", "$states.input."))
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "JobFailed",
        "States": {
            "JobFailed": {
                "Type": "Pass",
                # Read from the input: moto keeps a literal string's escapes in an Assign template.
                "Assign": {
                    **{name: f"{{% $states.input.{name} %}}" for name in variables if name != "job_failure"},
                    **{name: f"{{% $states.input.caught.{name} %}}" for name in caught},
                },
                "Output": {"Payload": answer.to_json()},
                "Next": "ClassifyTrainingFailure",
            },
            "ClassifyTrainingFailure": {"Type": "Pass", "Assign": played, "Next": classify["Next"]},
            "IsCapacityError": copy.deepcopy(states["IsCapacityError"]),
            "TrainingFailed": copy.deepcopy(states["TrainingFailed"]),
            **{
                step: {"Type": "Succeed", "Output": {"step": step, "capacity": "{% $capacity %}"}}
                for step in STEP.values()
            },
        },
    }
    return json.dumps(definition), {**variables, "caught": caught}


@pytest.fixture
def step_functions(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        JSONATA.apply()
        RERAISE.apply()
        try:
            yield boto3.client("stepfunctions", region_name=REGION)
        finally:
            RERAISE.undo()
            JSONATA.undo()


def run(
    sfn: Any, definition: str, state_input: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run ``definition`` once; DescribeExecution and each state entered, in order (name, input)."""
    machine = sfn.create_state_machine(
        name=f"fallback-{time.monotonic_ns()}",
        definition=definition,
        roleArn="arn:aws:iam::123456789012:role/states",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps(state_input))["executionArn"]
    deadline = time.monotonic() + 60
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the fallback did not finish"
        time.sleep(0.05)
    events = sfn.get_execution_history(executionArn=execution)["events"]
    entered = [event["stateEnteredEventDetails"] for event in events if "stateEnteredEventDetails" in event]
    return dict(described), entered


def names(entered: list[dict[str, Any]]) -> list[str]:
    return [state["name"] for state in entered]


def after_failure(kind: str, capacity: dict[str, Any]) -> dict[str, Any]:
    """The run's variables as the failed step's Catch leaves them."""
    return {"capacity": capacity, "on_demand": ON_DEMAND, "job_failure": caught_failure(kind)}


def test_a_tuning_job_aws_failed_for_capacity_moves_to_on_demand(step_functions: Any, training_asl) -> None:
    variables = after_failure("tuning", SPOT)
    assert "CapacityError" not in variables["job_failure"]["Cause"]

    described, entered = run(
        step_functions, *fallback_machine(training_asl, "tuning", variables, [CAPACITY] * 2)
    )

    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert names(entered) == ["JobFailed", "ClassifyTrainingFailure", "IsCapacityError", "Tune"]
    assert json.loads(described["output"]) == {"step": "Tune", "capacity": ON_DEMAND}


def test_a_tuning_job_whose_training_jobs_failed_on_their_own_fails_with_its_error_and_cause(
    step_functions: Any, training_asl
) -> None:
    variables = after_failure("tuning", SPOT)
    machine = fallback_machine(training_asl, "tuning", variables, [CAPACITY, ALGORITHM])

    described, entered = run(step_functions, *machine)

    assert described["status"] == "FAILED"
    assert names(entered)[-2:] == ["IsCapacityError", "TrainingFailed"]
    # TrainingFailed fails the run with the job's own error and cause.
    assert (described["error"], described["cause"]) == (
        variables["job_failure"]["Error"],
        variables["job_failure"]["Cause"],
    )


@pytest.mark.parametrize("kind", sorted(STEP))
def test_a_job_already_on_demand_fails_without_moving(step_functions: Any, training_asl, kind: str) -> None:
    variables = after_failure(kind, ON_DEMAND)

    described, entered = run(step_functions, *fallback_machine(training_asl, kind, variables, [CAPACITY]))

    assert described["status"] == "FAILED"
    assert names(entered)[-2:] == ["IsCapacityError", "TrainingFailed"]
    assert described["error"] == "States.TaskFailed"


def test_a_training_job_that_found_no_spot_capacity_moves_to_on_demand(
    step_functions: Any, training_asl
) -> None:
    variables = after_failure("training", SPOT)

    described, entered = run(
        step_functions, *fallback_machine(training_asl, "training", variables, [CAPACITY])
    )

    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert names(entered)[-3:] == ["ClassifyTrainingFailure", "IsCapacityError", "Train"]
    assert json.loads(described["output"]) == {"step": "Train", "capacity": ON_DEMAND}
