"""The command line: what ``upload --wait`` prints, one-line answers to user mistakes, why a run
failed (``history``, ``status``) and the jobs' logs (``logs``)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mlops_local.cli import (
    Controller,
    describe_failure,
    failed_visit,
    follow_log,
    history_lines,
    job_entries,
    main,
    print_runs,
    serve,
    trigger_line,
)
from mlops_local.engine.jobs import JobLifecycle, JobResult
from mlops_local.engine.lambdas import FunctionNotFound
from tests.conftest import TEMPLATE

# --- upload --wait ---------------------------------------------------------------------------------


def state(pending: int = 0, claimable_in: float | None = None, holder: str | None = None) -> dict[str, Any]:
    claimable = None if claimable_in is None else (datetime.now(UTC) + timedelta(seconds=claimable_in))
    return {
        "pending_uploads": pending,
        "claimable_at": claimable.isoformat() if claimable else None,
        "lease": {"holder": holder, "trigger": "upload", "expires_at": 0} if holder else None,
        "queued_retraining": None,
    }


def test_uploads_still_settling_show_when_the_quiet_period_ends() -> None:
    line = trigger_line(state(pending=12, claimable_in=60, holder="upload-a"), [])
    assert "12 upload(s) pending, quiet period ends" in line
    assert "run lease: upload-a" in line


def test_settled_uploads_behind_another_run_wait_for_the_follow_up() -> None:
    running = [{"name": "upload-a", "current_state": "Train", "status": "RUNNING"}]
    line = trigger_line(state(pending=3, claimable_in=-5, holder="upload-a"), running)
    assert line == "  3 upload(s) pending for the follow-up run; run lease: upload-a; upload-a: Train"


def test_settled_uploads_of_a_run_still_in_its_quiet_period_are_its_own() -> None:
    running = [{"name": "upload-a", "current_state": "WaitForUploadsToSettle", "status": "RUNNING"}]
    line = trigger_line(state(pending=3, claimable_in=-5, holder="upload-a"), running)
    assert line.startswith("  3 upload(s) pending, settled: upload-a claims them next;")


def test_nothing_to_do_is_idle() -> None:
    assert trigger_line(state(), []) == "  idle"


# --- a project folder, a fake runtime behind a real control API ------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder (the real template.yaml) that the CLI works on, with nothing running."""
    shutil.copy(TEMPLATE, tmp_path / "template.yaml")
    (tmp_path / "photos" / "ok").mkdir(parents=True)
    (tmp_path / "photos" / "ok" / "1.png").write_bytes(b"png")
    (tmp_path / "event.json").write_text('{"records": []}')
    monkeypatch.setenv("MLOPS_PROJECT_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@dataclass
class Visit:
    name: str
    type: str
    error: str | None = None
    cause: str | None = None
    entered: datetime = datetime(2026, 11, 28, 18, 0, 1, tzinfo=UTC)
    exited: datetime | None = None

    @property
    def duration_seconds(self) -> float | None:
        return 1.5


GLUE_ERROR = "AnalysisException: [PATH_NOT_FOUND] Path does not exist: file:/tmp/run/s3/data/incoming."
GLUE_CAUSE = json.dumps(
    {
        "Id": "jr_0123abcd",
        "Attempt": 0,
        "JobName": "mlops-local-PrepareDatasetJob-A36DF994",
        "JobRunState": "FAILED",
        # GetJobRun echoes the arguments before the error: they push it past any short cut.
        "Arguments": {"--source_paths": "s3://data/incoming/" + "x" * 300},
        "ErrorMessage": GLUE_ERROR,
        "ExecutionTime": 3,
    }
)
LAMBDA_CAUSE = json.dumps(
    {
        "errorMessage": "too few images of class dent",
        "errorType": "DatasetNotUsable",
        "requestId": "",
        "stackTrace": [
            '  File "/var/task/app.py", line 20, in lambda_handler\n    raise DatasetNotUsable("too few")\n'
        ],
    }
)
TRAINING_REASON = (
    'AlgorithmError: ExecuteUserScriptError:\nExitCode 1\nErrorMessage "ValueError: no train channel"\n'
    'Command "python train.py --epochs 2"'
)
TRAINING_CAUSE = json.dumps(
    {"TrainingJobName": "train-1-a", "TrainingJobStatus": "Failed", "FailureReason": TRAINING_REASON}
)


class FakeRuntime:
    """What the Controller reads from a LocalRuntime: one failed execution, one function."""

    def __init__(self, visits: list[Visit]) -> None:
        self.visits = visits
        started = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
        self.execution = {
            "name": "upload-20261128T1800-1a2b3c4d",
            "executionArn": "arn:aws:states:us-east-1:123456789012:execution:m:upload-20261128T1800-1a2b3c4d",
            "status": "FAILED",
            "startDate": started,
            "stopDate": started + timedelta(minutes=3),
        }
        self.redriven: list[str] = []
        self.output: dict[str, Any] | None = None  # the execution's output: a finished run's record
        self.jobs = type("Jobs", (), {"running": staticmethod(lambda: [])})()
        self.provisioned = type(
            "Stack", (), {"functions": [type("F", (), {"logical_id": "CheckDatasetFunction"})]}
        )

    def executions(self, machine: str = "TrainingPipelineStateMachine") -> list[dict[str, Any]]:
        return [self.execution] if machine == "TrainingPipelineStateMachine" else []

    def history(self, arn: str) -> list[Visit]:
        return self.visits

    def client(self, service: str) -> Any:
        assert service == "stepfunctions", service
        output = None if self.output is None else json.dumps(self.output)
        described = {**self.execution, **({"output": output} if output else {})}
        return type(
            "StepFunctions", (), {"describe_execution": staticmethod(lambda executionArn: described)}
        )()

    def trigger_state(self) -> dict[str, Any]:
        return state()

    def dead_letter_depths(self) -> dict[str, int]:
        return {"EventDeliveryDLQ": 0, "UploadEventsDLQ": 3}

    def invoke(self, function: str, event: Any) -> Any:
        raise FunctionNotFound(function)

    def redrive_execution(self, arn: str) -> None:
        if self.execution["status"] == "SUCCEEDED":
            error = {
                "Code": "ExecutionNotRedrivable",
                "Message": "Execution is SUCCEEDED and cannot be redriven.",
            }
            raise ClientError({"Error": error}, "RedriveExecution")
        self.redriven.append(arn)


# A failed task fails the run at that task (so a redrive resumes there).
FAILED_IN_PREPARE = [
    Visit("BeginRun", "Task"),
    Visit("PrepareDataset", "Task", "States.TaskFailed", GLUE_CAUSE),
]


@pytest.fixture
def up(project: Path) -> Iterator[FakeRuntime]:
    """A running ``up``: the real control API over a fake runtime, its address where ``up`` writes it."""
    runtime = FakeRuntime(list(FAILED_IN_PREPARE))
    server = serve(Controller(runtime))
    (project / ".local").mkdir(exist_ok=True)
    (project / ".local" / "runtime.json").write_text(
        json.dumps({"control_url": f"http://127.0.0.1:{server.server_address[1]}"})
    )
    yield runtime
    server.shutdown()


class StartedRuntime:
    """What ``up`` starts, serves and stops."""

    run_dir = Path("run")

    def __init__(self) -> None:
        self.stopped = False

    def start(self) -> None:
        pass

    def outputs(self) -> dict[str, str]:
        return {}

    def stop(self) -> None:
        self.stopped = True


def test_kill_stops_up_as_ctrl_c_does(capsys, project, monkeypatch) -> None:
    """`up &` is stopped with kill: the runtime stops, the state file goes, the handler is given back."""
    runtime = StartedRuntime()
    monkeypatch.setattr("mlops_local.cli._runtime", lambda args: runtime)
    state_file = project / ".local" / "runtime.json"
    handler_before = signal.getsignal(signal.SIGTERM)

    def kill_once_up() -> None:
        deadline = time.monotonic() + 30
        while not state_file.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=kill_once_up)
    killer.start()
    code, out, _ = run_cli(capsys, "up")
    killer.join()

    assert code == 0
    assert out.rstrip().endswith("stopping")
    assert runtime.stopped
    assert not state_file.exists()
    assert signal.getsignal(signal.SIGTERM) is handler_before


