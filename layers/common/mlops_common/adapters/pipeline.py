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

    def running_executions(self) -> list[str]:
        """Names of the executions running now (one page is enough to know "any")."""
        response = self.client.list_executions(
            stateMachineArn=self.state_machine_arn, statusFilter="RUNNING", maxResults=10
        )
        return [execution["name"] for execution in response.get("executions", [])]

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
