"""Create the template's resources in the embedded AWS (moto), as CloudFormation would.

Resources are created in dependency order with their properties evaluated (intrinsic functions,
conditions, parameters) and CloudFormation-style physical names (``<stack>-<LogicalId>-<SUFFIX>``)
unless the template names them. Every resource type is either created (``CREATORS``) or listed
in ``ACCEPTED_NOT_EMULATED`` with the reason it has no local meaning; any other type is an error.

moto's own CloudFormation is not used: it skips several of the types this template needs
(Scheduler, Glue, SageMaker, CloudWatch alarms) and ignores ``DefinitionSubstitutions``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

from mlops_local.engine.events import EventRule, EventSourceMapping, Schedule
from mlops_local.engine.iam.principals import RoleSession, credentials_for
from mlops_local.engine.intrinsics import IntrinsicResolver, referenced_resources
from mlops_local.engine.lambdas import LambdaFunction, LambdaRegistry
from mlops_local.engine.template import ACCOUNT_ID, PSEUDO_PARAMETERS, REGION, LoadedTemplate

ClientFactory = Callable[[str], Any]

# Types that exist on AWS but mean nothing on one machine, with the reason. Their Ref/Arn values
# are still computed so that anything referring to them resolves.
ACCEPTED_NOT_EMULATED: dict[str, str] = {
    "AWS::IAM::Policy": "IAM is not enforced locally",
    "AWS::IAM::ManagedPolicy": "IAM is not enforced locally",
    "AWS::IAM::InstanceProfile": "IAM is not enforced locally",
    "AWS::Lambda::Permission": "resource policies are not enforced locally",
    "AWS::Lambda::EventInvokeConfig": "asynchronous invocation settings: local invocations are synchronous",
    "AWS::Lambda::Version": "the local runtime always runs the working tree's code",
    "AWS::Lambda::Alias": "the local runtime always runs the working tree's code",
    "AWS::SNS::TopicPolicy": "resource policies are not enforced locally",
    "AWS::SNS::Subscription": "no e-mail or other subscriber exists locally; notifications stay in SNS",
    "AWS::SQS::QueuePolicy": "resource policies are not enforced locally",
    "AWS::S3::BucketPolicy": "bucket policies (TLS-only, deny) are not enforced locally",
    "AWS::Events::EventBusPolicy": "resource policies are not enforced locally",
    "AWS::KMS::Alias": "aliases are not used by the local runtime",
    "AWS::Logs::LogGroup": "handlers log to the console locally",
    "AWS::Logs::MetricFilter": "no CloudWatch Logs locally",
    "AWS::Logs::SubscriptionFilter": "no CloudWatch Logs locally",
    "AWS::CloudWatch::Dashboard": "no console locally",
    "AWS::CloudWatch::CompositeAlarm": "alarms never fire by themselves locally",
    "AWS::Scheduler::ScheduleGroup": "schedules fire on demand locally (fire_schedule)",
    "AWS::Glue::SecurityConfiguration": "no encryption settings apply to a local Spark run",
    "AWS::ApplicationAutoScaling::ScalableTarget": "one local endpoint process, no scaling",
    "AWS::ApplicationAutoScaling::ScalingPolicy": "one local endpoint process, no scaling",
    "AWS::CloudFormation::WaitConditionHandle": "nothing waits locally",
}


class ProvisioningError(Exception):
    """A resource cannot be created locally (unknown type, bad properties, missing file)."""


@dataclass
class ProvisionedResource:
    """One resource of the stack: what ``Ref`` and ``Fn::GetAtt`` return for it."""

    logical_id: str
    type: str
    ref: Any
    attributes: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)  # evaluated
    emulated: bool = True


@dataclass
class Stack:
    """Everything provisioned from the template."""

    name: str
    template: LoadedTemplate
    resources: dict[str, ProvisionedResource] = field(default_factory=dict)
    functions: LambdaRegistry = field(default_factory=LambdaRegistry)
    event_source_mappings: list[EventSourceMapping] = field(default_factory=list)
    rules: list[EventRule] = field(default_factory=list)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    def ref(self, logical_id: str) -> Any:
        """What ``Ref: <logical_id>`` returns (names for most types, ARNs for some)."""
        return self.resources[logical_id].ref

    def attribute(self, logical_id: str, name: str) -> Any:
        return self.resources[logical_id].attributes[name]

    def physical_name(self, logical_id: str) -> str:
        """The resource's name (the ``Name``/``Arn`` convention aside)."""
        resource = self.resources[logical_id]
        return str(resource.attributes.get("Name", resource.ref))


