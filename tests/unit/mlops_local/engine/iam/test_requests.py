"""What each API call asks IAM for: action names, resource ARNs, condition keys, PassRole and KMS."""

from __future__ import annotations

from typing import Any

from mlops_local.engine.iam.policies import AuthorizationRequest
from mlops_local.engine.iam.requests import Call, Encryption, authorization_requests, iam_prefix

KEY = "arn:aws:kms:us-east-1:123456789012:key/k"
ROLE = "arn:aws:iam::123456789012:role/sagemaker"
ENCRYPTED = Encryption(
    bucket_key={"data": KEY}.get,
    queue_key={"events": KEY, "managed": "alias/aws/sqs"}.get,
    topic_key={"arn:aws:sns:us-east-1:123456789012:alerts": KEY}.get,
)


def asks(prefix: str, operation: str, **params: Any) -> list[tuple[str, str]]:
    call = Call(prefix=prefix, operation=operation, params=params, account="123456789012", region="us-east-1")
    return [(r.action, r.resource) for r in authorization_requests(call, ENCRYPTED)]


def requests(prefix: str, operation: str, **params: Any) -> list[AuthorizationRequest]:
    call = Call(prefix=prefix, operation=operation, params=params, account="123456789012", region="us-east-1")
    return authorization_requests(call, ENCRYPTED)


def test_iam_prefixes_follow_the_service_authorization_reference() -> None:
    assert iam_prefix("monitoring") == "cloudwatch"
    assert iam_prefix("states") == "states"


def test_s3_listing_is_list_bucket_with_its_prefix() -> None:
    (listing,) = requests("s3", "ListObjectsV2", Bucket="data", Prefix="datasets/")
    assert (listing.action, listing.resource, dict(listing.context)) == (
        "s3:ListBucket",
        "arn:aws:s3:::data",
        {"s3:prefix": "datasets/"},
    )


def test_s3_reads_and_writes_of_an_sse_kms_bucket_need_the_key() -> None:
    assert asks("s3", "GetObject", Bucket="data", Key="a/b.png") == [
        ("s3:GetObject", "arn:aws:s3:::data/a/b.png"),
        ("kms:Decrypt", KEY),
    ]
    assert asks("s3", "HeadObject", Bucket="data", Key="k") == [("s3:GetObject", "arn:aws:s3:::data/k")]
    assert asks("s3", "PutObject", Bucket="data", Key="k") == [
        ("s3:PutObject", "arn:aws:s3:::data/k"),
        ("kms:GenerateDataKey", KEY),
    ]
    assert asks("s3", "CreateMultipartUpload", Bucket="data", Key="k")[1:] == [
        ("kms:GenerateDataKey", KEY),
        ("kms:Decrypt", KEY),
    ]
    assert asks("s3", "PutObject", Bucket="plain", Key="k") == [("s3:PutObject", "arn:aws:s3:::plain/k")]


def test_s3_copy_reads_the_source_and_writes_the_target() -> None:
    assert asks(
        "s3", "CopyObject", Bucket="plain", Key="to", CopySource={"Bucket": "data", "Key": "from"}
    ) == [
        ("s3:GetObject", "arn:aws:s3:::data/from"),
        ("s3:PutObject", "arn:aws:s3:::plain/to"),
        ("kms:Decrypt", KEY),
    ]
    assert asks("s3", "DeleteObjects", Bucket="plain", Delete={"Objects": [{"Key": "a"}, {"Key": "b"}]}) == [
        ("s3:DeleteObject", "arn:aws:s3:::plain/a"),
        ("s3:DeleteObject", "arn:aws:s3:::plain/b"),
    ]


def test_sqs_producers_and_consumers_of_an_encrypted_queue() -> None:
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/events"
    queue = "arn:aws:sqs:us-east-1:123456789012:events"
    assert asks("sqs", "SendMessageBatch", QueueUrl=url, Entries=[]) == [
        ("sqs:SendMessage", queue),
        ("kms:GenerateDataKey", KEY),
        ("kms:Decrypt", KEY),
    ]
    assert asks("sqs", "ReceiveMessage", QueueUrl=url) == [
        ("sqs:ReceiveMessage", queue),
        ("kms:Decrypt", KEY),
    ]
    assert asks("sqs", "DeleteMessageBatch", QueueUrl=url, Entries=[]) == [("sqs:DeleteMessage", queue)]
    # An AWS managed key is used through the service by any principal of the account.
    managed = "https://sqs.us-east-1.amazonaws.com/123456789012/managed"
    assert asks("sqs", "SendMessage", QueueUrl=managed, MessageBody="x") == [
        ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:managed")
    ]