# --- user mistakes: one line, no traceback, exit status 2 ------------------------------------------


USER_MISTAKES = {
    "invoke with a missing event file": (
        ["invoke", "CheckDatasetFunction", "-e", "events/x.json"],
        "no file",
    ),
    "invoke with a folder as event": (["invoke", "CheckDatasetFunction", "-e", "photos"], "is a folder"),
    "invoke with an event that is not JSON": (
        ["invoke", "CheckDatasetFunction", "-e", "template.yaml"],
        "not valid JSON",
    ),
    "invoke an unknown function": (["invoke", "NOPE", "-e", "event.json"], "no function NOPE"),
    "invoke without a function": (["invoke"], "required: function"),
    "run with input that is not JSON": (["run", "--input", "{trigger"], "not JSON"),
    "run with input that is not an object": (["run", "--input", "[1]"], "not an object"),
    "upload a missing folder": (["upload", "nope"], "no folder nope"),
    "upload files without a label folder": (["upload", "."], "not in a label folder"),
    "upload with a source holding a slash": (["upload", "photos", "--source", "a/b"], "not a source name"),
    "upload at zero objects per second": (["upload", "photos", "--objects-per-second", "0"], "above zero"),
    "predict a missing file": (["predict", "nope.png"], "no file nope.png"),
    "drift with no traffic": (["drift", "--count", "0"], "not above zero"),
    "demo with a negative size": (["demo", "--images-per-class", "-3"], "not above zero"),
    "an unknown fault": (["--fault", "bogus", "up"], "unknown fault 'bogus'"),
    "an unknown fault added": (["faults", "--add", "throttle"], "needs an API operation"),
    "a config environment without samconfig": (["--config-env", "prod", "up"], "there is no"),
    "status with nothing up": (["status"], "no local runtime is up"),
    "history with nothing up": (["history", "x"], "no local runtime is up"),
    "the log of an unknown job": (["logs", "nope"], "no job named nope"),
    "an unknown command": (["nope"], "invalid choice"),
}