def physical_name(stack_name: str, logical_id: str, *, max_length: int = 64, lowercase: bool = False) -> str:
    """A CloudFormation-style generated name: ``<stack>-<LogicalId>-<13 character suffix>``."""
    suffix = hashlib.sha256(f"{stack_name}/{logical_id}".encode()).hexdigest()[:13].upper()
    room = max_length - len(suffix) - 2
    stem = f"{stack_name}-{logical_id}"[:room]
    name = f"{stem}-{suffix}"
    return name.lower() if lowercase else name


def _arn(service: str, resource: str, *, region: str = REGION) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{resource}"


class Provisioner:
    """Creates a loaded template's resources through boto3 clients bound to the embedded AWS."""

    def __init__(
        self,
        template: LoadedTemplate,
        client: ClientFactory,
        *,
        stack_name: str,
        functions: LambdaRegistry | None = None,
    ) -> None:
        self.template = template
        self.client = client
        self.stack = Stack(name=stack_name, template=template, functions=functions or LambdaRegistry())
        cfn = template.cfn
        self.resolver = IntrinsicResolver(
            parameters=template.parameters,
            pseudo={
                **PSEUDO_PARAMETERS,
                "AWS::StackName": stack_name,
                "AWS::StackId": _arn("cloudformation", f"stack/{stack_name}/local"),
            },
            mappings=cfn.get("Mappings"),
            conditions=cfn.get("Conditions"),
            ref=self._ref,
            get_att=self._get_att,
        )

    def _ref(self, logical_id: str) -> Any:
        if logical_id not in self.stack.resources:
            raise ProvisioningError(f"Ref to {logical_id}, which is not (yet) provisioned")
        return self.stack.resources[logical_id].ref

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        resource = self.stack.resources.get(logical_id)
        if resource is None or attribute not in resource.attributes:
            raise ProvisioningError(f"Fn::GetAtt {logical_id}.{attribute} is not available locally")
        return resource.attributes[attribute]

    def creation_order(self) -> list[str]:
        """Logical ids, each after everything it refers to or depends on."""
        resources: dict[str, Any] = self.template.cfn["Resources"]
        ids = set(resources)
        graph: dict[str, set[str]] = {}
        for logical_id, resource in resources.items():
            depends = resource.get("DependsOn", [])
            depends = [depends] if isinstance(depends, str) else depends
            graph[logical_id] = set(referenced_resources(resource.get("Properties", {}), ids)) | set(depends)
        try:
            return list(TopologicalSorter(graph).static_order())
        except CycleError as cycle:
            raise ProvisioningError(f"circular dependency between resources: {cycle.args[1]}") from cycle

    def check_types(self) -> None:
        """Fail before creating anything when a resource type is neither created nor accepted."""
        unknown = sorted(
            f"{lid} ({res['Type']})"
            for lid, res in self.template.cfn["Resources"].items()
            if res["Type"] not in CREATORS and res["Type"] not in ACCEPTED_NOT_EMULATED
        )
        if unknown:
            raise ProvisioningError("resource types the local runtime does not know: " + ", ".join(unknown))

    def provision(self) -> Stack:
        """Create every resource whose condition holds, then resolve the Outputs."""
        self.check_types()
        resources = self.template.cfn["Resources"]
        for logical_id in self.creation_order():
            resource = resources[logical_id]
            condition = resource.get("Condition")
            if condition is not None and not self.resolver.condition(condition):
                continue
            properties = self.resolver.resolve(resource.get("Properties", {}))
            resource_type = resource["Type"]
            try:
                if resource_type in CREATORS:
                    created = CREATORS[resource_type](self, logical_id, properties)
                else:
                    created = _accepted(self, logical_id, resource_type, properties)
            except ProvisioningError:
                raise
            except Exception as error:
                raise ProvisioningError(f"creating {logical_id} ({resource_type}) failed: {error}") from error
            created.properties = properties
            self.stack.resources[logical_id] = created
        for name, output in (self.template.cfn.get("Outputs") or {}).items():
            condition = output.get("Condition")
            if condition is None or self.resolver.condition(condition):
                self.stack.outputs[name] = self.resolver.resolve(output["Value"])
        return self.stack

    # -- naming --------------------------------------------------------------------------------

    def name_for(self, logical_id: str, given: Any, *, max_length: int = 64, lowercase: bool = False) -> str:
        if given:
            return str(given)
        return physical_name(self.stack.name, logical_id, max_length=max_length, lowercase=lowercase)

    def local_path(self, key: str) -> Path:
        """The local folder or file behind a placeholder code location (a SAM logical id)."""
        try:
            return self.template.local_paths[key]
        except KeyError as missing:
            raise ProvisioningError(f"no local code path for {key}") from missing


