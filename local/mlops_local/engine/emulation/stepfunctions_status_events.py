"""Step Functions' ``Execution Status Change`` events, emitted when a standard execution ends.

AWS sends them to the default bus by itself; rules react to runs ending (the template's
``TrainingRunEndedRule``). Only the terminal statuses are emitted, to the stack's Lambda and state
machine targets (``EventTargets``), as ``LocalRuntime.emit_event`` delivers service events.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, SyncExecution

from mlops_local.engine.emulation.registry import Emulation, LocalServices
from mlops_local.engine.eventbridge import eventbridge_event
from mlops_local.engine.patching import Patches, replace


def _epoch_millis(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


def status_change_event(execution: Any) -> dict[str, Any]:
    """The event for an ended execution, field for field as Step Functions documents it."""
    status = str(getattr(execution.exec_status, "value", execution.exec_status))
    succeeded = status == "SUCCEEDED"
    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": status,
        "startDate": _epoch_millis(execution.start_date),
        "stopDate": _epoch_millis(execution.stop_date),
        "input": json.dumps(execution.input_data),
        "output": json.dumps(execution.output) if succeeded else None,
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if succeeded else None,
        "error": execution.error,
        "cause": execution.cause,
    }
    return eventbridge_event(
        "aws.states", "Step Functions Execution Status Change", detail, [execution.exec_arn]
    )


def _patches(services: LocalServices) -> Patches:
    stock_terminated = BaseExecutionWorkerCommunication.terminated

    def terminated(communication: BaseExecutionWorkerCommunication) -> None:
        stock_terminated(communication)
        execution = communication.execution
        targets = services.event_targets
        if targets is not None and not isinstance(execution, SyncExecution):  # express: no events
            targets.dispatch(status_change_event(execution))

    yield replace(BaseExecutionWorkerCommunication, "terminated", terminated)


EMULATION = Emulation(
    name="stepfunctions_status_events",
    moto_does="emits no event when an execution ends",
    aws_does=(
        "sends 'Step Functions Execution Status Change' to the default bus for each standard execution "
        "(RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED)"
    ),
    patches=_patches,
)
