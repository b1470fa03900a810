"""What an API call asks IAM for: its action, the resource ARN and the condition keys it carries.

The action is the service's IAM prefix and the operation's name, except where the Service
Authorization Reference names another action for the operation (S3's ListObjectsV2 is
``s3:ListBucket``, Lambda's Invoke is ``lambda:InvokeFunction``...); the resource is the ARN the
reference lists for it, built from the call's own parameters. A call can need several permissions:
``iam:PassRole`` for every role it hands to a service
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html), and KMS permissions
on the key that encrypts what it reads or writes, which S3, SQS and SNS check with the caller's
identity (see ``kms_requests``). Operations this module does not know ask for ``<prefix>:<op>``
on ``*``: a policy that names resources then refuses them, which is AWS's failure, not a kinder one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_local.engine.iam.policies import AuthorizationRequest

# botocore's signing names that are not the IAM prefix.
_IAM_PREFIX = {"monitoring": "cloudwatch"}

# Services each role-passing call hands the role to (the ``iam:PassedToService`` condition key).
_PASSED_TO = {
    "sagemaker": "sagemaker.amazonaws.com",
    "glue": "glue.amazonaws.com",
    "states": "states.amazonaws.com",
    "events": "events.amazonaws.com",
    "scheduler": "scheduler.amazonaws.com",
    "lambda": "lambda.amazonaws.com",
}


@dataclass(frozen=True)
class Call:
    """One API call: the IAM service prefix, the operation and its parameters."""

    prefix: str
    operation: str
    params: Mapping[str, Any]
    account: str
    region: str
    partition: str = "aws"

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account if account else ''}:{resource}"
        )


@dataclass(frozen=True)
class Encryption:
    """The customer managed KMS key (ARN) of the stack's buckets, queues and topics, if any."""

    bucket_key: Callable[[str], str | None]
    queue_key: Callable[[str], str | None]
    topic_key: Callable[[str], str | None]


def iam_prefix(signing_name: str) -> str:
    return _IAM_PREFIX.get(signing_name, signing_name)


def authorization_requests(call: Call, encryption: Encryption) -> list[AuthorizationRequest]:
    """Every permission ``call`` needs, in the order AWS would check them."""
    builder = _BUILDERS.get(call.prefix)
    requests = (
        list(builder(call)) if builder else [AuthorizationRequest(f"{call.prefix}:{call.operation}", "*")]
    )
    requests.extend(_pass_role_requests(call))
    requests.extend(kms_requests(call, encryption))
    return requests


# -- per service -------------------------------------------------------------------------------


def _s3(call: Call) -> Iterator[AuthorizationRequest]:
    bucket = str(call.params.get("Bucket", ""))
    bucket_arn = f"arn:{call.partition}:s3:::{bucket}"

    def object_arn(key: Any) -> str:
        return f"{bucket_arn}/{key}"

    op, params = call.operation, call.params
    if op in ("ListObjectsV2", "ListObjects", "ListObjectVersions", "HeadBucket"):
        action = "s3:ListBucketVersions" if op == "ListObjectVersions" else "s3:ListBucket"
        context = {"s3:prefix": str(params["Prefix"])} if "Prefix" in params else {}
        yield AuthorizationRequest(action, bucket_arn, context)
    elif op in ("GetObject", "HeadObject"):
        action = "s3:GetObjectVersion" if params.get("VersionId") else "s3:GetObject"
        yield AuthorizationRequest(action, object_arn(params.get("Key", "")))
    elif op in ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"):
        yield AuthorizationRequest("s3:PutObject", object_arn(params.get("Key", "")))
    elif op == "DeleteObjects":
        for item in params.get("Delete", {}).get("Objects", []):
            yield AuthorizationRequest("s3:DeleteObject", object_arn(item.get("Key", "")))
    elif op == "CopyObject":
        yield AuthorizationRequest("s3:GetObject", f"arn:{call.partition}:s3:::{_copy_source(params)}")
        yield AuthorizationRequest("s3:PutObject", object_arn(params.get("Key", "")))
    elif "Key" in params:
        yield AuthorizationRequest(f"s3:{op}", object_arn(params["Key"]))
    elif bucket:
        yield AuthorizationRequest(f"s3:{op}", bucket_arn)
    else:
        yield AuthorizationRequest(f"s3:{op}", "*")


def _copy_source(params: Mapping[str, Any]) -> str:
    source = params.get("CopySource", "")
    if isinstance(source, Mapping):
        return f"{source.get('Bucket', '')}/{source.get('Key', '')}"
    return str(source).lstrip("/").split("?", 1)[0]