@pytest.mark.parametrize(("argv", "says"), USER_MISTAKES.values(), ids=USER_MISTAKES.keys())
def test_a_user_mistake_is_one_line_without_traceback(capsys, project, argv, says) -> None:
    code, _, err = run_cli(capsys, *argv)

    assert code == 2
    assert says in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def test_an_unreadable_runtime_file_is_a_one_line_error(capsys, project) -> None:
    (project / ".local").mkdir()
    (project / ".local" / "runtime.json").write_text("{not json")

    code, _, err = run_cli(capsys, "status")

    assert code == 2
    assert "unreadable" in err
    assert len(err.strip().splitlines()) == 1


def test_an_unknown_execution_of_a_running_up_is_a_user_mistake(capsys, up) -> None:
    code, _, err = run_cli(capsys, "history", "upload-20261128T1800-1a2b3c4e")

    assert code == 2
    assert err.strip() == (
        "mlops-local: error: no execution named upload-20261128T1800-1a2b3c4e "
        "(did you mean upload-20261128T1800-1a2b3c4d?); `mlops-local status` lists them"
    )


def test_an_unknown_function_of_a_running_up_lists_the_known_ones(capsys, up) -> None:
    code, _, err = run_cli(capsys, "invoke", "NOPE", "-e", "event.json")

    assert code == 2
    assert "no function NOPE in template.yaml" in err
    assert "CheckDatasetFunction" in err


def test_a_second_up_is_refused_while_one_answers(capsys, up) -> None:
    code, _, err = run_cli(capsys, "up")

    assert code == 2
    assert "already up" in err


def test_an_unexpected_error_is_one_line_unless_debugging(capsys, project, monkeypatch) -> None:
    monkeypatch.setattr("mlops_local.cli.job_entries", lambda runs: 1 / 0)

    code, _, err = run_cli(capsys, "logs")

    assert code == 1
    assert err.strip() == "mlops-local: error: ZeroDivisionError: division by zero (`--debug` shows where)"


# --- why a state failed ----------------------------------------------------------------------------


def test_a_glue_failure_is_its_job_run_and_error_message() -> None:
    failure = describe_failure(GLUE_CAUSE)

    assert failure.reason == f"mlops-local-PrepareDatasetJob-A36DF994 run jr_0123abcd FAILED: {GLUE_ERROR}"
    assert failure.job == "jr_0123abcd"


def test_a_training_failure_is_its_whole_failure_reason() -> None:
    failure = describe_failure(TRAINING_CAUSE)

    assert failure.reason == f"train-1-a Failed: {TRAINING_REASON}"
    assert failure.job == "train-1-a"


def test_a_processing_failure_says_its_exit_message_once() -> None:
    cause = {
        "ProcessingJobName": "eval-1",
        "FailureReason": "AlgorithmError: ValueError: bad",
        "ExitMessage": "ValueError: bad",
    }

    assert describe_failure(json.dumps(cause)).reason == "eval-1: AlgorithmError: ValueError: bad"


