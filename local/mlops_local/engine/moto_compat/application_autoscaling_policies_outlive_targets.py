"""Application Auto Scaling: scaling policies live on without their scalable target.

moto keeps a target's scaling policies when the target is deregistered, accepts a policy for a
target that was never registered, and answers the deregistration of an unknown target with
ValidationException. AWS deletes the policies and scheduled actions with the target, and answers
both other calls with ObjectNotFoundException
(https://docs.aws.amazon.com/autoscaling/application/APIReference/API_DeregisterScalableTarget.html,
https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScalingPolicy.html). The
Deploy step deregisters the endpoint variant before an instance type change: what the runtime then
reports of the variant's scaling must be what AWS would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.applicationautoscaling.models import ApplicationAutoscalingBackend
from moto.core.exceptions import JsonRESTError

from mlops_local.engine.moto_compat.registry import Workaround
from mlops_local.engine.patching import Patches, replace


class ObjectNotFoundException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("ObjectNotFoundException", message)


def _target(namespace: str, resource_id: str, dimension: str) -> str:
    return f"service namespace: {namespace}, resource ID: {resource_id}, scalable dimension: {dimension}"


def deregister_with_its_policies(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``deregister_scalable_target``: the target's policies and scheduled actions go with it."""

    def deregister(backend: ApplicationAutoscalingBackend, namespace: str, r_id: str, dimension: str) -> None:
        if r_id not in backend.targets.get(dimension, {}):
            raise ObjectNotFoundException(
                f"No scalable target found for {_target(namespace, r_id, dimension)}"
            )
        original(backend, namespace, r_id, dimension)
        for key, policy in list(backend.policies.items()):
            if (policy.service_namespace, policy.resource_id, policy.scalable_dimension) == (
                namespace,
                r_id,
                dimension,
            ):
                policy.delete_alarms(backend.account_id, backend.region_name)
                del backend.policies[key]
        backend.scheduled_actions = [
            action
            for action in backend.scheduled_actions
            if (action.service_namespace, action.resource_id, action.scalable_dimension)
            != (namespace, r_id, dimension)
        ]

    return deregister


def policy_needs_its_target(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``put_scaling_policy``: a policy of an unregistered target is refused as AWS refuses it."""

    def put_scaling_policy(backend: ApplicationAutoscalingBackend, *args: Any, **kwargs: Any) -> Any:
        namespace = kwargs.get("service_namespace", "")
        resource_id = kwargs.get("resource_id", "")
        dimension = kwargs.get("scalable_dimension", "")
        if resource_id not in backend.targets.get(dimension, {}):
            raise ObjectNotFoundException(
                f"No scalable target registered for {_target(namespace, resource_id, dimension)}"
            )
        return original(backend, *args, **kwargs)

    return put_scaling_policy


def _patches() -> Patches:
    yield replace(
        ApplicationAutoscalingBackend,
        "deregister_scalable_target",
        deregister_with_its_policies(ApplicationAutoscalingBackend.deregister_scalable_target),
    )
    yield replace(
        ApplicationAutoscalingBackend,
        "put_scaling_policy",
        policy_needs_its_target(ApplicationAutoscalingBackend.put_scaling_policy),
    )


WORKAROUND = Workaround(
    name="application_autoscaling_policies_outlive_targets",
    moto_does=(
        "keeps a deregistered target's scaling policies, accepts a policy for an unregistered target, "
        "answers the deregistration of an unknown target with ValidationException"
    ),
    aws_does=(
        "deregistering a target deletes its policies and scheduled actions; the other two are "
        'ObjectNotFoundException ("No scalable target registered for service namespace: ...")'
    ),
    applies_to="==5.2.5",
    patches=_patches,
)