# -- creators, one per resource type ----------------------------------------------------------


def _accepted(
    p: Provisioner, logical_id: str, resource_type: str, props: dict[str, Any]
) -> ProvisionedResource:
    name = p.name_for(logical_id, props.get("PolicyName") or props.get("ManagedPolicyName"))
    ref: Any = name
    attributes: dict[str, Any] = {}
    if resource_type == "AWS::IAM::ManagedPolicy":
        ref = f"arn:aws:iam::{ACCOUNT_ID}:policy/{name}"
    elif resource_type == "AWS::Logs::LogGroup":
        ref = props.get("LogGroupName") or name
        attributes["Arn"] = _arn("logs", f"log-group:{ref}:*")
    elif resource_type == "AWS::KMS::Alias":
        ref = props.get("AliasName", f"alias/{name}")
    return ProvisionedResource(logical_id, resource_type, ref, attributes, emulated=False)


def _kms_key(p: Provisioner, logical_id: str, props: dict[str, Any]) -> ProvisionedResource:
    kwargs: dict[str, Any] = {"Description": props.get("Description", logical_id)}
    if "KeyPolicy" in props:
        kwargs["Policy"] = json.dumps(props["KeyPolicy"])
    key = p.client("kms").create_key(**kwargs)["KeyMetadata"]
    if props.get("EnableKeyRotation"):
        p.client("kms").enable_key_rotation(KeyId=key["KeyId"])
    return ProvisionedResource(
        logical_id, "AWS::KMS::Key", key["KeyId"], {"Arn": key["Arn"], "KeyId": key["KeyId"]}
    )