def test_a_lambda_failure_is_its_error_type_message_and_raising_frame() -> None:
    failure = describe_failure(LAMBDA_CAUSE)

    assert failure.reason.splitlines() == [
        "DatasetNotUsable: too few images of class dent",
        'File "/var/task/app.py", line 20, in lambda_handler',
        'raise DatasetNotUsable("too few")',
    ]
    assert failure.job is None


def test_a_cause_encoded_twice_is_read_as_json() -> None:
    assert describe_failure(json.dumps(LAMBDA_CAUSE)).reason.startswith("DatasetNotUsable: too few images")


def test_a_plain_cause_is_shown_whole() -> None:
    cause = "The state timed out after " + "9" * 400 + " seconds"

    assert describe_failure(cause).reason == cause


def test_the_failed_state_is_the_task_before_the_final_fail_state() -> None:
    assert failed_visit(FAILED_IN_PREPARE).name == "PrepareDataset"


def test_a_fail_state_alone_is_the_failed_state() -> None:
    visits = [Visit("Check", "Choice"), Visit("Rejected", "Fail", "ModelRejected", "the gate said no")]

    assert failed_visit(visits).name == "Rejected"


def test_history_shows_the_glue_error_message_whole(capsys, up) -> None:
    code, out, _ = run_cli(capsys, "history", "upload-20261128T1800-1a2b3c4d")

    assert code == 0
    assert GLUE_ERROR in out
    assert "log: mlops-local logs jr_0123abcd" in out


def test_history_shows_every_line_of_a_failure_reason() -> None:
    failure = describe_failure(TRAINING_CAUSE)
    train = {
        "state": "Train",
        "type": "Task",
        "entered": "2026-11-28T18:00:01",
        "seconds": 1.0,
        "error": "States.TaskFailed",
        "cause": TRAINING_CAUSE,
        "reason": failure.reason,
        "job": failure.job,
    }

    lines = history_lines([train])

    assert lines[1:] == [
        "          train-1-a Failed: AlgorithmError: ExecuteUserScriptError:",
        "          ExitCode 1",
        '          ErrorMessage "ValueError: no train channel"',
        '          Command "python train.py --epochs 2"',
        "          log: mlops-local logs train-1-a",
    ]


def test_status_names_the_latest_failure_and_why(capsys, up) -> None:
    code, out, _ = run_cli(capsys, "status")

    latest = json.loads(out)["latest_failure"]
    assert code == 0
    assert (latest["execution"], latest["state"], latest["error"]) == (
        "upload-20261128T1800-1a2b3c4d",
        "PrepareDataset",
        "States.TaskFailed",
    )
    assert GLUE_ERROR in latest["reason"]


def test_status_says_how_a_finished_run_ended(capsys, up) -> None:
    up.execution["status"] = "SUCCEEDED"
    up.output = {"outcome": "rejected", "gate": {"passed": False}}
    up.visits[:] = [Visit("Notify", "Task"), Visit("PipelineSucceeded", "Succeed")]

    _, out, _ = run_cli(capsys, "status")

    (execution,) = json.loads(out)["executions"]
    assert (execution["status"], execution["outcome"]) == ("SUCCEEDED", "rejected")


@pytest.mark.parametrize(
    ("outcome", "code"), [("deployed", 0), ("approved", 0), ("rejected", 1), ("skipped", 1), (None, 1)]
)
def test_upload_wait_succeeds_only_when_the_model_went_live_or_was_approved(capsys, outcome, code) -> None:
    run = {
        "name": "upload-1",
        "status": "FAILED" if outcome is None else "SUCCEEDED",
        "ended_in": "PrepareDataset" if outcome is None else "PipelineSucceeded",
        "outcome": outcome,
        "gate_reasons": ["FAIL accuracy 0.2791 < 0.9000"] if outcome == "rejected" else [],
        "uploads": {"new": 240},
        "excluded_labels": {},
    }

    assert print_runs([run]) == code
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(
        f"upload-1: {run['status']} ({outcome or 'at PrepareDataset'}), 240 new upload(s)"
    )


def test_status_shows_each_dead_letter_queues_depth(capsys, up) -> None:
    _, out, _ = run_cli(capsys, "status")

    assert json.loads(out)["dead_letter_queues"] == {"EventDeliveryDLQ": 0, "UploadEventsDLQ": 3}


