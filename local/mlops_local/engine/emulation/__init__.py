"""AWS features moto does not have and is not meant to have, played in process: one module each.

In-process Lambda, jobs and endpoints that run, monitoring schedules, fault injection, delivery to
Lambda and state machine targets, Step Functions' status change events. Each module registers one
``Emulation``; the runtime applies them all unless told otherwise, and each can be switched off
alone. The modules never import each other.
"""

from __future__ import annotations

from mlops_local.engine.emulation import (
    botocore_environment_lock,
    eventbridge_targets,
    glue_job_runs,
    iam_enforcement,
    lambda_invoke,
    sagemaker_endpoints,
    sagemaker_jobs,
    sagemaker_monitoring_schedules,
    sagemaker_tuning_trials,
    stepfunctions_redrive,
    stepfunctions_status_events,
    throttling,
)
from mlops_local.engine.emulation.registry import Emulation, LocalServices

# In the order they are applied (and undone in reverse).
EMULATIONS: dict[str, Emulation] = {
    emulation.name: emulation
    for emulation in (
        botocore_environment_lock.EMULATION,
        iam_enforcement.EMULATION,
        lambda_invoke.EMULATION,
        throttling.EMULATION,
        sagemaker_jobs.EMULATION,
        sagemaker_tuning_trials.EMULATION,
        sagemaker_endpoints.EMULATION,
        sagemaker_monitoring_schedules.EMULATION,
        glue_job_runs.EMULATION,
        eventbridge_targets.EMULATION,
        stepfunctions_status_events.EMULATION,
        stepfunctions_redrive.EMULATION,
    )
}

__all__ = ["EMULATIONS", "Emulation", "LocalServices"]
