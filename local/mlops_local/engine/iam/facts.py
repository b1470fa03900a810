"""What IAM enforcement needs to know about the provisioned stack, read from the template.

Inline role policies are read from the embedded IAM itself when a call is checked (so a policy
changed through the IAM API takes effect at once, as on AWS); the rest comes from the resolved
template: the AWS managed policies each role attaches, and the customer managed key, if any, of each
bucket, queue and topic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from mlops_local.engine.iam.requests import Encryption
from mlops_local.engine.provisioning import Stack


@dataclass
class StackFacts:
    managed_policies: dict[str, list[str]] = field(default_factory=dict)  # role ARN -> policy ARNs
    bucket_keys: dict[str, str] = field(default_factory=dict)  # bucket name -> key id or ARN
    queue_keys: dict[str, str] = field(default_factory=dict)  # queue name -> key
    topic_keys: dict[str, str] = field(default_factory=dict)  # topic ARN -> key

    @property
    def encryption(self) -> Encryption:
        return Encryption(
            bucket_key=self.bucket_keys.get, queue_key=self.queue_keys.get, topic_key=self.topic_keys.get
        )


def stack_facts(stack: Stack) -> StackFacts:
    facts = StackFacts()
    for resource in stack.resources.values():
        props: dict[str, Any] = resource.properties or {}
        if resource.type == "AWS::IAM::Role":
            facts.managed_policies[resource.attributes["Arn"]] = list(props.get("ManagedPolicyArns", []))
        elif resource.type == "AWS::S3::Bucket":
            rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
            for rule in rules:
                default = rule.get("ServerSideEncryptionByDefault", {})
                if default.get("SSEAlgorithm") == "aws:kms" and default.get("KMSMasterKeyID"):
                    facts.bucket_keys[resource.ref] = default["KMSMasterKeyID"]
        elif resource.type == "AWS::SQS::Queue" and props.get("KmsMasterKeyId"):
            facts.queue_keys[resource.attributes["QueueName"]] = props["KmsMasterKeyId"]
        elif resource.type == "AWS::SNS::Topic" and props.get("KmsMasterKeyId"):
            facts.topic_keys[resource.ref] = props["KmsMasterKeyId"]
    return facts


def aws_managed_policy(arn: str) -> str | None:
    """The default version of an AWS managed policy, from the copy of AWS's list moto ships."""
    return _aws_managed_policies().get(arn.rsplit("/", 1)[-1])


@cache
def _aws_managed_policies() -> dict[str, str]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data  # noqa: PLC0415 - large, used once

    return {
        name: json.dumps(policy["Document"]) for name, policy in json.loads(aws_managed_policies_data).items()
    }
