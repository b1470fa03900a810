"""Create the endpoint, or move it to a new config with a blue/green update (canary where it fits)."""

from __future__ import annotations

import unicodedata
from typing import Any

from mlops_common.domain.cost_tags import cost_allocation_tags
from mlops_common.domain.deployment import (
    VARIANT_NAME,
    blue_green_deployment_config,
    data_capture_config,
    endpoint_config_name,
)
from mlops_common.models import DeployInput, DeployOutput
from mlops_common.observability import logger
from mlops_common.ports import Endpoints
from mlops_common.settings import DeploySettings

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
    request: DeployInput, config_name: str, settings: DeploySettings
) -> dict[str, Any]:
    """The CreateEndpointConfig request: one variant, data capture on, KMS when configured."""
    body: dict[str, Any] = {
        "EndpointConfigName": config_name,
        "ProductionVariants": [
            {
                "VariantName": VARIANT_NAME,
                "ModelName": request.model_name,
                "InstanceType": settings.endpoint_instance_type,
                "InitialInstanceCount": settings.endpoint_instance_count,
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


def deploy_model(request: DeployInput, *, sagemaker: Endpoints, settings: DeploySettings) -> DeployOutput:
    """Never deletes the previous config: VerifyDeployment compares against it to catch rollbacks."""
    config_name = endpoint_config_name(request.model_name, request.execution_name)
    # A retried task finds its own config already there: reuse it rather than fail.
    if not sagemaker.endpoint_config_exists(config_name):
        sagemaker.create_endpoint_config(endpoint_config_request(request, config_name, settings))

    endpoint = sagemaker.describe_endpoint(settings.endpoint_name)
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
    if previous != config_name:
        sagemaker.update_endpoint(
            settings.endpoint_name,
            config_name,
            blue_green_deployment_config(
                settings.endpoint_instance_count,
                settings.canary_traffic_percent,
                settings.canary_wait_seconds,
                settings.alarm_names,
            ),
        )
    logger.info(
        "endpoint update started", endpoint=settings.endpoint_name, config=config_name, previous=previous
    )
    return DeployOutput(
        endpoint_name=settings.endpoint_name,
        endpoint_config_name=config_name,
        previous_endpoint_config_name=previous,
        action="update",
    )
