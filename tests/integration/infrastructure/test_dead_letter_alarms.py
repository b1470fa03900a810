"""Every dead-letter queue of the template has one alarm on its depth that notifies the stack's topic,
and the topic's policy and key let CloudWatch deliver that notification.

The dead-letter queues are derived from the template (every queue named where failures go), so a
queue added later without its alarm fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from mlops_local.engine.dead_letters import dead_letter_queues
from mlops_local.engine.intrinsics import referenced_resources

TOPIC = "NotificationsTopic"
CLOUDWATCH = {"Fn::Sub": "cloudwatch.${AWS::URLSuffix}"}


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def watched_queues(alarm: dict[str, Any], queues: set[str]) -> set[str]:
    """The queues whose visible messages ``alarm`` watches."""
    properties = alarm["Properties"]
    if (properties.get("Namespace"), properties.get("MetricName")) != (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    ):
        return set()
    dimensions = [d["Value"] for d in properties.get("Dimensions", []) if d["Name"] == "QueueName"]
    return set(referenced_resources(dimensions, queues))


@pytest.fixture(scope="module")
def dlqs(template: dict[str, Any]) -> set[str]:
    found = dead_letter_queues(template["Resources"])
    assert found, "the template has no dead-letter queue at all"
    return found


@pytest.fixture(scope="module")
def dlq_alarms(template: dict[str, Any], dlqs: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Each dead-letter queue with the alarms that watch its depth."""
    alarms = of_type(template, "AWS::CloudWatch::Alarm").values()
    return {queue: [a for a in alarms if queue in watched_queues(a, dlqs)] for queue in sorted(dlqs)}


def test_every_dead_letter_queue_has_exactly_one_depth_alarm(dlq_alarms) -> None:
    assert {queue: len(alarms) for queue, alarms in dlq_alarms.items()} == dict.fromkeys(dlq_alarms, 1)


def test_a_dead_letter_alarm_fires_on_one_message_visible_within_five_minutes(dlq_alarms) -> None:
    for queue, (alarm,) in dlq_alarms.items():
        properties = alarm["Properties"]
        assert {
            key: properties.get(key)
            for key in (
                "Statistic",
                "Period",
                "EvaluationPeriods",
                "Threshold",
                "ComparisonOperator",
                "TreatMissingData",
            )
        } == {
            "Statistic": "Maximum",
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        }, queue


def test_a_dead_letter_alarm_notifies_the_topic_when_it_fires_and_when_it_clears(dlq_alarms) -> None:
    for queue, (alarm,) in dlq_alarms.items():
        properties = alarm["Properties"]
        assert properties["AlarmActions"] == [{"Ref": TOPIC}], queue
        assert properties["OKActions"] == [{"Ref": TOPIC}], queue


def test_the_topic_policy_lets_the_stacks_alarms_publish(template, dlq_alarms) -> None:
    statements = [
        statement
        for policy in of_type(template, "AWS::SNS::TopicPolicy").values()
        if {"Ref": TOPIC} in policy["Properties"]["Topics"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    (publish,) = [s for s in statements if s["Principal"] == {"Service": CLOUDWATCH}]
    source = publish["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    prefix = source.split(":alarm:", 1)[1].removesuffix("*")

    assert (publish["Effect"], publish["Action"], publish["Resource"]) == (
        "Allow",
        "sns:Publish",
        {"Ref": TOPIC},
    )
    for queue, (alarm,) in dlq_alarms.items():
        assert alarm["Properties"]["AlarmName"]["Fn::Sub"].startswith(prefix), queue


def test_cloudwatch_may_use_the_key_that_encrypts_the_topic(template) -> None:
    key_id = template["Resources"][TOPIC]["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    statements = template["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
    (cloudwatch,) = [s for s in statements if s["Principal"] == {"Service": CLOUDWATCH}]

    assert cloudwatch["Effect"] == "Allow"
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(cloudwatch["Action"])
