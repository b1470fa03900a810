"""glue:startJobRun.sync: moto fails every run; the workaround waits for it and outputs JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from mlops_local.engine.moto_compat._step_functions import json_safe
from mlops_local.engine.moto_compat.glue_sync_interrupt_all import WORKAROUND
from tests.unit.mlops_local.engine.conftest import ROLE, client, run_state_machine, task

GLUE = task("arn:aws:states:::glue:startJobRun.sync", {"JobName": "prepare", "Arguments.$": "$.args"})


def _glue_job() -> None:
    client("glue").create_job(
        Name="prepare", Role=ROLE, Command={"Name": "glueetl", "ScriptLocation": "s3://c/p.py"}
    )


def test_stock_glue_sync_fails_with_a_runtime_error(stock: None) -> None:
    _glue_job()
    described = run_state_machine(GLUE, {"args": {}})
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"
    assert "interrupt_all" in described["cause"]


def test_stock_get_job_run_answers_datetimes(stock: None) -> None:
    _glue_job()
    run_id = client("glue").start_job_run(JobName="prepare")["JobRunId"]
    run = client("glue").get_job_run(JobName="prepare", RunId=run_id)["JobRun"]
    assert isinstance(run["CompletedOn"], datetime)


def test_the_workaround_alone_waits_for_the_run_and_outputs_epoch_millis(apply: Callable[..., None]) -> None:
    apply(WORKAROUND)
    _glue_job()
    described = run_state_machine(GLUE, {"args": {"--dataset_version": "v1"}})
    assert described["status"] == "SUCCEEDED"
    run = json.loads(described["output"])
    assert run["JobRunState"] == "SUCCEEDED"  # stock moto's run: it ends at once
    assert isinstance(run["CompletedOn"], int)


def test_json_safe_turns_datetimes_into_epoch_millis() -> None:
    assert json_safe({"a": [datetime(2026, 1, 1, tzinfo=UTC)]}) == {"a": [1767225600000]}
