"""The spot fallback, run: the training pipeline's own states after a failed Tune or Train, in moto's
Step Functions engine, with the failure worded as AWS reports it.

A tuning job whose training jobs all failed for capacity fails with SageMaker's generic
"No training job succeeded after N attempts." (no "CapacityError" in the tuning job's cause): the
fallback must still reach on-demand capacity. The classifier task is played by a Pass state holding
what the real ``classify_training_failure`` service answers for that failure (through the task's own
ResultSelector and ResultPath); every other state is the definition's.
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
from tests.sagemaker_failure_reasons import ALGORITHM, CAPACITY, TUNING_REASON

REGION = "us-east-1"
TUNING_JOB = "1a2b3c4d-hpo-5e6f7a8b"
TRAINING_JOB = "upload-20261112T1000-1a2b3c4d-train-5e6f7a8b"
SPOT = {
    "EnableManagedSpotTraining": True,
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
}
ON_DEMAND = {"EnableManagedSpotTraining": False, "StoppingCondition": {"MaxRuntimeInSeconds": 3600}}
# Per job kind: the Catch's target, the classifier, its verdict's Choice, fallback, the Fail state, re-entry.
PATHS = {
    "tuning": (
        "CheckTuneCapacityError",
        "ClassifyTuneFailure",
        "IsTuneCapacityError",
        "TuneOnDemand",
        "TuneFailed",
        "ChooseTuningStart",
    ),
    "training": (
        "CheckTrainCapacityError",
        "ClassifyTrainFailure",
        "IsTrainCapacityError",
        "TrainOnDemand",
        "TrainFailed",
        "ChooseTrainingNetwork",
    ),
}


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


def _select(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.removeprefix("$.").split("."):
        value = value[part]
    return value


def fallback_machine(asl: dict[str, Any], kind: str, state_input: dict[str, Any], reasons: list[str]) -> str:
    """The fallback's states as a definition, the classifier played by the service's real answer."""
    check, classify, verdict, fallback, failed, reentry = PATHS[kind]
    states = {name: copy.deepcopy(asl["States"][name]) for name in (check, verdict, fallback, failed)}
    task = asl["States"][classify]
    # What the task sends the function, built from the state input as Step Functions builds it.
    payload = {
        key.removesuffix(".$"): _select(state_input, path)
        for key, path in task["Parameters"]["Payload"].items()
    }
    answer = classify_training_failure(
        ClassifyTrainingFailureInput.model_validate(payload), sagemaker=AwsReportedJobs(reasons)
    )
    selected = {
        key.removesuffix(".$"): _select({"Payload": answer.to_json()}, path)
        for key, path in task["ResultSelector"].items()
    }
    states[classify] = {
        "Type": "Pass",
        "Result": selected,
        "ResultPath": task["ResultPath"],
        "Next": task["Next"],
    }
    states[reentry] = {"Type": "Succeed"}
    return json.dumps({"StartAt": check, "States": states})


@pytest.fixture
def step_functions(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.client("stepfunctions", region_name=REGION)


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


def state_after_failure(kind: str, capacity: dict[str, Any]) -> dict[str, Any]:
    return {
        "capacity": capacity,
        "capacity_error": caught_failure(kind),
        "spec": {"on_demand": ON_DEMAND},
    }


def test_a_tuning_job_aws_failed_for_capacity_moves_to_on_demand(step_functions: Any, training_asl) -> None:
    state = state_after_failure("tuning", SPOT)
    assert "CapacityError" not in state["capacity_error"]["Cause"]

    described, entered = run(
        step_functions, fallback_machine(training_asl, "tuning", state, [CAPACITY] * 2), state
    )

    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert names(entered) == [
        "CheckTuneCapacityError",
        "ClassifyTuneFailure",
        "IsTuneCapacityError",
        "TuneOnDemand",
        "ChooseTuningStart",
    ]
    output = json.loads(described["output"])
    assert output["capacity"] == ON_DEMAND
    assert output["capacity_check"]["capacity"] is True
    assert output["capacity_check"]["job_name"] == TUNING_JOB


def test_a_tuning_job_whose_training_jobs_failed_on_their_own_fails_with_its_error_and_cause(
    step_functions: Any, training_asl
) -> None:
    state = state_after_failure("tuning", SPOT)
    machine = fallback_machine(training_asl, "tuning", state, [CAPACITY, ALGORITHM])

    described, entered = run(step_functions, machine, state)

    assert described["status"] == "FAILED"
    assert names(entered)[-2:] == ["IsTuneCapacityError", "TuneFailed"]
    # TuneFailed fails the run with Tune's own error and cause (its ErrorPath and CausePath).
    failed = json.loads(entered[-1]["input"])
    assert failed["capacity_error"] == state["capacity_error"]
    assert failed["capacity_check"]["capacity"] is False


@pytest.mark.parametrize("kind", sorted(PATHS))
def test_a_job_already_on_demand_fails_without_being_classified(
    step_functions: Any, training_asl, kind: str
) -> None:
    state = state_after_failure(kind, ON_DEMAND)
    check, _, _, _, failed, _ = PATHS[kind]

    described, entered = run(step_functions, fallback_machine(training_asl, kind, state, [CAPACITY]), state)

    assert described["status"] == "FAILED"
    assert names(entered) == [check, failed]


def test_a_training_job_that_found_no_spot_capacity_moves_to_on_demand(
    step_functions: Any, training_asl
) -> None:
    state = state_after_failure("training", SPOT)

    described, entered = run(
        step_functions, fallback_machine(training_asl, "training", state, [CAPACITY]), state
    )

    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert names(entered)[-4:] == [
        "ClassifyTrainFailure",
        "IsTrainCapacityError",
        "TrainOnDemand",
        "ChooseTrainingNetwork",
    ]
    assert json.loads(described["output"])["capacity"] == ON_DEMAND
