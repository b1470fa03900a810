"""Autoscaling of the endpoint's variant around deployments (Application Auto Scaling).

- ``release_for_update`` (Deploy, before UpdateEndpoint): SageMaker refuses an update that changes
  the instance type of a variant registered as a scalable target, so such a variant is deregistered
  first; an update of the model alone keeps it
  (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html).
- ``ensure_autoscaling`` (EnsureMonitoring, once the endpoint serves the new config): registers the
  variant with the template's range and puts the target tracking policy, every deploy, so a changed
  range, target or cooldown reaches the endpoint and a deregistered variant is registered again;
  with autoscaling turned off, a target left from before is removed.
"""

from __future__ import annotations

from typing import Any, Literal

from mlops_common.domain.autoscaling import (
    ScalingRange,
    scalable_target_request,
    scaling_policy_request,
    update_blocked_by_scaling,
    variant_resource_id,
)
from mlops_common.observability import logger
from mlops_common.ports import ScalableTargets


def release_for_update(
    endpoint_name: str,
    current_config: dict[str, Any] | None,
    new_instance_type: str,
    *,
    scaling: ScalableTargets,
) -> Literal["none", "kept", "deregistered"]:
    """Deregister the variant when the coming update changes what autoscaling is bound to."""
    resource_id = variant_resource_id(endpoint_name)
    if scaling.scalable_target(resource_id) is None:
        return "none"
    if not update_blocked_by_scaling(current_config, new_instance_type):
        return "kept"
    scaling.deregister_scalable_target(resource_id)
    logger.info(
        "autoscaling deregistered for an instance type change; EnsureMonitoring registers it again",
        endpoint=endpoint_name,
        resource_id=resource_id,
        instance_type=new_instance_type,
    )
    return "deregistered"


def ensure_autoscaling(
    endpoint_name: str, scaling_range: ScalingRange, *, scaling: ScalableTargets
) -> Literal["registered", "deregistered", "off"]:
    """Bring the variant's scalable target and policy in line with ``scaling_range``."""
    scaling_range.validate()
    resource_id = variant_resource_id(endpoint_name)
    if not scaling_range.enabled:
        if scaling.scalable_target(resource_id) is None:
            return "off"
        scaling.deregister_scalable_target(resource_id)
        logger.info("autoscaling turned off: scalable target deregistered", resource_id=resource_id)
        return "deregistered"
    scaling.register_scalable_target(scalable_target_request(endpoint_name, scaling_range))
    scaling.put_scaling_policy(scaling_policy_request(endpoint_name, scaling_range))
    logger.info(
        "autoscaling registered",
        resource_id=resource_id,
        min_instances=scaling_range.minimum,
        max_instances=scaling_range.maximum,
        target_invocations_per_instance=scaling_range.target_invocations,
    )
    return "registered"
