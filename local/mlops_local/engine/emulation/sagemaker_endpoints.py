"""SageMaker endpoints that deploy (through the endpoint lifecycle), with ``UpdateEndpoint``.

An update follows its ``DeploymentConfig``
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DeploymentConfig.html), checked
against the new config's instance count as the API reference bounds it, and played as traffic steps
with bakes (``engine.jobs.TrafficStep``):

- blue/green (``BlueGreenUpdatePolicy``): the whole new fleet is staged, then takes ALL_AT_ONCE
  100 %, CANARY its CanarySize then 100 %, or LINEAR one LinearStepSize more per step; each step
  bakes WaitIntervalInSeconds, and the last one TerminationWaitInSeconds more before the old fleet
  goes (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green.html);
- rolling (``RollingUpdatePolicy``): one MaximumBatchSize more of the fleet per batch, each baking
  WaitIntervalInSeconds (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-rolling.html);
- no DeploymentConfig: blue/green all at once, no bake (the API's default).

The alarms of ``AutoRollbackConfiguration`` are watched during every bake; one in ALARM rolls the
update back. An update that changes the instance type of (or removes) a variant registered with
Application Auto Scaling is refused, as SageMaker documents it
(https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html). The API reference
gives these bounds and that refusal but not the wording of the errors: the messages here quote the
documented rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from mlops_local.engine.emulation.registry import Emulation, LocalServices
from mlops_local.engine.jobs import EndpointLifecycle, TrafficStep
from mlops_local.engine.patching import Patches, replace

_SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
# Share of the variant's instances a step may take, in percent (API_TrafficRoutingConfig,
# API_RollingUpdatePolicy): (lowest, highest, the documented rule).
_BOUNDS = {
    "CanarySize": (0, 50, "must be less than or equal to 50% of the variant's total instance count"),
    "LinearStepSize": (10, 50, "must be 10-50% of the variant's total instance count"),
    "MaximumBatchSize": (5, 50, "must be between 5% to 50% of the variant's total instance count"),
}
_MAX_WAIT_SECONDS = 3600  # WaitIntervalInSeconds and TerminationWaitInSeconds: 0-3600


def _instances(size: Mapping[str, Any], instance_count: int, field: str) -> int:
    """A CapacitySize in instances (API_CapacitySize: Value at least 1), within the field's bounds."""
    kind, value = size.get("Type"), size.get("Value")
    if kind not in ("INSTANCE_COUNT", "CAPACITY_PERCENT") or not isinstance(value, int) or value < 1:
        raise ValidationError(
            message=f"{field} must be a CapacitySize of Type INSTANCE_COUNT or CAPACITY_PERCENT "
            "and a Value of at least 1"
        )
    instances = value if kind == "INSTANCE_COUNT" else math.ceil(instance_count * value / 100)
    low, high, rule = _BOUNDS.get(field, (0, 100, ""))
    if rule and not (instance_count * low / 100 <= instances <= instance_count * high / 100):
        raise ValidationError(
            message=f"{field} {rule}: {instances} of {instance_count} instance(s) is "
            f"{instances / instance_count:.0%}"
        )
    return instances


def _wait(policy: Mapping[str, Any], key: str, *, required: bool = True) -> int:
    value = policy.get(key)
    if value is None and not required:
        return 0
    if not isinstance(value, int) or not 0 <= value <= _MAX_WAIT_SECONDS:
        raise ValidationError(message=f"{key} must be an integer from 0 to {_MAX_WAIT_SECONDS}")
    return value


def _shares(step: int, instance_count: int) -> list[float]:
    """The new fleet's share after each step of ``step`` instances, up to the whole fleet."""
    steps = math.ceil(instance_count / step)
    return [min((index + 1) * step / instance_count, 1.0) for index in range(steps)]


