"""Glue job runs: moto ends them at once; the emulation runs the job through the job lifecycle."""

from __future__ import annotations

import json
from collections.abc import Callable

from mlops_local.engine.emulation import LocalServices
from mlops_local.engine.emulation.glue_job_runs import EMULATION
from mlops_local.engine.moto_compat.glue_sync_interrupt_all import WORKAROUND as GLUE_SYNC
from tests.unit.mlops_local.engine.conftest import ROLE, client, run_state_machine, task

GLUE = task("arn:aws:states:::glue:startJobRun.sync", {"JobName": "prepare", "Arguments.$": "$.args"})


def _glue_job() -> None:
    client("glue").create_job(
        Name="prepare", Role=ROLE, Command={"Name": "glueetl", "ScriptLocation": "s3://c/p.py"}
    )


def _run_state(run_id: str) -> str:
    return str(client("glue").get_job_run(JobName="prepare", RunId=run_id)["JobRun"]["JobRunState"])


def test_stock_job_run_succeeds_at_once_whatever_it_is_asked(stock: None) -> None:
    _glue_job()
    run_id = client("glue").start_job_run(JobName="prepare", Arguments={"--fail": "true"})["JobRunId"]
    assert _run_state(run_id) == "SUCCEEDED"


def test_the_emulation_alone_runs_the_job(apply: Callable[..., None], services: LocalServices) -> None:
    apply(EMULATION)
    _glue_job()
    ok = client("glue").start_job_run(JobName="prepare", Arguments={"--dataset_version": "v1"})["JobRunId"]
    failing = client("glue").start_job_run(JobName="prepare", Arguments={"--fail": "true"})["JobRunId"]
    assert services.jobs.wait_all(timeout=30)
    assert _run_state(ok) == "SUCCEEDED"
    failed = client("glue").get_job_run(JobName="prepare", RunId=failing)["JobRun"]
    assert (failed["JobRunState"], failed["Id"]) == ("FAILED", failing)
    assert failed["ErrorMessage"].startswith("AnalysisException")
    assert [r.request["Arguments"] for r in services.jobs.records("glue")] == [
        {"--dataset_version": "v1"},
        {"--fail": "true"},
    ]


def test_sync_waits_for_the_run_and_outputs_epoch_millis(
    apply: Callable[..., None], services: LocalServices
) -> None:
    apply(GLUE_SYNC, EMULATION)
    _glue_job()
    described = run_state_machine(GLUE, {"args": {"--dataset_version": "v1"}})
    assert described["status"] == "SUCCEEDED"
    run = json.loads(described["output"])
    assert run["JobRunState"] == "SUCCEEDED"
    assert isinstance(run["CompletedOn"], int)
    assert services.jobs.records("glue")[0].request["Arguments"] == {"--dataset_version": "v1"}


def test_sync_failure_is_states_task_failed(apply: Callable[..., None]) -> None:
    apply(GLUE_SYNC, EMULATION)
    _glue_job()
    described = run_state_machine(GLUE, {"args": {"--fail": "true"}})
    assert described["error"] == "States.TaskFailed"
    assert json.loads(described["cause"])["ErrorMessage"].startswith("AnalysisException")
