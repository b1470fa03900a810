"""Glue job runs that run the job's script (through the job lifecycle)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.glue.responses import GlueResponse

from mlops_local.engine.emulation.registry import Emulation, LocalServices
from mlops_local.engine.jobs import JobLifecycle
from mlops_local.engine.patching import Patches, replace


def _start_job_run(jobs: JobLifecycle, original: Callable[..., Any]) -> Callable[..., Any]:
    def start(response_self: GlueResponse) -> Any:
        result = original(response_self)
        run_id = result.result["JobRunId"]
        job_name = str(response_self.parameters.get("JobName"))
        job = response_self.glue_backend.get_job(job_name).as_dict()
        jobs.start("glue", run_id, json.loads(response_self.body), job=job)
        return result

    return start


def _get_job_run(jobs: JobLifecycle, original: Callable[..., Any]) -> Callable[..., Any]:
    def get(response_self: GlueResponse) -> Any:
        result = original(response_self)
        run = result.result["JobRun"]
        return ActionResult({"JobRun": jobs.describe_glue_run(run["JobName"], run)})

    return get


def _patches(services: LocalServices) -> Patches:
    yield replace(GlueResponse, "start_job_run", _start_job_run(services.jobs, GlueResponse.start_job_run))
    yield replace(GlueResponse, "get_job_run", _get_job_run(services.jobs, GlueResponse.get_job_run))


EMULATION = Emulation(
    name="glue_job_runs",
    moto_does="reports a started job run as SUCCEEDED at once, running nothing",
    aws_does="runs the job's script: RUNNING until it ends SUCCEEDED or FAILED (ErrorMessage)",
    patches=_patches,
)
