"""``glue:startJobRun.sync`` fails on every run, then on GetJobRun's timestamps."""

from __future__ import annotations

from typing import Any

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback as callback_service,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_glue,
)
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

from mlops_local.engine.moto_compat._step_functions import SYNC_AND_TOKEN, json_safe, service_integration
from mlops_local.engine.moto_compat.registry import Workaround
from mlops_local.engine.patching import Patches


class GlueSyncService(state_task_service_glue.StateTaskServiceGlue):
    """moto's Glue integration with a callback endpoint and JSON-safe outputs."""

    def __init__(self) -> None:
        callback_service.StateTaskServiceCallback.__init__(
            self, supported_integration_patterns=SYNC_AND_TOKEN
        )

    @staticmethod
    def _get_glue_client(resource_runtime_part: Any, state_credentials: Any) -> Any:
        client = boto_client_for(
            region=resource_runtime_part.region, service="glue", state_credentials=state_credentials
        )
        return _JsonSafeGlueClient(client)


class _JsonSafeGlueClient:
    """A Glue client whose GetJobRun answers carry epoch-millisecond timestamps."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def get_job_run(self, **kwargs: Any) -> Any:
        return json_safe(self._client.get_job_run(**kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _patches() -> Patches:
    return service_integration("glue", GlueSyncService)


WORKAROUND = Workaround(
    name="glue_sync_interrupt_all",
    moto_does=(
        "lists only the Sync pattern for Glue, so no callback endpoint exists and every .sync run fails "
        "with States.Runtime \"'NoneType' object has no attribute 'interrupt_all'\"; past that, "
        "GetJobRun's datetimes in the state output make DescribeExecution fail (not JSON serializable)"
    ),
    aws_does=(
        "waits for the job run and outputs GetJobRun's JobRun, timestamps as epoch milliseconds "
        "(States.TaskFailed on a failed run)"
    ),
    applies_to="==5.2.5",
    patches=_patches,
)