def test_publishing_to_an_encrypted_topic_needs_both_key_permissions() -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:alerts"
    assert asks("sns", "Publish", TopicArn=topic, Message="m") == [
        ("sns:Publish", topic),
        ("kms:GenerateDataKey", KEY),
        ("kms:Decrypt", KEY),
    ]
    kms = [r for r in requests("sns", "Publish", TopicArn=topic, Message="m") if r.action.startswith("kms:")]
    assert all(r.for_kms for r in kms)


def test_dynamodb_transactions_ask_for_each_item_action() -> None:
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/t"
    items = [
        {"Put": {"TableName": "t"}},
        {"Update": {"TableName": "t"}},
        {"ConditionCheck": {"TableName": "t"}},
    ]
    assert asks("dynamodb", "TransactWriteItems", TransactItems=items) == [
        ("dynamodb:PutItem", table),
        ("dynamodb:UpdateItem", table),
        ("dynamodb:ConditionCheckItem", table),
    ]
    assert asks("dynamodb", "Query", TableName="t", IndexName="by-status") == [
        ("dynamodb:Query", f"{table}/index/by-status")
    ]


def test_lambda_invoke_is_invoke_function_on_the_function() -> None:
    assert asks("lambda", "Invoke", FunctionName="fn") == [
        ("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:123456789012:function:fn")
    ]
    arn = "arn:aws:lambda:us-east-1:123456789012:function:fn:live"
    assert asks("lambda", "Invoke", FunctionName=arn) == [("lambda:InvokeFunction", arn)]


def test_sagemaker_jobs_name_their_resource_pass_their_role_and_tag_on_create() -> None:
    training = requests(
        "sagemaker",
        "CreateTrainingJob",
        TrainingJobName="Run-1",
        RoleArn=ROLE,
        Tags=[{"Key": "k", "Value": "v"}],
    )
    assert [(r.action, r.resource) for r in training] == [
        ("sagemaker:CreateTrainingJob", "arn:aws:sagemaker:us-east-1:123456789012:training-job/run-1"),
        ("sagemaker:AddTags", "arn:aws:sagemaker:us-east-1:123456789012:training-job/run-1"),
        ("iam:PassRole", ROLE),
    ]
    assert dict(training[2].context) == {"iam:PassedToService": "sagemaker.amazonaws.com"}
    tuning = asks(
        "sagemaker",
        "ListTrainingJobsForHyperParameterTuningJob",
        HyperParameterTuningJobName="hpo",
    )
    assert tuning == [
        (
            "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
            "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/hpo",
        )
    ]


def test_an_endpoint_update_is_authorized_on_the_endpoint_and_its_new_config() -> None:
    assert asks("sagemaker", "UpdateEndpoint", EndpointName="ep", EndpointConfigName="cfg-2") == [
        ("sagemaker:UpdateEndpoint", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep"),
        ("sagemaker:UpdateEndpoint", "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/cfg-2"),
    ]


def test_model_packages_are_versions_of_their_group() -> None:
    assert asks("sagemaker", "CreateModelPackage", ModelPackageGroupName="Classifier") == [
        (
            "sagemaker:CreateModelPackage",
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/classifier/*",
        )
    ]
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/classifier/3"
    assert asks("sagemaker", "DescribeModelPackage", ModelPackageName=arn) == [
        ("sagemaker:DescribeModelPackage", arn)
    ]
    assert asks("sagemaker", "ListModelPackages", ModelPackageGroupName="classifier") == [
        ("sagemaker:ListModelPackages", "*")
    ]


def test_metrics_carry_their_namespace_and_unknown_services_ask_for_everything() -> None:
    (metrics,) = requests("cloudwatch", "PutMetricData", Namespace="Glue", MetricData=[])
    assert dict(metrics.context) == {"cloudwatch:namespace": "Glue"}
    assert asks("xray", "PutTraceSegments", TraceSegmentDocuments=[]) == [("xray:PutTraceSegments", "*")]


def test_scaling_a_variant_is_authorized_on_a_scalable_target_and_may_create_the_linked_role() -> None:
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/e/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
    }
    register, linked_role = requests("application-autoscaling", "RegisterScalableTarget", **target)
    assert register.action == "application-autoscaling:RegisterScalableTarget"
    assert register.resource.startswith(
        "arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/"
    )
    assert (linked_role.action, linked_role.resource, dict(linked_role.context)) == (
        "iam:CreateServiceLinkedRole",
        "arn:aws:iam::123456789012:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
        {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"},
    )
    (policy,) = requests("application-autoscaling", "PutScalingPolicy", PolicyName="p", **target)
    (deregister,) = requests("application-autoscaling", "DeregisterScalableTarget", **target)
    assert policy.resource == deregister.resource == register.resource  # one target, one ARN
    assert asks("application-autoscaling", "DescribeScalableTargets", ServiceNamespace="sagemaker") == [
        ("application-autoscaling:DescribeScalableTargets", "*")
    ]
