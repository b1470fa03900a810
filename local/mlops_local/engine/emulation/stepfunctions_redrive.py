"""Step Functions' ``RedriveExecution``: a failed run resumes at the step that failed.

AWS: "When you redrive an execution, it continues the failed execution from the unsuccessful step
and uses the same input. Step Functions preserves the results and execution history of the
successful steps, and doesn't rerun these steps [...] Redriven executions use the same state
machine definition and execution ARN as the original execution attempt."
(https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html)

Played here on moto's own ASL interpreter: the unsuccessful step is the state that was entered and
never exited; a new worker runs the same definition from that state with the input it had, on the
same execution (same ARN, one history that goes on with an ``ExecutionRedriven`` event), and
``DescribeExecution`` reports ``redriveCount``/``redriveDate``. The machines here hold no Map or
Parallel state, the only ones AWS redrives partially; a definition with one is refused rather than
redriven wrongly.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.stepfunctions.parser.api import ExecutionStatus, HistoryEventType
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.backend.execution import Execution, SyncExecution
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.responses import StepFunctionResponse

from mlops_local.engine.emulation.registry import Emulation, LocalServices
from mlops_local.engine.eventbridge import eventbridge_event
from mlops_local.engine.patching import Patches, replace

REDRIVABLE_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")


class ExecutionNotRedrivableError(Exception):
    """AWS's ``ExecutionNotRedrivable``, with the reason AWS gives in ``redriveStatusReason``."""


def unsuccessful_step(history: list[dict[str, Any]]) -> tuple[str, Any]:
    """The state entered last and never exited, and the input it was entered with."""
    open_states: dict[str, Any] = {}
    order: list[str] = []
    for event in history:
        entered = event.get("stateEnteredEventDetails")
        exited = event.get("stateExitedEventDetails")
        if entered is not None:
            open_states[entered["name"]] = entered.get("input")
            order.append(entered["name"])
        elif exited is not None:
            open_states.pop(exited["name"], None)
    for name in reversed(order):
        if name in open_states:
            raw = open_states[name]
            return name, json.loads(raw) if isinstance(raw, str) else raw
    raise ExecutionNotRedrivableError("Execution has no unsuccessful state to redrive.")


