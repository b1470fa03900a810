"""A job's script as a child process: every line of its output reaches the job's log; a stop ends it."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from mlops_local.executors.subprocess_runner import (
    ScriptProcess,
    child_environment,
    run_script,
    watch_stop_request,
)

NOISY_FAILURE = """
import sys
print("reading 3 shards", flush=True)
for index in range(300):
    print(f"WARN spark line {index}", file=sys.stderr)
raise ValueError("shard 2 is not Parquet")
"""


def test_every_line_of_both_streams_goes_to_the_log_not_only_the_tail(tmp_path: Path) -> None:
    logged: list[str] = []

    outcome = run_script(
        [sys.executable, "-c", NOISY_FAILURE], env=child_environment({}), cwd=tmp_path, log=logged.append
    )

    lines = [line.rstrip("\n") for line in logged]
    assert outcome.error_message == "ValueError: shard 2 is not Parquet"
    assert "reading 3 shards" in lines
    assert "WARN spark line 0" in lines  # older than the 200-line tail kept for the error message
    assert "Traceback (most recent call last):" in lines
    # The two streams are read by two threads: each stream's lines keep their order, not the mix.
    stderr_lines = [line for line in lines if line != "reading 3 shards"]
    assert stderr_lines[-1] == "ValueError: shard 2 is not Parquet"


SAVES_ON_SIGTERM = """
import signal, sys, time
def save_and_leave(signum, frame):
    print("saved on SIGTERM", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, save_and_leave)
print("training", flush=True)
time.sleep(60)
"""

IGNORES_SIGTERM = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("training", flush=True)
time.sleep(60)
"""


def test_a_stop_request_sends_sigterm_and_the_script_may_save_its_work(tmp_path: Path) -> None:
    stop = threading.Event()
    lines: list[str] = []

    def on_line(line: str) -> None:
        lines.append(line)
        if line == "training":
            stop.set()

    outcome = run_script(
        [sys.executable, "-c", SAVES_ON_SIGTERM],
        env=child_environment({}),
        cwd=tmp_path,
        on_line=on_line,
        stop=stop,
    )

    assert lines == ["training", "saved on SIGTERM"]
    assert outcome.returncode == 0
    assert outcome.seconds < 30


def test_a_script_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    stop = threading.Event()
    process = ScriptProcess([sys.executable, "-c", IGNORES_SIGTERM], env=child_environment({}), cwd=tmp_path)
    end_watch = watch_stop_request(process, stop, grace=0.5)
    for line in process.lines():
        if line == "training":
            stop.set()
    outcome = process.wait()
    end_watch()

    assert outcome.returncode == -signal.SIGKILL
    assert outcome.seconds < 30
