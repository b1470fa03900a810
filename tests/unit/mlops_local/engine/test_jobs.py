"""Every job of the engine has a folder with ``job.json`` and ``job.log``: its output, as CloudWatch
Logs keeps it on AWS."""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path
from typing import Any

from mlops_local.engine.jobs import ExecutionContext, JobLifecycle, JobLog, JobRecord, JobResult


def lifecycle(tmp_path: Path, **executors: Any) -> JobLifecycle:
    return JobLifecycle(
        client=lambda service: None, run_dir=tmp_path, project_root=tmp_path, executors=executors
    )


def run(jobs: JobLifecycle, kind: str, name: str, **options: Any) -> JobRecord:
    record = jobs.start(kind, name, {}, **options)
    assert record.done.wait(10)
    return record


def log_lines(record: JobRecord) -> list[str]:
    """The log's lines without their time stamps."""
    return [line[13:] for line in (record.workdir / "job.log").read_text().splitlines()]


def test_each_log_line_carries_the_time_it_was_written(tmp_path: Path) -> None:
    log = JobLog(tmp_path / "job.log")

    log.write("epoch=1; validation:accuracy=0.5;\n")
    log.close()

    assert re.fullmatch(
        r"\d\d:\d\d:\d\d\.\d{3} epoch=1; validation:accuracy=0.5;\n", (tmp_path / "job.log").read_text()
    )


def test_a_log_past_its_size_limit_says_how_many_lines_it_dropped(tmp_path: Path) -> None:
    log = JobLog(tmp_path / "job.log", max_bytes=100)

    for index in range(10):
        log.write(f"line {index} " + "x" * 20)  # 41 bytes with its time stamp: two fit
    log.close()

    lines = (tmp_path / "job.log").read_text().splitlines()
    assert [line[13:19] for line in lines[:2]] == ["line 0", "line 1"]
    assert lines[2:] == ["[mlops-local] log stopped at 100 bytes; 8 more line(s) were dropped"]


def test_a_job_logs_its_output_progress_and_end(tmp_path: Path) -> None:
    def training(request: dict[str, Any], ctx: ExecutionContext) -> JobResult:
        ctx.progress("channel train: 2 objects")
        ctx.log.write("epoch=1; validation:accuracy=0.5;")
        return JobResult("Failed", "AlgorithmError: ExecuteUserScriptError:\nExitCode 1")

    record = run(lifecycle(tmp_path, training=training), "training", "train-1")

    assert log_lines(record) == [
        "[mlops-local] channel train: 2 objects",
        "epoch=1; validation:accuracy=0.5;",
        "[mlops-local] Failed: AlgorithmError: ExecuteUserScriptError:",
        "[mlops-local] ExitCode 1",
    ]


def test_a_line_the_job_printed_is_logged_once_when_shown_as_progress(tmp_path: Path) -> None:
    def processing(request: dict[str, Any], ctx: ExecutionContext) -> JobResult:
        ctx.log.write("evaluating 40 images")
        ctx.show_output("eval-1: evaluating 40 images")
        return JobResult("Completed")

    record = run(lifecycle(tmp_path, processing=processing), "processing", "eval-1")

    assert log_lines(record) == ["evaluating 40 images", "[mlops-local] Completed"]
    assert record.last_progress == "Completed"


def test_an_executor_that_raises_leaves_its_traceback_in_the_log(tmp_path: Path) -> None:
    def transform(request: dict[str, Any], ctx: ExecutionContext) -> JobResult:
        raise KeyError("ModelDataUrl")

    record = run(lifecycle(tmp_path, transform=transform), "transform", "batch-1")

    log = "\n".join(log_lines(record))
    assert "[mlops-local] Traceback (most recent call last):" in log
    assert 'raise KeyError("ModelDataUrl")' in log
    assert record.failure_reason == "KeyError: 'ModelDataUrl'"


def test_what_an_in_process_job_logs_lands_in_its_log_and_no_other(tmp_path: Path) -> None:
    def monitoring(request: dict[str, Any], ctx: ExecutionContext) -> JobResult:
        logging.getLogger("record_preprocessor").warning("skipping capture record %s: no image", "e-1")
        other = threading.Thread(target=logging.getLogger("elsewhere").warning, args=("not this job's",))
        other.start()
        other.join()
        return JobResult("Completed")

    record = run(lifecycle(tmp_path, monitoring=monitoring), "monitoring", "model-monitoring-1")

    assert log_lines(record)[0] == "WARNING record_preprocessor: skipping capture record e-1: no image"
    assert not any("not this job's" in line for line in log_lines(record))


def test_the_job_file_says_what_the_job_is_and_how_it_ended(tmp_path: Path) -> None:
    def glue(job: dict[str, Any], arguments: dict[str, str], ctx: ExecutionContext) -> JobResult:
        return JobResult("Failed", "AnalysisException: path does not exist")

    record = run(lifecycle(tmp_path, glue=glue), "glue", "jr_1", job={"Name": "prepare-dataset"})

    described = json.loads((record.workdir / "job.json").read_text())
    assert {k: described[k] for k in ("kind", "name", "job_name", "status", "failure_reason")} == {
        "kind": "glue",
        "name": "jr_1",
        "job_name": "prepare-dataset",
        "status": "Failed",
        "failure_reason": "AnalysisException: path does not exist",
    }


def test_a_glue_executor_learns_the_run_id_the_api_gave(tmp_path: Path) -> None:
    seen: list[str] = []

    def glue(job: dict[str, Any], arguments: dict[str, str], ctx: ExecutionContext) -> JobResult:
        seen.append(ctx.job_id)
        return JobResult("Completed")

    run(lifecycle(tmp_path, glue=glue), "glue", "jr_abc", job={"Name": "prepare-dataset"})

    assert seen == ["jr_abc"]


def test_a_running_glue_run_reports_no_execution_time_yet(tmp_path: Path) -> None:
    release = threading.Event()

    def glue(job: dict[str, Any], arguments: dict[str, str], ctx: ExecutionContext) -> JobResult:
        release.wait(10)
        return JobResult("Completed")

    jobs = lifecycle(tmp_path, glue=glue)
    record = jobs.start("glue", "jr_1", {}, job={"Name": "prepare-dataset"})
    moto_run = {"Id": "jr_1", "JobName": "prepare-dataset", "ExecutionTime": 123, "JobRunState": "SUCCEEDED"}

    running = jobs.describe_glue_run("prepare-dataset", moto_run)
    release.set()
    assert record.done.wait(10)

    assert (running["JobRunState"], running["ExecutionTime"]) == ("RUNNING", 0)


def test_stopping_every_job_reaches_each_executor_and_they_end_stopped(tmp_path: Path) -> None:
    started = threading.Event()

    def training(request: dict[str, Any], ctx: ExecutionContext) -> JobResult:
        started.set()
        assert ctx.stop_requested.wait(10), "the stop request never reached the executor"
        return JobResult("Stopped")

    def processing(request: dict[str, Any], ctx: ExecutionContext) -> JobResult:
        assert ctx.stop_requested.wait(10), "the stop request never reached the executor"
        return JobResult("Completed")  # ended its work as the stop came: still reported Stopped

    jobs = lifecycle(tmp_path, training=training, processing=processing)
    training_job = jobs.start("training", "train-1", {})
    processing_job = jobs.start("processing", "eval-1", {})
    assert started.wait(10)

    assert jobs.stop_all(timeout=10)

    assert (training_job.status, processing_job.status) == ("Stopped", "Stopped")
    assert not jobs.running()