_SQS_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def _sqs(call: Call) -> Iterator[AuthorizationRequest]:
    name = queue_name(call.params)
    action = f"sqs:{_SQS_ACTIONS.get(call.operation, call.operation)}"
    yield AuthorizationRequest(action, call.arn("sqs", name) if name else "*")


def queue_name(params: Mapping[str, Any]) -> str:
    if "QueueUrl" in params:
        return str(params["QueueUrl"]).rstrip("/").rsplit("/", 1)[-1]
    return str(params.get("QueueName", ""))


def _sns(call: Call) -> Iterator[AuthorizationRequest]:
    topic = str(call.params.get("TopicArn") or call.params.get("TargetArn") or "*")
    action = "sns:Publish" if call.operation == "PublishBatch" else f"sns:{call.operation}"
    yield AuthorizationRequest(action, topic)


_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def _dynamodb(call: Call) -> Iterator[AuthorizationRequest]:
    def table(name: Any, index: Any = None) -> str:
        return call.arn("dynamodb", f"table/{name}" + (f"/index/{index}" if index else ""))

    op, params = call.operation, call.params
    if op == "TransactWriteItems":
        for item in params.get("TransactItems", []):
            for kind, request in item.items():
                yield AuthorizationRequest(f"dynamodb:{_TRANSACT_ACTIONS[kind]}", table(request["TableName"]))
    elif op == "TransactGetItems":
        for item in params.get("TransactItems", []):
            yield AuthorizationRequest("dynamodb:GetItem", table(item["Get"]["TableName"]))
    elif op in ("BatchWriteItem", "BatchGetItem"):
        for name in params.get("RequestItems", {}):
            yield AuthorizationRequest(f"dynamodb:{op}", table(name))
    elif "TableName" in params:
        yield AuthorizationRequest(f"dynamodb:{op}", table(params["TableName"], params.get("IndexName")))
    else:
        yield AuthorizationRequest(f"dynamodb:{op}", "*")


def _states(call: Call) -> Iterator[AuthorizationRequest]:
    params = call.params
    resource = params.get("executionArn") or params.get("stateMachineArn") or "*"
    yield AuthorizationRequest(f"states:{call.operation}", str(resource))


def _lambda(call: Call) -> Iterator[AuthorizationRequest]:
    action = (
        "lambda:InvokeFunction" if call.operation in ("Invoke", "InvokeAsync") else f"lambda:{call.operation}"
    )
    name = str(call.params.get("FunctionName", ""))
    if not name:
        yield AuthorizationRequest(action, "*")
    elif name.startswith("arn:"):
        yield AuthorizationRequest(action, name)
    else:
        yield AuthorizationRequest(action, call.arn("lambda", f"function:{name}"))


# SageMaker operations act on the resource their name ends with: CreateTrainingJob, Describe...
# take TrainingJobName -> training-job/<name>. ARNs hold names in lower case.
_SAGEMAKER_RESOURCE = re.compile(
    r"^(?:Create|Describe|Delete|Stop|Update|Start|List\w+For)(?P<type>[A-Z]\w*?)$"
)
_SAGEMAKER_TYPES = {
    "TrainingJob": "training-job",
    "HyperParameterTuningJob": "hyper-parameter-tuning-job",
    "ProcessingJob": "processing-job",
    "TransformJob": "transform-job",
    "Model": "model",
    "Endpoint": "endpoint",
    "EndpointConfig": "endpoint-config",
    "ModelPackageGroup": "model-package-group",
    "MonitoringSchedule": "monitoring-schedule",
    "DataQualityJobDefinition": "data-quality-job-definition",
}