def _s3_bucket(p: Provisioner, logical_id: str, props: dict[str, Any]) -> ProvisionedResource:
    name = p.name_for(logical_id, props.get("BucketName"), max_length=63, lowercase=True)
    s3 = p.client("s3")
    s3.create_bucket(Bucket=name)
    if props.get("VersioningConfiguration"):
        s3.put_bucket_versioning(
            Bucket=name, VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]}
        )
    encryption = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration")
    if encryption:
        rules = [
            {
                "ApplyServerSideEncryptionByDefault": rule.get("ServerSideEncryptionByDefault", {}),
                **(
                    {"BucketKeyEnabled": bool(rule["BucketKeyEnabled"])} if "BucketKeyEnabled" in rule else {}
                ),
            }
            for rule in encryption
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    block = props.get("PublicAccessBlockConfiguration")
    if block:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
    lifecycle = props.get("LifecycleConfiguration")
    if lifecycle:
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration=_lifecycle(lifecycle))
    notifications = props.get("NotificationConfiguration", {})
    if "EventBridgeConfiguration" in notifications:
        s3.put_bucket_notification_configuration(
            Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
    return ProvisionedResource(
        logical_id,
        "AWS::S3::Bucket",
        name,
        {
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
        },
    )


def _lifecycle(config: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's lifecycle rule shape -> the S3 API's."""
    rules = []
    for rule in config.get("Rules", []):
        api_rule: dict[str, Any] = {"ID": rule.get("Id", "rule"), "Status": rule.get("Status", "Enabled")}
        api_rule["Filter"] = {"Prefix": rule.get("Prefix", "")}
        if "ExpirationInDays" in rule:
            api_rule["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
        if "NoncurrentVersionExpiration" in rule:
            days = rule["NoncurrentVersionExpiration"].get("NoncurrentDays")
            api_rule["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(days)}
        if "AbortIncompleteMultipartUpload" in rule:
            days = rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
            api_rule["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": int(days)}
        rules.append(api_rule)
    return {"Rules": rules}


def _sqs_queue(p: Provisioner, logical_id: str, props: dict[str, Any]) -> ProvisionedResource:
    fifo = str(props.get("FifoQueue", "false")).lower() == "true"
    name = props.get("QueueName") or physical_name(p.stack.name, logical_id, max_length=75) + (
        ".fifo" if fifo else ""
    )
    attributes: dict[str, str] = {}
    for prop, value in props.items():
        if prop in ("QueueName", "Tags"):
            continue
        if prop in ("RedrivePolicy", "RedriveAllowPolicy"):
            attributes[prop] = json.dumps(value) if not isinstance(value, str) else value
        else:
            attributes[prop] = str(value).lower() if isinstance(value, bool) else str(value)
    url = p.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return ProvisionedResource(
        logical_id, "AWS::SQS::Queue", url, {"Arn": _arn("sqs", name), "QueueName": name, "QueueUrl": url}
    )


def _sns_topic(p: Provisioner, logical_id: str, props: dict[str, Any]) -> ProvisionedResource:
    name = props.get("TopicName") or physical_name(p.stack.name, logical_id, max_length=256)
    attributes = {"KmsMasterKeyId": props["KmsMasterKeyId"]} if props.get("KmsMasterKeyId") else {}
    arn = p.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
    for subscription in props.get("Subscription", []):
        p.client("sns").subscribe(
            TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"]
        )
    return ProvisionedResource(logical_id, "AWS::SNS::Topic", arn, {"TopicArn": arn, "TopicName": name})


def _dynamodb_table(p: Provisioner, logical_id: str, props: dict[str, Any]) -> ProvisionedResource:
    name = props.get("TableName") or physical_name(p.stack.name, logical_id, max_length=255)
    kwargs: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if kwargs["BillingMode"] == "PROVISIONED":
        kwargs["ProvisionedThroughput"] = props.get(
            "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        )
    for optional in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification"):
        if optional in props:
            kwargs[optional] = props[optional]
    dynamodb = p.client("dynamodb")
    table = dynamodb.create_table(**kwargs)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]}
        )
    attributes = {"Arn": table["TableArn"]}
    if "LatestStreamArn" in table:
        attributes["StreamArn"] = table["LatestStreamArn"]
    return ProvisionedResource(logical_id, "AWS::DynamoDB::Table", name, attributes)


def _iam_role(p: Provisioner, logical_id: str, props: dict[str, Any]) -> ProvisionedResource:
    name = p.name_for(logical_id, props.get("RoleName"))
    iam = p.client("iam")
    role = iam.create_role(
        RoleName=name,
        Path=props.get("Path", "/"),
        AssumeRolePolicyDocument=json.dumps(props.get("AssumeRolePolicyDocument", {})),
    )["Role"]
    # SAM's generated policies have no Version: stock moto rejects them
    # (moto_compat.iam_policy_without_version).
    for policy in props.get("Policies", []):
        iam.put_role_policy(
            RoleName=name,
            PolicyName=policy["PolicyName"],
            PolicyDocument=json.dumps(policy["PolicyDocument"]),
        )
    return ProvisionedResource(
        logical_id, "AWS::IAM::Role", name, {"Arn": role["Arn"], "RoleId": role["RoleId"]}
    )


def _layer_version(p: Provisioner, logical_id: str, props: dict[str, Any]) -> ProvisionedResource:
    key = props.get("Content", {}).get("S3Key", logical_id)
    name = props.get("LayerName", logical_id)
    arn = _arn("lambda", f"layer:{name}:1")
    return ProvisionedResource(
        logical_id, "AWS::Lambda::LayerVersion", arn, {"LayerVersionArn": arn, "LocalPath": p.local_path(key)}
    )


def _lambda_function(p: Provisioner, logical_id: str, props: dict[str, Any]) -> ProvisionedResource:
    name = p.name_for(logical_id, props.get("FunctionName"))
    arn = _arn("lambda", f"function:{name}")
    key = props.get("Code", {}).get("S3Key", logical_id)
    layer_dirs = [_layer_path(p, layer_arn) for layer_arn in props.get("Layers", [])]
    function = LambdaFunction(
        logical_id=logical_id,
        function_name=name,
        arn=arn,
        handler=props["Handler"],
        code_dir=p.local_path(key),
        layer_dirs=layer_dirs,
        environment={k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()},
        timeout_seconds=int(props.get("Timeout", 3)),
        memory_mb=int(props.get("MemorySize", 128)),
        role_arn=str(props.get("Role", "")),
        kms_key_arn=str(props.get("KmsKeyArn", "")),
    )
    if function.role_arn:
        # Lambda's session for the execution role is named after the function.
        function.credentials = credentials_for(RoleSession(function.role_arn, name)).as_environment()
    p.stack.functions.register(function)
    return ProvisionedResource(logical_id, "AWS::Lambda::Function", name, {"Arn": arn})


def _layer_path(p: Provisioner, layer_arn: str) -> Path:
    for resource in p.stack.resources.values():
        if resource.type == "AWS::Lambda::LayerVersion" and resource.ref == layer_arn:
            return Path(resource.attributes["LocalPath"])
    raise ProvisioningError(f"layer {layer_arn} is not a layer of this template")


def _event_source_mapping(p: Provisioner, logical_id: str, props: dict[str, Any]) -> ProvisionedResource:
    source = props["EventSourceArn"]
    if ":sqs:" not in source:
        raise ProvisioningError(f"{logical_id}: only SQS event sources are emulated, got {source}")
    mapping = EventSourceMapping(
        logical_id=logical_id,
        function=props["FunctionName"],
        queue_arn=source,
        batch_size=int(props.get("BatchSize", 10)),
        batching_window_seconds=int(props.get("MaximumBatchingWindowInSeconds", 0)),
        report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
        enabled=str(props.get("Enabled", True)).lower() != "false",
    )
    p.stack.event_source_mappings.append(mapping)
    return ProvisionedResource(logical_id, "AWS::Lambda::EventSourceMapping", logical_id)


def _events_rule(p: Provisioner, logical_id: str, props: dict[str, Any]) -> ProvisionedResource:
    name = p.name_for(logical_id, props.get("Name"))
    events = p.client("events")
    bus = props.get("EventBusName", "default")
    kwargs: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": props.get("State", "ENABLED")}
    if "EventPattern" in props:
        kwargs["EventPattern"] = json.dumps(props["EventPattern"])
    if "ScheduleExpression" in props:
        kwargs["ScheduleExpression"] = props["ScheduleExpression"]
    arn = events.put_rule(**kwargs)["RuleArn"]
    lambda_targets, machine_targets, other_targets = [], [], []
    for target in props.get("Targets", []):
        target_input = target.get("Input")
        if ":function:" in target["Arn"]:
            lambda_targets.append((target["Arn"], target_input))
        elif ":stateMachine:" in target["Arn"]:
            machine_targets.append((target["Arn"], target_input))
        else:
            other_targets.append(target)
    if other_targets:
        # moto delivers to SQS, SNS and log targets itself.
        api_targets = []
        for target in other_targets:
            api_target = {
                k: v for k, v in target.items() if k in ("Id", "Arn", "Input", "InputPath", "RoleArn")
            }
            if "DeadLetterConfig" in target:
                api_target["DeadLetterConfig"] = target["DeadLetterConfig"]
            if "RetryPolicy" in target:
                api_target["RetryPolicy"] = target["RetryPolicy"]
            api_targets.append(api_target)
        events.put_targets(Rule=name, EventBusName=bus, Targets=api_targets)
    p.stack.rules.append(
        EventRule(
            logical_id=logical_id,
            name=name,
            pattern=props.get("EventPattern"),
            lambda_targets=lambda_targets,
            state_machine_targets=machine_targets,
            enabled=props.get("State", "ENABLED") == "ENABLED",
        )
    )
    return ProvisionedResource(logical_id, "AWS::Events::Rule", name, {"Arn": arn})


def _schedule(p: Provisioner, logical_id: str, props: dict[str, Any]) -> ProvisionedResource:
    name = p.name_for(logical_id, props.get("Name"))
    target = props["Target"]
    target_input = target.get("Input")
    api_target = {"Arn": target["Arn"], "RoleArn": target["RoleArn"]}
    if target_input is not None:
        api_target["Input"] = target_input
    p.client("scheduler").create_schedule(
        Name=name,
        ScheduleExpression=props["ScheduleExpression"],
        FlexibleTimeWindow=props.get("FlexibleTimeWindow", {"Mode": "OFF"}),
        State=props.get("State", "ENABLED"),
        Target=api_target,
    )
    p.stack.schedules[logical_id] = Schedule(
        logical_id=logical_id,
        name=name,
        expression=props["ScheduleExpression"],
        state=props.get("State", "ENABLED"),
        target_arn=target["Arn"],
        target_input=target_input,
        role_arn=str(target["RoleArn"]),
    )
    arn = _arn("scheduler", f"schedule/default/{name}")
    return ProvisionedResource(logical_id, "AWS::Scheduler::Schedule", name, {"Arn": arn})


def apply_definition_substitutions(definition: str, substitutions: dict[str, Any]) -> str:
    """Replace ``${Name}`` in an ASL definition as CloudFormation does; unknown names stay put."""
    for name, value in substitutions.items():
        text = json.dumps(value) if isinstance(value, dict | list) else str(value)
        if isinstance(value, bool):
            text = "true" if value else "false"
        definition = definition.replace("${" + name + "}", text)
    return definition


def _state_machine(p: Provisioner, logical_id: str, props: dict[str, Any]) -> ProvisionedResource:
    name = p.name_for(logical_id, props.get("StateMachineName"), max_length=80)
    if "DefinitionS3Location" in props:
        definition = p.local_path(props["DefinitionS3Location"]["Key"]).read_text(encoding="utf-8")
    elif "Definition" in props:
        definition = json.dumps(props["Definition"])
    else:
        definition = props["DefinitionString"]
    definition = apply_definition_substitutions(definition, props.get("DefinitionSubstitutions", {}))
    json.loads(definition)  # a substitution that broke the JSON is a template bug: fail here
    response = p.client("stepfunctions").create_state_machine(
        name=name,
        definition=definition,
        roleArn=props["RoleArn"],
        type=props.get("StateMachineType", "STANDARD"),
    )
    arn = response["stateMachineArn"]
    return ProvisionedResource(
        logical_id, "AWS::StepFunctions::StateMachine", arn, {"Arn": arn, "Name": name}
    )


def _glue_job(p: Provisioner, logical_id: str, props: dict[str, Any]) -> ProvisionedResource:
    name = p.name_for(logical_id, props.get("Name"), max_length=255)
    kwargs: dict[str, Any] = {"Name": name, "Role": props["Role"], "Command": props["Command"]}
    for optional in (
        "DefaultArguments",
        "GlueVersion",
        "WorkerType",
        "NumberOfWorkers",
        "MaxRetries",
        "Timeout",
        "Description",
        "ExecutionProperty",
        "SecurityConfiguration",
        "MaxCapacity",
    ):
        if optional in props:
            kwargs[optional] = props[optional]
    for integer in ("NumberOfWorkers", "MaxRetries", "Timeout"):
        if integer in kwargs:
            kwargs[integer] = int(kwargs[integer])
    p.client("glue").create_job(**kwargs)
    return ProvisionedResource(logical_id, "AWS::Glue::Job", name)


def _model_package_group(p: Provisioner, logical_id: str, props: dict[str, Any]) -> ProvisionedResource:
    name = p.name_for(logical_id, props.get("ModelPackageGroupName"), max_length=63)
    kwargs: dict[str, Any] = {"ModelPackageGroupName": name}
    if "ModelPackageGroupDescription" in props:
        kwargs["ModelPackageGroupDescription"] = props["ModelPackageGroupDescription"]
    arn = p.client("sagemaker").create_model_package_group(**kwargs)["ModelPackageGroupArn"]
    return ProvisionedResource(
        logical_id, "AWS::SageMaker::ModelPackageGroup", arn, {"ModelPackageGroupArn": arn, "Name": name}
    )


def _cloudwatch_alarm(p: Provisioner, logical_id: str, props: dict[str, Any]) -> ProvisionedResource:
    name = p.name_for(logical_id, props.get("AlarmName"), max_length=255)
    kwargs: dict[str, Any] = {"AlarmName": name}
    for prop in (
        "AlarmDescription",
        "MetricName",
        "Namespace",
        "Statistic",
        "ExtendedStatistic",
        "Period",
        "EvaluationPeriods",
        "DatapointsToAlarm",
        "Threshold",
        "ComparisonOperator",
        "TreatMissingData",
        "Dimensions",
        "AlarmActions",
        "OKActions",
        "Metrics",
        "ActionsEnabled",
        "Unit",
    ):
        if prop in props:
            kwargs[prop] = props[prop]
    for integer in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
        if integer in kwargs:
            kwargs[integer] = int(kwargs[integer])
    if "Threshold" in kwargs:
        kwargs["Threshold"] = float(kwargs["Threshold"])
    p.client("cloudwatch").put_metric_alarm(**kwargs)
    return ProvisionedResource(
        logical_id, "AWS::CloudWatch::Alarm", name, {"Arn": _arn("cloudwatch", f"alarm:{name}")}
    )


CREATORS: dict[str, Callable[[Provisioner, str, dict[str, Any]], ProvisionedResource]] = {
    "AWS::KMS::Key": _kms_key,
    "AWS::S3::Bucket": _s3_bucket,
    "AWS::SQS::Queue": _sqs_queue,
    "AWS::SNS::Topic": _sns_topic,
    "AWS::DynamoDB::Table": _dynamodb_table,
    "AWS::IAM::Role": _iam_role,
    "AWS::Lambda::LayerVersion": _layer_version,
    "AWS::Lambda::Function": _lambda_function,
    "AWS::Lambda::EventSourceMapping": _event_source_mapping,
    "AWS::Events::Rule": _events_rule,
    "AWS::Scheduler::Schedule": _schedule,
    "AWS::StepFunctions::StateMachine": _state_machine,
    "AWS::Glue::Job": _glue_job,
    "AWS::SageMaker::ModelPackageGroup": _model_package_group,
    "AWS::CloudWatch::Alarm": _cloudwatch_alarm,
}
