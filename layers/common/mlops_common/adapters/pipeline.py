"""Starting the training pipeline (Step Functions)."""

from __future__ import annotations

from typing import Any

from mlops_common.adapters import aws
from mlops_common.models import PipelineExecutionInput
from mlops_common.ports import StartResult


class TrainingPipeline:
    """Implements ``ports.TrainingRuns``."""

    def __init__(self, state_machine_arn: str, sfn_client: Any | None = None) -> None:
        self.state_machine_arn = state_machine_arn
        self._client = sfn_client

    @property
    def client(self) -> Any:
        return self._client or aws.client("stepfunctions")

    def status(self, name: str) -> str | None:
        """The status of execution ``name``; None if it does not exist."""
        # arn:aws:states:<region>:<account>:stateMachine:<sm> -> ...:execution:<sm>:<name>
        execution_arn = self.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
        try:
            response = self.client.describe_execution(executionArn=execution_arn)
        except Exception as exc:
            if aws.error_code(exc) == "ExecutionDoesNotExist":
                return None
            raise
        return str(response["status"])

    def _execution_arn(self, name: str) -> str:
        # arn:aws:states:<region>:<account>:stateMachine:<sm> -> ...:execution:<sm>:<name>
        return self.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"

    def stop(self, name: str, error: str, cause: str) -> None:
        """StopExecution; the execution ends ABORTED with ``error`` and ``cause``."""
        self.client.stop_execution(executionArn=self._execution_arn(name), error=error, cause=cause)

    def start(self, name: str, execution_input: PipelineExecutionInput) -> StartResult:
        """Start ``name``; ExecutionAlreadyExists means this window already ran: success."""
        try:
            self.client.start_execution(
                stateMachineArn=self.state_machine_arn,
                name=name,
                input=execution_input.model_dump_json(exclude_none=True),
            )
        except Exception as exc:
            if aws.error_code(exc) == "ExecutionAlreadyExists":
                return StartResult(execution_name=name, started=False)
            raise
        return StartResult(execution_name=name, started=True)
