"""Monitoring schedules: missing in moto; the emulation stores them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mlops_local.engine.emulation.sagemaker_monitoring_schedules import EMULATION
from tests.unit.mlops_local.engine.conftest import client

CONFIG = {
    "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
    "MonitoringType": "DataQuality",
    "MonitoringJobDefinitionName": "dq",
}


def test_stock_moto_has_no_monitoring_schedules(stock: None) -> None:
    with pytest.raises(NotImplementedError, match="create_monitoring_schedule"):
        client("sagemaker").create_monitoring_schedule(
            MonitoringScheduleName="s", MonitoringScheduleConfig=CONFIG
        )


def test_the_emulation_alone_stores_schedules(apply: Callable[..., None]) -> None:
    apply(EMULATION)
    sagemaker = client("sagemaker")
    sagemaker.create_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig=CONFIG)
    assert (
        sagemaker.describe_monitoring_schedule(MonitoringScheduleName="s")["MonitoringScheduleStatus"]
        == "Scheduled"
    )
    names = [
        s["MonitoringScheduleName"]
        for s in sagemaker.list_monitoring_schedules()["MonitoringScheduleSummaries"]
    ]
    assert names == ["s"]


def test_the_emulation_alone_updates_and_deletes_them(apply: Callable[..., None]) -> None:
    apply(EMULATION)
    sagemaker = client("sagemaker")
    sagemaker.create_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig=CONFIG)
    with pytest.raises(sagemaker.exceptions.ResourceInUse):
        sagemaker.create_monitoring_schedule(MonitoringScheduleName="s", MonitoringScheduleConfig=CONFIG)
    sagemaker.update_monitoring_schedule(
        MonitoringScheduleName="s", MonitoringScheduleConfig={**CONFIG, "MonitoringJobDefinitionName": "dq2"}
    )
    described = sagemaker.describe_monitoring_schedule(MonitoringScheduleName="s")
    assert described["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"] == "dq2"
    sagemaker.delete_monitoring_schedule(MonitoringScheduleName="s")
    assert sagemaker.list_monitoring_schedules()["MonitoringScheduleSummaries"] == []