def _sagemaker(call: Call) -> Iterator[AuthorizationRequest]:
    op, params = call.operation, call.params
    action = f"sagemaker:{op}"
    if op in ("AddTags", "ListTags", "DeleteTags"):
        yield AuthorizationRequest(action, str(params.get("ResourceArn", "*")))
        return
    if op in ("DescribeModelPackage", "UpdateModelPackage", "DeleteModelPackage"):
        name = str(params.get("ModelPackageName") or params.get("ModelPackageArn") or "")
        yield AuthorizationRequest(
            action,
            name if name.startswith("arn:") else call.arn("sagemaker", f"model-package/{name.lower()}"),
        )
        return
    if op == "CreateModelPackage":
        group = str(params.get("ModelPackageGroupName", "")).rsplit("/", 1)[-1].lower()
        # The version is numbered at creation: the request covers the group's versions.
        yield AuthorizationRequest(action, call.arn("sagemaker", f"model-package/{group}/*"))
        yield from _tag_on_create(call, f"model-package/{group}/*")
        return
    if op == "InvokeEndpoint":
        yield AuthorizationRequest(
            action, call.arn("sagemaker", f"endpoint/{str(params['EndpointName']).lower()}")
        )
        return
    match = _SAGEMAKER_RESOURCE.match(op)
    kind = match["type"] if match else ""
    name = str(params.get(f"{kind}Name") or "") if kind in _SAGEMAKER_TYPES else ""
    if not name:
        yield AuthorizationRequest(action, "*")
        return
    resource = f"{_SAGEMAKER_TYPES[kind]}/{str(name).lower()}"
    yield AuthorizationRequest(action, call.arn("sagemaker", resource))
    if op in ("CreateEndpoint", "UpdateEndpoint") and params.get("EndpointConfigName"):
        # Both resources are in the request context (Service Authorization Reference, SageMaker).
        config = f"endpoint-config/{str(params['EndpointConfigName']).lower()}"
        yield AuthorizationRequest(action, call.arn("sagemaker", config))
    if op.startswith("Create"):
        yield from _tag_on_create(call, resource)


def _tag_on_create(call: Call, resource: str) -> Iterator[AuthorizationRequest]:
    """Tags given to a SageMaker Create call need ``sagemaker:AddTags`` on the new resource.

    https://docs.aws.amazon.com/sagemaker/latest/dg/security_iam_id-based-policy-examples.html
    ("Require tags on create": AddTags is authorized for tag-on-create).
    """
    if call.params.get("Tags"):
        yield AuthorizationRequest("sagemaker:AddTags", call.arn("sagemaker", resource))


def _glue(call: Call) -> Iterator[AuthorizationRequest]:
    name = call.params.get("JobName") or call.params.get("Name")
    yield AuthorizationRequest(f"glue:{call.operation}", call.arn("glue", f"job/{name}") if name else "*")


def _kms(call: Call) -> Iterator[AuthorizationRequest]:
    key = str(call.params.get("KeyId", ""))
    yield AuthorizationRequest(f"kms:{call.operation}", key_arn(call, key) if key else "*")


def key_arn(call: Call, key: str) -> str:
    if key.startswith("arn:"):
        return key
    return call.arn("kms", key if key.startswith("alias/") else f"key/{key}")


def _events(call: Call) -> Iterator[AuthorizationRequest]:
    op, params = call.operation, call.params
    if op == "PutEvents":
        buses = {str(entry.get("EventBusName") or "default") for entry in params.get("Entries", [])}
        for bus in sorted(buses) or ["default"]:
            arn = bus if bus.startswith("arn:") else call.arn("events", f"event-bus/{bus}")
            yield AuthorizationRequest("events:PutEvents", arn)
    elif "Name" in params or "Rule" in params:
        yield AuthorizationRequest(
            f"events:{op}", call.arn("events", f"rule/{params.get('Name') or params.get('Rule')}")
        )
    else:
        yield AuthorizationRequest(f"events:{op}", "*")


def _cloudwatch(call: Call) -> Iterator[AuthorizationRequest]:
    op, params = call.operation, call.params
    if op == "PutMetricData":
        yield AuthorizationRequest(
            "cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": str(params.get("Namespace", ""))}
        )
    elif "AlarmName" in params:
        yield AuthorizationRequest(f"cloudwatch:{op}", call.arn("cloudwatch", f"alarm:{params['AlarmName']}"))
    else:
        yield AuthorizationRequest(f"cloudwatch:{op}", "*")


# Application Auto Scaling's actions on a scalable target take the ``scalable-target`` resource type;
# Describe* take none (Service Authorization Reference, Application Auto Scaling). The target's ARN
# ends in an id the service generates (``scalable-target/<id>``, as RegisterScalableTarget returns it);
# a request here names one derived from the target's namespace, resource and dimension, which a policy
# can only match through ``scalable-target/*``, as on AWS.
_SCALABLE_TARGET_ACTIONS = frozenset(
    {
        "RegisterScalableTarget",
        "DeregisterScalableTarget",
        "PutScalingPolicy",
        "DeleteScalingPolicy",
        "PutScheduledAction",
        "DeleteScheduledAction",
    }
)
# The first RegisterScalableTarget for a service creates Application Auto Scaling's service-linked role
# for it with the caller's permission
# (https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-service-linked-roles.html).
# The local account never has it, as a fresh account has not: the permission is always asked for.
_AUTOSCALING_SERVICE_LINKED_ROLES = {
    "sagemaker": (
        "sagemaker.application-autoscaling.amazonaws.com",
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
    ),
}


