"""Workarounds for places where moto behaves differently from AWS: one module per gap.

Each module is named after its gap, says what moto does and what AWS does, and names the moto
versions known to have the gap. ``tests/unit/mlops_local/engine/moto_compat/test_<name>.py`` shows
that stock moto still has the gap (so an upgrade that fixes it fails there, and the module can be
deleted) and that the workaround alone closes it. The modules never import each other.
"""

from __future__ import annotations

from mlops_local.engine.moto_compat import (
    application_autoscaling_policies_outlive_targets,
    backend_lookup_scans_every_service,
    context_start_time_not_a_string,
    dynamodb_writes_not_atomic,
    fail_state_refuses_states_errors,
    glue_sync_interrupt_all,
    iam_policy_without_version,
    jsonata_not_evaluated,
    s3_eventbridge_event_shape,
    sagemaker_create_model_overwrites,
    sagemaker_sync_unsupported,
    sqs_receive_counts_the_queue,
    sqs_send_counts_the_queue,
    sync_task_stopped_at_start,
    update_model_package_drops_metadata,
)
from mlops_local.engine.moto_compat.registry import (
    MotoVersionMismatch,
    Workaround,
    check_moto_version,
    installed_moto_version,
)

# In the order they are applied (and undone in reverse): the Glue and SageMaker integrations wrap
# the same service factory.
WORKAROUNDS: dict[str, Workaround] = {
    workaround.name: workaround
    for workaround in (
        backend_lookup_scans_every_service.WORKAROUND,
        iam_policy_without_version.WORKAROUND,
        glue_sync_interrupt_all.WORKAROUND,
        sagemaker_sync_unsupported.WORKAROUND,
        sync_task_stopped_at_start.WORKAROUND,
        update_model_package_drops_metadata.WORKAROUND,
        s3_eventbridge_event_shape.WORKAROUND,
        dynamodb_writes_not_atomic.WORKAROUND,
        sqs_receive_counts_the_queue.WORKAROUND,
        sqs_send_counts_the_queue.WORKAROUND,
        context_start_time_not_a_string.WORKAROUND,
        jsonata_not_evaluated.WORKAROUND,
        fail_state_refuses_states_errors.WORKAROUND,
        sagemaker_create_model_overwrites.WORKAROUND,
        application_autoscaling_policies_outlive_targets.WORKAROUND,
    )
}

__all__ = ["WORKAROUNDS", "MotoVersionMismatch", "Workaround", "check_moto_version", "installed_moto_version"]