def assigned_variables(history: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Every workflow variable's last assigned value, from the ``assignedVariables`` (JSON text)
    the history records as each state exits."""
    variables: dict[str, Any] = {}
    for event in history:
        exited: Mapping[str, Any] = event.get("stateExitedEventDetails") or {}
        for name, value in (exited.get("assignedVariables") or {}).items():
            variables[name] = json.loads(value)
    return variables


def _status(execution: Execution) -> str:
    return str(getattr(execution.exec_status, "value", execution.exec_status))


def redrive_status(execution: Execution) -> tuple[str, str | None]:
    """``redriveStatus`` and ``redriveStatusReason`` as DescribeExecution reports them."""
    status = _status(execution)
    if status in REDRIVABLE_STATUSES:
        return "REDRIVABLE", None
    return "NOT_REDRIVABLE", f"Execution is {status} and cannot be redriven."


class _RedriveWorker(ExecutionWorker):
    """Runs the execution's definition from ``resume_at``, appending to the execution's history."""

    def __init__(self, base: ExecutionWorker, *, resume_at: str, state_input: Any, redrive_count: int):
        super().__init__(
            evaluation_details=base._evaluation_details,
            exec_comm=base._execution_communication,
            cloud_watch_logging_session=base._cloud_watch_logging_session,
            activity_store=base._activity_store,
        )
        self._previous_env = base.env
        self._resume_at = resume_at
        self._state_input = state_input
        self._redrive_count = redrive_count

    def _execution_logic(self) -> None:
        program = AmazonStateLanguageParser.parse(self._resume_definition())[0]
        self.env = self._get_evaluation_environment()
        previous = self._previous_env
        if previous is not None:
            # One history for all attempts: event ids go on where the failed attempt stopped.
            self.env.event_manager = previous.event_manager
            last_id = max((event["id"] for event in previous.event_manager.get_event_history()), default=0)
            self.env.event_history_context = EventHistoryContext(previous_event_id=last_id)  # type: ignore[misc]
        # The workflow variables as the failed attempt left them: a redrive "preserves the results
        # of the successful steps", and with JSONata those results live in variables, not only in
        # the failed state's input.
        history = cast(list[dict[str, Any]], self.env.event_manager.get_event_history())
        for name, value in assigned_variables(history).items():
            self.env.variable_store.set(name, value)
        execution_context = self.env.states.context_object.context_object_data["Execution"]
        execution_context["RedriveCount"] = self._redrive_count  # type: ignore[typeddict-unknown-key]
        self.env.states.reset(input_value=self._state_input)
        self.env.event_manager.add_event(
            context=self.env.event_history_context,
            event_type=HistoryEventType.ExecutionRedriven,
            event_details=cast(
                EventDetails, {"executionRedrivenEventDetails": {"redriveCount": self._redrive_count}}
            ),
            update_source_event_id=False,
        )
        program.eval(self.env)
        self._execution_communication.terminated()

    def _resume_definition(self) -> str:
        definition = json.loads(self._evaluation_details.state_machine_details.definition)
        if any(state.get("Type") in ("Map", "Parallel") for state in definition["States"].values()):
            raise ExecutionNotRedrivableError("Redriving Map and Parallel states is not emulated.")
        resumed = copy.deepcopy(definition)
        resumed["StartAt"] = self._resume_at
        return json.dumps(resumed)


def redrive(execution: Execution, now: datetime) -> datetime:
    """Resume ``execution`` at its unsuccessful step; the redrive date."""
    if isinstance(execution, SyncExecution):
        raise ExecutionNotRedrivableError("Express executions cannot be redriven.")
    status, reason = redrive_status(execution)
    if status != "REDRIVABLE":
        raise ExecutionNotRedrivableError(reason or "Execution cannot be redriven.")
    worker = execution.exec_worker
    if worker is None or worker.env is None:
        raise ExecutionNotRedrivableError("Execution has no history to redrive.")
    history = cast(list[dict[str, Any]], worker.env.event_manager.get_event_history())
    resume_at, state_input = unsuccessful_step(history)
    redrive_count = getattr(execution, "redrive_count", 0) + 1
    new_worker = _RedriveWorker(
        worker, resume_at=resume_at, state_input=state_input, redrive_count=redrive_count
    )
    new_worker._resume_definition()  # refuse before anything changes
    execution.redrive_count = redrive_count  # type: ignore[attr-defined]
    execution.redrive_date = now  # type: ignore[attr-defined]
    execution.exec_status = ExecutionStatus.RUNNING
    execution.stop_date = None
    execution.error = None
    execution.cause = None
    execution.exec_worker = new_worker
    new_worker.start()
    return now


def redriven_event(execution: Execution) -> dict[str, Any]:
    """The status change a redrive sends: the same execution, RUNNING again, with its redrive count."""
    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": "RUNNING",
        "startDate": int(execution.start_date.timestamp() * 1000),
        "stopDate": None,
        "input": json.dumps(execution.input_data),
        "output": None,
        "inputDetails": {"included": True},
        "outputDetails": None,
        "error": None,
        "cause": None,
        "redriveCount": getattr(execution, "redrive_count", 0),
    }
    return eventbridge_event(
        "aws.states", "Step Functions Execution Status Change", detail, [execution.exec_arn]
    )


def _redrive_execution(services: LocalServices) -> Callable[..., Any]:
    def handler(response_self: StepFunctionResponse) -> Any:
        arn = response_self._get_param("executionArn")
        # The parser backend (moto's ASL engine) answers with its own Execution class.
        execution = cast(Execution, response_self.stepfunction_backend.describe_execution(arn))
        try:
            redrive_date = redrive(execution, datetime.now(UTC))
        except ExecutionNotRedrivableError as error:
            raise JsonRESTError("ExecutionNotRedrivable", str(error)) from error
        targets = services.event_targets
        if targets is not None:
            targets.dispatch(redriven_event(execution))
        return ActionResult({"redriveDate": redrive_date})

    return handler


def _describe_execution(original: Callable[..., Any]) -> Callable[..., Any]:
    def describe(response_self: StepFunctionResponse) -> Any:
        result = original(response_self)
        execution = cast(
            Execution,
            response_self.stepfunction_backend.describe_execution(response_self._get_param("executionArn")),
        )
        status, reason = redrive_status(execution)
        extra: dict[str, Any] = {
            "redriveCount": getattr(execution, "redrive_count", 0),
            "redriveStatus": status,
        }
        if reason:
            extra["redriveStatusReason"] = reason
        if getattr(execution, "redrive_date", None) is not None:
            extra["redriveDate"] = execution.redrive_date  # type: ignore[attr-defined]
        if _status(execution) == "RUNNING":
            result.result.pop("stopDate", None)
        return ActionResult({**result.result, **extra})

    return describe


def _patches(services: LocalServices) -> Patches:
    yield replace(StepFunctionResponse, "redrive_execution", _redrive_execution(services), create=True)
    yield replace(
        StepFunctionResponse,
        "describe_execution",
        _describe_execution(StepFunctionResponse.describe_execution),
    )


EMULATION = Emulation(
    name="stepfunctions_redrive",
    moto_does="has no RedriveExecution: a failed execution can only be started again from the top",
    aws_does=(
        "redrives a failed, timed-out or aborted standard execution from its unsuccessful step, with the "
        "same ARN and input, keeping the successful steps and counting redrives in DescribeExecution"
    ),
    patches=_patches,
)
