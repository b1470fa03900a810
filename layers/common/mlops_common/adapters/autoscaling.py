"""Application Auto Scaling calls for the endpoint's variant (``ports.ScalableTargets``)."""

from __future__ import annotations

from typing import Any

from mlops_common.adapters import aws
from mlops_common.domain.autoscaling import SCALABLE_DIMENSION, SERVICE_NAMESPACE


class ApplicationAutoScaling:
    """Implements ``ports.ScalableTargets`` for SageMaker endpoint variants."""

    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or aws.client("application-autoscaling")

    def scalable_target(self, resource_id: str) -> dict[str, Any] | None:
        response = self.client.describe_scalable_targets(
            ServiceNamespace=SERVICE_NAMESPACE,
            ResourceIds=[resource_id],
            ScalableDimension=SCALABLE_DIMENSION,
        )
        targets: list[dict[str, Any]] = response.get("ScalableTargets", [])
        return next((target for target in targets if target.get("ResourceId") == resource_id), None)

    def register_scalable_target(self, request: dict[str, Any]) -> None:
        self.client.register_scalable_target(**request)

    def put_scaling_policy(self, request: dict[str, Any]) -> None:
        self.client.put_scaling_policy(**request)

    def deregister_scalable_target(self, resource_id: str) -> bool:
        # "Deregistering a scalable target deletes the scaling policies and the scheduled actions
        # that are associated with it"; a target that does not exist is ObjectNotFoundException
        # (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_DeregisterScalableTarget.html).
        try:
            self.client.deregister_scalable_target(
                ServiceNamespace=SERVICE_NAMESPACE,
                ResourceId=resource_id,
                ScalableDimension=SCALABLE_DIMENSION,
            )
        except Exception as exc:
            if aws.error_code(exc) == "ObjectNotFoundException":
                return False
            raise
        return True