def test_status_of_a_lambda_failure_shows_its_error_type_and_message(capsys, up) -> None:
    up.visits[:] = [Visit("CheckDataset", "Task", "DatasetNotUsable", LAMBDA_CAUSE)]

    _, out, _ = run_cli(capsys, "status")

    assert json.loads(out)["latest_failure"]["reason"].startswith(
        "DatasetNotUsable: too few images of class dent"
    )


# --- job logs --------------------------------------------------------------------------------------


def printing_glue(job: dict[str, Any], arguments: dict[str, str], ctx: Any) -> JobResult:
    ctx.log.write(f"started {ctx.job_id}")
    ctx.log.write("Traceback (most recent call last):")
    ctx.log.write(GLUE_ERROR)
    return JobResult("Failed", GLUE_ERROR)


def run_glue_job(project: Path, run: str, run_id: str) -> None:
    """One Glue job run through the engine's job lifecycle, in run folder ``run``."""
    jobs = JobLifecycle(
        client=lambda service: None,
        run_dir=project / ".local" / "runs" / run,
        project_root=project,
        executors={"glue": printing_glue},
    )
    record = jobs.start(
        "glue", run_id, {"Arguments": {}}, job={"Name": "mlops-local-PrepareDatasetJob-A36DF994"}
    )
    assert record.done.wait(10)


def test_logs_shows_a_job_log_by_run_id(capsys, project) -> None:
    run_glue_job(project, "20261128T180000", "jr_0123abcd")

    code, out, _ = run_cli(capsys, "logs", "jr_0123abcd")

    assert code == 0
    assert "started jr_0123abcd" in out
    assert GLUE_ERROR in out


def test_logs_by_glue_job_name_shows_its_latest_run(capsys, project) -> None:
    run_glue_job(project, "20261128T180000", "jr_first")
    run_glue_job(project, "20261128T190000", "jr_second")

    code, out, err = run_cli(capsys, "logs", "mlops-local-PrepareDatasetJob-A36DF994")

    assert code == 0
    assert "started jr_second" in out
    assert "1 earlier job(s)" in err


def test_logs_without_a_job_lists_the_jobs_with_logs(capsys, project) -> None:
    run_glue_job(project, "20261128T180000", "jr_0123abcd")

    code, out, _ = run_cli(capsys, "logs")

    assert code == 0
    assert "20261128T180000  glue" in out
    assert "Failed     jr_0123abcd (mlops-local-PrepareDatasetJob-A36DF994)" in out


def test_a_run_reached_through_the_latest_link_is_listed_once(capsys, project) -> None:
    run_glue_job(project, "20261128T180000", "jr_0123abcd")
    (project / ".local" / "runs" / "latest").symlink_to("20261128T180000")

    _, out, _ = run_cli(capsys, "logs")

    assert out.count("jr_0123abcd") == 1


def test_following_a_log_prints_until_the_job_ends(project) -> None:
    run_glue_job(project, "20261128T180000", "jr_0123abcd")
    (entry,) = job_entries(project / ".local" / "runs")
    job_file = entry.folder / "job.json"
    job_file.write_text(job_file.read_text().replace('"Failed"', '"InProgress"'))
    printed: list[str] = []

    def finish_later() -> None:
        time.sleep(0.3)
        with entry.log.open("a") as log:
            log.write("last line\n")
        job_file.write_text(job_file.read_text().replace('"InProgress"', '"Failed"'))

    threading.Thread(target=finish_later).start()
    follow_log(entry, poll_seconds=0.05, out=printed.append)

    assert "".join(printed).endswith("last line\n")


def test_redrive_resumes_the_named_execution(capsys, up) -> None:
    code, out, _ = run_cli(capsys, "redrive", "upload-20261128T1800-1a2b3c4d")

    assert code == 0
    assert up.redriven == [up.execution["executionArn"]]
    assert "redriven" in out


def test_redriving_a_run_that_succeeded_is_a_one_line_error(capsys, up) -> None:
    up.execution["status"] = "SUCCEEDED"

    code, out, err = run_cli(capsys, "redrive", "upload-20261128T1800-1a2b3c4d")

    assert code == 2
    assert err.strip().splitlines() == [
        "mlops-local: error: upload-20261128T1800-1a2b3c4d cannot be redriven: "
        "Execution is SUCCEEDED and cannot be redriven."
    ]
    assert "Traceback" not in out + err
