"""Which queues of a template are dead-letter queues, from the settings that name one."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_local.engine.dead_letters import dead_letter_queues

QUEUE = {"Type": "AWS::SQS::Queue"}
DLQ_ARN = {"Fn::GetAtt": ["FailuresQueue", "Arn"]}


def resources(**senders: dict[str, Any]) -> dict[str, Any]:
    """A template's resources: a queue ``FailuresQueue`` and the resources that may send to it."""
    return {"FailuresQueue": QUEUE, **senders}


# Every setting that names a dead-letter queue, as CloudFormation and SAM spell it.
SENDERS = {
    "an SQS queue's redrive policy": {
        "Type": "AWS::SQS::Queue",
        "Properties": {"RedrivePolicy": {"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 5}},
    },
    "an SNS subscription's redrive policy": {
        "Type": "AWS::SNS::Subscription",
        "Properties": {"Protocol": "email", "RedrivePolicy": {"deadLetterTargetArn": DLQ_ARN}},
    },
    "an EventBridge rule target": {
        "Type": "AWS::Events::Rule",
        "Properties": {"Targets": [{"Id": "t", "Arn": "arn", "DeadLetterConfig": {"Arn": DLQ_ARN}}]},
    },
    "a Scheduler target": {
        "Type": "AWS::Scheduler::Schedule",
        "Properties": {"Target": {"Arn": "arn", "DeadLetterConfig": {"Arn": DLQ_ARN}}},
    },
    "a Lambda function's dead-letter config": {
        "Type": "AWS::Lambda::Function",
        "Properties": {"DeadLetterConfig": {"TargetArn": DLQ_ARN}},
    },
    "a SAM function's dead-letter queue": {
        "Type": "AWS::Serverless::Function",
        "Properties": {"DeadLetterQueue": {"Type": "SQS", "TargetArn": DLQ_ARN}},
    },
    "an asynchronous invocation's on-failure destination": {
        "Type": "AWS::Lambda::EventInvokeConfig",
        "Properties": {"DestinationConfig": {"OnFailure": {"Destination": DLQ_ARN}}},
    },
    "a SAM function's on-failure destination, by Ref": {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "EventInvokeConfig": {
                "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": {"Ref": "FailuresQueue"}}}
            }
        },
    },
}


@pytest.mark.parametrize("sender", SENDERS.values(), ids=SENDERS.keys())
def test_a_queue_named_where_failures_go_is_a_dead_letter_queue(sender: dict[str, Any]) -> None:
    assert dead_letter_queues(resources(Sender=sender)) == {"FailuresQueue"}


def test_the_queue_that_redrives_is_not_itself_a_dead_letter_queue() -> None:
    found = dead_letter_queues(resources(WorkQueue=SENDERS["an SQS queue's redrive policy"]))

    assert "WorkQueue" not in found


def test_a_queue_only_consumed_or_targeted_is_not_a_dead_letter_queue() -> None:
    rule = {"Type": "AWS::Events::Rule", "Properties": {"Targets": [{"Id": "t", "Arn": DLQ_ARN}]}}

    assert dead_letter_queues(resources(Rule=rule)) == set()


def test_an_on_failure_topic_is_not_a_queue() -> None:
    topic_destination = {
        "Type": "AWS::Lambda::EventInvokeConfig",
        "Properties": {"DestinationConfig": {"OnFailure": {"Destination": {"Ref": "FailuresTopic"}}}},
    }
    found = dead_letter_queues({"FailuresTopic": {"Type": "AWS::SNS::Topic"}, "Config": topic_destination})

    assert found == set()