def deployment_steps(
    deployment_config: Mapping[str, Any] | None, instance_count: int
) -> tuple[tuple[TrafficStep, ...], tuple[str, ...]]:
    """The traffic steps and rollback alarms of an UpdateEndpoint ``DeploymentConfig``."""
    config = deployment_config or {}
    blue_green, rolling = config.get("BlueGreenUpdatePolicy"), config.get("RollingUpdatePolicy")
    if blue_green and rolling:
        raise ValidationError(message="Only one update policy should be used in the deployment configuration")
    alarms = tuple(
        str(alarm["AlarmName"]) for alarm in (config.get("AutoRollbackConfiguration") or {}).get("Alarms", [])
    )
    if rolling:
        step = _instances(rolling.get("MaximumBatchSize") or {}, instance_count, "MaximumBatchSize")
        if rolling.get("RollbackMaximumBatchSize") is not None:
            _instances(rolling["RollbackMaximumBatchSize"], instance_count, "RollbackMaximumBatchSize")
        wait = _wait(rolling, "WaitIntervalInSeconds")
        return tuple(TrafficStep(share, wait) for share in _shares(step, instance_count)), alarms
    if not blue_green:
        return (TrafficStep(1.0, 0.0),), alarms
    routing = blue_green.get("TrafficRoutingConfiguration") or {}
    kind = routing.get("Type")
    wait = _wait(routing, "WaitIntervalInSeconds")
    if kind == "ALL_AT_ONCE":
        shares = [1.0]
    elif kind == "CANARY":
        canary = _instances(routing.get("CanarySize") or {}, instance_count, "CanarySize")
        shares = [canary / instance_count, 1.0]
    elif kind == "LINEAR":
        shares = _shares(
            _instances(routing.get("LinearStepSize") or {}, instance_count, "LinearStepSize"), instance_count
        )
    else:
        raise ValidationError(
            message="TrafficRoutingConfiguration Type must be one of ALL_AT_ONCE, CANARY, LINEAR"
        )
    steps = [TrafficStep(share, wait) for share in shares]
    termination = _wait(blue_green, "TerminationWaitInSeconds", required=False)
    if termination:
        steps.append(TrafficStep(1.0, termination))  # the final bake before the old fleet goes
    return tuple(steps), alarms


def _variants(backend: SageMakerModelBackend, config_name: str | None) -> dict[str, Mapping[str, Any]]:
    config = backend.endpoint_configs.get(config_name) if config_name else None
    return {str(v["VariantName"]): v for v in (config.production_variants if config else [])}


def _refuse_what_autoscaling_blocks(
    response_self: SageMakerResponse, name: str, serving: str | None, config_name: str
) -> None:
    """A scaled variant must be deregistered before its instance type changes or it is removed."""
    scaling = applicationautoscaling_backends[response_self.current_account][response_self.region]
    registered = scaling.targets.get(_SCALABLE_DIMENSION, {})
    new = _variants(response_self.sagemaker_backend, config_name)
    for variant_name, variant in _variants(response_self.sagemaker_backend, serving).items():
        if f"endpoint/{name}/variant/{variant_name}" not in registered:
            continue
        replacement = new.get(variant_name)
        if replacement is None or replacement.get("InstanceType") != variant.get("InstanceType"):
            raise ValidationError(
                message=f"Variant {variant_name} of endpoint {name} is a scalable target of Application Auto "
                "Scaling: an update that changes its instance type or removes it fails; deregister it "
                "(DeregisterScalableTarget) first and register it again after the update"
            )


def _create_endpoint(endpoints: EndpointLifecycle) -> Callable[..., Any]:
    def create(response_self: SageMakerResponse) -> Any:
        name = response_self._get_param("EndpointName")
        config = response_self._get_param("EndpointConfigName")
        if name in response_self.sagemaker_backend.endpoints:
            raise ValidationError(message=f"Cannot create already existing endpoint {name}")
        endpoint = response_self.sagemaker_backend.create_endpoint(
            endpoint_name=name, endpoint_config_name=config, tags=response_self._get_param("Tags")
        )
        endpoints.create(name, config)
        return ActionResult({"EndpointArn": endpoint.arn})

    return create


