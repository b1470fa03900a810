"""SageMaker endpoints that deploy (through the endpoint lifecycle), with ``UpdateEndpoint``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from mlops_local.engine.emulation.registry import Emulation, LocalServices
from mlops_local.engine.jobs import EndpointLifecycle
from mlops_local.engine.patching import Patches, replace


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
        endpoints.update(name, config)
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
        if record.failure_reason:
            response["FailureReason"] = record.failure_reason
        else:
            response.pop("FailureReason", None)
        return response

    return describe


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
        "Creating/Updating, then InService on the new config; a failed update rolls back to the old "
        "config (InService, FailureReason), a failed creation ends Failed; the model serves requests "
        "until DeleteEndpoint"
    ),
    patches=_patches,
)
