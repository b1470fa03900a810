"""Create the endpoint, or move it to a new config with the template's deployment style.

Every update is guarded by the alarms (auto-rollback), whatever its style: blue/green all at once,
canary or linear, or rolling (``domain.deployment.DeploymentPolicy``). The deployment and scaling
parameters are checked before any AWS call: a combination SageMaker would refuse fails the Deploy
step with ``InvalidDeploymentConfiguration`` naming the parameters.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Literal

from mlops_common.domain.autoscaling import live_desired_count, variant_of
from mlops_common.domain.cost_tags import cost_allocation_tags
from mlops_common.domain.deployment import (
    VARIANT_NAME,
    EndpointBusy,
    InvalidDeploymentConfiguration,
    data_capture_config,
    endpoint_config_name,
)
from mlops_common.models import DeployInput, DeployOutput
from mlops_common.observability import logger
from mlops_common.ports import Endpoints, ScalableTargets
from mlops_common.services.autoscaling import release_for_update
from mlops_common.settings import DeploySettings

# DescribeEndpoint's EndpointStatus values during which UpdateEndpoint is refused
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html).
_IN_PROGRESS = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})

# SageMaker's Tag (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Tag.html): a value
# matches ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$ and has at most 256 characters; anything else fails the
# whole CreateEndpointConfig call.
_TAG_VALUE_MAX = 256
_TAG_VALUE_PUNCTUATION = frozenset("_.:/=+-@")


def sagemaker_tag_value(text: str) -> str:
    """``text`` as a SageMaker tag value: letters, separators, digits and ``_.:/=+-@``, others as ``_``."""
    return "".join(
        char if unicodedata.category(char)[0] in "LZN" or char in _TAG_VALUE_PUNCTUATION else "_"
        for char in text[:_TAG_VALUE_MAX]
    )


def endpoint_config_request(
    request: DeployInput, config_name: str, settings: DeploySettings, instance_count: int | None = None
) -> dict[str, Any]:
    """The CreateEndpointConfig request: one variant, data capture on, KMS when configured.

    ``instance_count``: the new fleet (``ScalingRange.fleet_for_update``); ``EndpointInstanceCount``
    when not given.
    """
    body: dict[str, Any] = {
        "EndpointConfigName": config_name,
        "ProductionVariants": [
            {
                "VariantName": VARIANT_NAME,
                "ModelName": request.model_name,
                "InstanceType": settings.endpoint_instance_type,
                "InitialInstanceCount": instance_count or settings.endpoint_instance_count,
                "InitialVariantWeight": 1.0,
            }
        ],
        "DataCaptureConfig": data_capture_config(
            settings.artifacts_bucket, settings.data_capture_percent, settings.kms_key_arn
        ),
        "Tags": [
            {"Key": tag["Key"], "Value": sagemaker_tag_value(tag["Value"])}
            for tag in cost_allocation_tags(settings.environment, request.execution_name)
        ],
    }
    if settings.kms_key_arn:
        body["KmsKeyId"] = settings.kms_key_arn
    return body


def _check_polling_budget(request: DeployInput, settings: DeploySettings, fleet: int) -> None:
    """Refuse an update the state machine would stop waiting for (EndpointNotReady mid-update)."""
    if request.endpoint_poll_seconds is None or request.endpoint_max_polls is None:
        return
    problem = settings.deployment_policy.polling_problem(
        fleet, request.endpoint_poll_seconds, request.endpoint_max_polls
    )
    if problem:
        raise InvalidDeploymentConfiguration(problem)


def deploy_model(
    request: DeployInput, *, sagemaker: Endpoints, scaling: ScalableTargets, settings: DeploySettings
) -> DeployOutput:
    """Never deletes the previous config: CheckEndpointStatus compares against it to catch rollbacks."""
    settings.validate_deployment()
    config_name = endpoint_config_name(request.model_name, request.execution_name)
    endpoint = sagemaker.describe_endpoint(settings.endpoint_name)
    # A retried task finds its own config already there: reuse it rather than fail.
    new_config = sagemaker.describe_endpoint_config(config_name)
    if new_config is None:
        fleet = settings.scaling.fleet_for_update(live_desired_count(endpoint) if endpoint else None)
        new_config = endpoint_config_request(request, config_name, settings, fleet)
        sagemaker.create_endpoint_config(new_config)

    if endpoint is None:
        # The endpoint outlives this run: tagged by project and environment, not by execution.
        sagemaker.create_endpoint(
            settings.endpoint_name, config_name, cost_allocation_tags(settings.environment)
        )
        logger.info("endpoint created", endpoint=settings.endpoint_name, config=config_name)
        return DeployOutput(
            endpoint_name=settings.endpoint_name, endpoint_config_name=config_name, action="create"
        )

    previous = endpoint.get("EndpointConfigName")
    pending = (endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
    autoscaling: Literal["none", "kept", "deregistered"] = "none"
    if config_name not in (previous, pending):
        status = str(endpoint.get("EndpointStatus", ""))
        if status in _IN_PROGRESS:
            raise EndpointBusy(
                f"endpoint {settings.endpoint_name} is {status} (an autoscaling activity or another "
                "update): SageMaker refuses UpdateEndpoint until it is InService; redrive the execution "
                "once it is"
            )
        new_variant = variant_of(new_config) or {}
        fleet = int(new_variant.get("InitialInstanceCount", settings.endpoint_instance_count))
        _check_polling_budget(request, settings, fleet)
        autoscaling = release_for_update(
            settings.endpoint_name,
            sagemaker.describe_endpoint_config(previous) if previous else None,
            str(new_variant.get("InstanceType", settings.endpoint_instance_type)),
            scaling=scaling,
        )
        sagemaker.update_endpoint(
            settings.endpoint_name,
            config_name,
            settings.deployment_policy.deployment_config(fleet, settings.alarm_names),
        )
    logger.info(
        "endpoint update started",
        endpoint=settings.endpoint_name,
        config=config_name,
        previous=previous,
        deployment_style=settings.deployment_style,
        autoscaling=autoscaling,
    )
    return DeployOutput(
        endpoint_name=settings.endpoint_name,
        endpoint_config_name=config_name,
        previous_endpoint_config_name=previous,
        action="update",
        autoscaling=autoscaling,
    )
