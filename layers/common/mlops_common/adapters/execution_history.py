"""Reading an execution's history (Step Functions GetExecutionHistory)."""

from __future__ import annotations

from typing import Any

from mlops_common.adapters import aws


class ExecutionHistoryReader:
    """Implements ``ports.ExecutionHistories``."""

    def __init__(self, sfn_client: Any | None = None) -> None:
        self._client = sfn_client

    @property
    def client(self) -> Any:
        return self._client or aws.client("stepfunctions")

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        # includeExecutionData: the failed task's parameters name its job (and so its logs).
        pages = self.client.get_paginator("get_execution_history").paginate(
            executionArn=execution_arn, includeExecutionData=True
        )
        return [event for page in pages for event in page["events"]]
