"""SageMaker Model Monitor schedules (stored; executions run on demand, ``monitoring_runs``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound
from moto.sagemaker.responses import SageMakerResponse

from mlops_local.engine.emulation.registry import Emulation, LocalServices
from mlops_local.engine.patching import Patches, replace


def _monitoring_methods(schedules: dict[str, dict[str, Any]]) -> dict[str, Callable[..., Any]]:
    def create_monitoring_schedule(response_self: SageMakerResponse) -> Any:
        request = json.loads(response_self.body)
        name = request["MonitoringScheduleName"]
        if name in schedules:
            raise ResourceInUseException(f"Monitoring schedule {name} already exists")
        now = datetime.now(UTC)
        arn = f"arn:aws:sagemaker:us-east-1:123456789012:monitoring-schedule/{name.lower()}"
        config = request["MonitoringScheduleConfig"]
        schedules[name] = {
            "MonitoringScheduleArn": arn,
            "MonitoringScheduleName": name,
            "MonitoringScheduleStatus": "Scheduled",
            "MonitoringType": config.get("MonitoringType", "DataQuality"),
            "CreationTime": now,
            "LastModifiedTime": now,
            "MonitoringScheduleConfig": config,
            "EndpointName": config.get("MonitoringJobDefinition", {})
            .get("MonitoringInputs", [{}])[0]
            .get("EndpointInput", {})
            .get("EndpointName"),
        }
        return ActionResult({"MonitoringScheduleArn": arn})

    def describe_monitoring_schedule(response_self: SageMakerResponse) -> Any:
        name = response_self._get_param("MonitoringScheduleName")
        if name not in schedules:
            raise ResourceNotFound(message=f"Monitoring schedule {name} not found")
        return ActionResult(schedules[name])

    def update_monitoring_schedule(response_self: SageMakerResponse) -> Any:
        request = json.loads(response_self.body)
        name = request["MonitoringScheduleName"]
        if name not in schedules:
            raise ResourceNotFound(message=f"Monitoring schedule {name} not found")
        schedules[name]["MonitoringScheduleConfig"] = request["MonitoringScheduleConfig"]
        schedules[name]["LastModifiedTime"] = datetime.now(UTC)
        return ActionResult({"MonitoringScheduleArn": schedules[name]["MonitoringScheduleArn"]})

    def delete_monitoring_schedule(response_self: SageMakerResponse) -> Any:
        name = response_self._get_param("MonitoringScheduleName")
        if schedules.pop(name, None) is None:
            raise ResourceNotFound(message=f"Monitoring schedule {name} not found")
        return EmptyResult()

    def list_monitoring_schedules(response_self: SageMakerResponse) -> Any:
        endpoint = response_self._get_param("EndpointName")
        summaries = [
            {
                k: s[k]
                for k in (
                    "MonitoringScheduleName",
                    "MonitoringScheduleArn",
                    "CreationTime",
                    "LastModifiedTime",
                    "MonitoringScheduleStatus",
                    "EndpointName",
                )
            }
            for s in schedules.values()
            if endpoint is None or s.get("EndpointName") == endpoint
        ]
        return ActionResult({"MonitoringScheduleSummaries": summaries})

    def list_monitoring_executions(response_self: SageMakerResponse) -> Any:
        name = response_self._get_param("MonitoringScheduleName")
        executions = [
            e
            for s in schedules.values()
            if name in (None, s["MonitoringScheduleName"])
            for e in s.get("Executions", [])
        ]
        return ActionResult({"MonitoringExecutionSummaries": executions})

    return {
        "create_monitoring_schedule": create_monitoring_schedule,
        "describe_monitoring_schedule": describe_monitoring_schedule,
        "update_monitoring_schedule": update_monitoring_schedule,
        "delete_monitoring_schedule": delete_monitoring_schedule,
        "list_monitoring_schedules": list_monitoring_schedules,
        "list_monitoring_executions": list_monitoring_executions,
    }


def _patches(services: LocalServices) -> Patches:
    schedules: dict[str, dict[str, Any]] = {}  # one store per application: per runtime
    for action, handler in _monitoring_methods(schedules).items():
        yield replace(SageMakerResponse, action, handler, create=True)


EMULATION = Emulation(
    name="sagemaker_monitoring_schedules",
    moto_does="has no monitoring schedules (CreateMonitoringSchedule is not implemented)",
    aws_does=(
        "stores the schedule (Scheduled) and starts a processing job every period; "
        "Describe/Update/Delete/List work on it"
    ),
    patches=_patches,
)