def _update_endpoint(endpoints: EndpointLifecycle) -> Callable[..., Any]:
    def update(response_self: SageMakerResponse) -> Any:
        name = response_self._get_param("EndpointName")
        config = response_self._get_param("EndpointConfigName")
        backend = response_self.sagemaker_backend
        if name not in backend.endpoints:
            raise ValidationError(message=f"Could not find endpoint {name}")
        if config not in backend.endpoint_configs:
            raise ValidationError(message=f"Could not find endpoint configuration {config}")
        record = endpoints.get(name)
        if record is not None and record.status in ("Creating", "Updating"):
            raise ValidationError(message=f"Cannot update in-progress endpoint {name}")
        serving = record.config_name if record else backend.endpoints[name].endpoint_config_name
        _refuse_what_autoscaling_blocks(response_self, name, serving, config)
        fleet = sum(int(v.get("InitialInstanceCount", 1)) for v in _variants(backend, config).values())
        steps, alarms = deployment_steps(response_self._get_param("DeploymentConfig"), max(fleet, 1))
        endpoints.update(name, config, steps, alarms)
        return ActionResult({"EndpointArn": backend.endpoints[name].arn})

    return update


def _delete_endpoint(endpoints: EndpointLifecycle, original: Callable[..., Any]) -> Callable[..., Any]:
    def delete(backend_self: SageMakerModelBackend, endpoint_name: str) -> None:
        original(backend_self, endpoint_name)  # moto's ValidationException for an unknown endpoint
        endpoints.delete(endpoint_name)

    return delete


def _describe_endpoint(endpoints: EndpointLifecycle, original: Callable[..., Any]) -> Callable[..., Any]:
    def describe(backend_self: SageMakerModelBackend, name: str) -> dict[str, Any]:
        response = original(backend_self, name)
        record = endpoints.get(name)
        if record is None:
            return response
        response["EndpointStatus"] = record.status
        if record.config_name is not None:
            response["EndpointConfigName"] = record.config_name
            response["ProductionVariants"] = _variant_summaries(backend_self, record.config_name, response)
        if record.failure_reason:
            response["FailureReason"] = record.failure_reason
        else:
            response.pop("FailureReason", None)
        return response

    return describe


def _variant_summaries(
    backend: SageMakerModelBackend, config_name: str, response: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """DescribeEndpoint's ProductionVariants of the config serving now (moto keeps the first config's)."""
    summaries = []
    for variant in _variants(backend, config_name).values():
        count, weight = variant.get("InitialInstanceCount", 1), variant.get("InitialVariantWeight", 1.0)
        summaries.append(
            {
                "VariantName": variant["VariantName"],
                "CurrentWeight": weight,
                "DesiredWeight": weight,
                "CurrentInstanceCount": count,
                "DesiredInstanceCount": count,
            }
        )
    return summaries or list(response.get("ProductionVariants", []))


def _patches(services: LocalServices) -> Patches:
    endpoints = services.endpoints
    yield replace(SageMakerResponse, "create_endpoint", _create_endpoint(endpoints))
    yield replace(SageMakerResponse, "update_endpoint", _update_endpoint(endpoints), create=True)
    yield replace(
        SageMakerModelBackend,
        "delete_endpoint",
        _delete_endpoint(endpoints, SageMakerModelBackend.delete_endpoint),
    )
    yield replace(
        SageMakerModelBackend,
        "describe_endpoint",
        _describe_endpoint(endpoints, SageMakerModelBackend.describe_endpoint),
    )


EMULATION = Emulation(
    name="sagemaker_endpoints",
    moto_does=(
        "stores an endpoint as InService at once, serves nothing, has no UpdateEndpoint; "
        "DeleteEndpoint forgets only its record"
    ),
    aws_does=(
        "Creating/Updating, then InService on the new config; an update shifts traffic as its "
        "DeploymentConfig says (all at once, canary, linear, rolling) and rolls back to the old config "
        "(InService, FailureReason) when the new fleet fails or an alarm fires during a bake; a failed "
        "creation ends Failed; an instance type change of a variant registered for autoscaling is "
        "refused; the model serves requests until DeleteEndpoint"
    ),
    patches=_patches,
)