def _application_autoscaling(call: Call) -> Iterator[AuthorizationRequest]:
    op, params = call.operation, call.params
    action = f"application-autoscaling:{op}"
    if op not in _SCALABLE_TARGET_ACTIONS:
        yield AuthorizationRequest(action, "*")
        return
    target = "|".join(str(params.get(k, "")) for k in ("ServiceNamespace", "ResourceId", "ScalableDimension"))
    target_id = hashlib.sha256(target.encode()).hexdigest()[:36]
    yield AuthorizationRequest(action, call.arn("application-autoscaling", f"scalable-target/{target_id}"))
    linked = _AUTOSCALING_SERVICE_LINKED_ROLES.get(str(params.get("ServiceNamespace", "")))
    if op == "RegisterScalableTarget" and linked:
        service, role = linked
        yield AuthorizationRequest(
            "iam:CreateServiceLinkedRole",
            call.arn("iam", f"role/aws-service-role/{service}/{role}", region=False),
            {"iam:AWSServiceName": service},
        )


_BUILDERS: dict[str, Callable[[Call], Iterator[AuthorizationRequest]]] = {
    "application-autoscaling": _application_autoscaling,
    "s3": _s3,
    "sqs": _sqs,
    "sns": _sns,
    "dynamodb": _dynamodb,
    "states": _states,
    "lambda": _lambda,
    "sagemaker": _sagemaker,
    "glue": _glue,
    "kms": _kms,
    "events": _events,
    "cloudwatch": _cloudwatch,
}


# -- implied permissions -----------------------------------------------------------------------


def _pass_role_requests(call: Call) -> Iterator[AuthorizationRequest]:
    if not call.operation.startswith(("Create", "Update", "Put", "Start")):
        return
    for role_arn in sorted(set(_role_arns(call.params))):
        context = {"iam:PassedToService": _PASSED_TO.get(call.prefix, f"{call.prefix}.amazonaws.com")}
        yield AuthorizationRequest("iam:PassRole", role_arn, context)


def _role_arns(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in ("RoleArn", "ExecutionRoleArn") and isinstance(item, str):
                yield item
            else:
                yield from _role_arns(item)
    elif isinstance(value, list):
        for item in value:
            yield from _role_arns(item)


def kms_requests(call: Call, encryption: Encryption) -> Iterator[AuthorizationRequest]:
    """The KMS permissions the service checks with the caller's identity for this call.

    - S3, SSE-KMS: writing needs ``kms:GenerateDataKey``, reading ``kms:Decrypt``, and a multipart
      upload both (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#require-sse-kms).
    - SQS, SSE-KMS: producers need ``kms:GenerateDataKey`` and ``kms:Decrypt``, consumers
      ``kms:Decrypt`` (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
    - SNS, SSE: publishers need ``kms:GenerateDataKey*`` and ``kms:Decrypt``
      (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
    """
    op, params = call.operation, call.params

    def on(key: str | None, *actions: str) -> Iterator[AuthorizationRequest]:
        if key and not _aws_managed(key):
            for action in actions:
                yield AuthorizationRequest(action, key_arn(call, key), for_kms=True)

    if call.prefix == "s3":
        bucket = str(params.get("Bucket", ""))
        write_key = params.get("SSEKMSKeyId") or (
            encryption.bucket_key(bucket) if params.get("ServerSideEncryption") in (None, "aws:kms") else None
        )
        if op in ("PutObject", "CopyObject"):
            yield from on(write_key, "kms:GenerateDataKey")
        elif op == "CreateMultipartUpload":
            yield from on(write_key, "kms:GenerateDataKey", "kms:Decrypt")
        if op == "GetObject":
            yield from on(encryption.bucket_key(bucket), "kms:Decrypt")
        elif op == "CopyObject":
            yield from on(encryption.bucket_key(_copy_source(params).split("/", 1)[0]), "kms:Decrypt")
    elif call.prefix == "sqs":
        key = encryption.queue_key(queue_name(params))
        if op in ("SendMessage", "SendMessageBatch"):
            yield from on(key, "kms:GenerateDataKey", "kms:Decrypt")
        elif op == "ReceiveMessage":
            yield from on(key, "kms:Decrypt")
    elif call.prefix == "sns" and op in ("Publish", "PublishBatch"):
        yield from on(
            encryption.topic_key(str(params.get("TopicArn") or params.get("TargetArn") or "")),
            "kms:GenerateDataKey",
            "kms:Decrypt",
        )


def _aws_managed(key: str) -> bool:
    """AWS managed keys (``alias/aws/sqs``...) let the account's principals use them through the service."""
    return key.rsplit(":", maxsplit=1)[-1].startswith("alias/aws/")
