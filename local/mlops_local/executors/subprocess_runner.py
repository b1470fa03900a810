"""Running a job's script as a child process: live stdout lines, stderr kept for the error message.

Every line of both streams also goes to the job's log (``log``), as a container's output goes to
CloudWatch Logs on AWS: the error message picks one line, the log keeps them all.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlops_local.engine.environment import environment_snapshot
from mlops_local.executors.warm_python import WarmPopen, is_python_script

# Enough of stderr to hold a Python traceback; older lines only repeat Spark's or torch's logging.
_STDERR_TAIL_LINES = 200
# MLOPS_LOCAL_WARM_PYTHON=0 starts every job script in a new interpreter, as a container does.
WARM_PYTHON = os.environ.get("MLOPS_LOCAL_WARM_PYTHON", "1") != "0"
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*")
# A stopped job's script gets SIGTERM and this long to end before SIGKILL: "SageMaker sends the
# algorithm the SIGTERM signal, which delays job termination for 120 seconds"
# (https://docs.aws.amazon.com/sagemaker/latest/dg/API_StopTrainingJob.html).
STOP_GRACE_SECONDS = 120.0
_STOP_POLL_SECONDS = 0.1


@dataclass
class ScriptOutcome:
    """How a script ended."""

    returncode: int
    seconds: float
    stderr_tail: list[str]
    timed_out: bool = False

    @property
    def error_message(self) -> str:
        """The script's own error: the exception line of its traceback, else its last stderr line."""
        return error_message_from(self.stderr_tail) or f"exited with status {self.returncode}"


def error_message_from(stderr_lines: Sequence[str]) -> str:
    """Pick the line a user would quote from a failed script's stderr."""
    lines = [line.strip() for line in stderr_lines if line.strip()]
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line):
            return line
    return lines[-1] if lines else ""


class ScriptProcess:
    """A child process whose stdout is read line by line and which can be told to stop (SIGTERM)."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        log: Callable[[str], None] | None = None,
        warm: bool = False,
    ) -> None:
        """``warm``: run a Python script in a fork of the warm interpreter (``warm_python``) rather
        than in a new one, unless ``MLOPS_LOCAL_WARM_PYTHON=0``."""
        self.command = list(command)
        self._log = log
        self._started = time.monotonic()
        # A session of its own: a signal reaches the script, never the runtime, and the script's
        # own children (data loader workers, Spark's JVM) go with it.
        self._process: subprocess.Popen[str] | WarmPopen
        if warm and WARM_PYTHON and is_python_script(self.command):
            self._process = WarmPopen(self.command, env=env, cwd=cwd)
        else:
            self._process = self._popen(env, cwd)
        self._stderr: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL_LINES)
        self._stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_reader.start()
        self.signalled = False

    def _popen(self, env: Mapping[str, str], cwd: Path) -> subprocess.Popen[str]:
        return subprocess.Popen(  # noqa: S603 - the command is built by the executor, not a shell
            self.command,
            env=dict(env),
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        """The script's process id."""
        return self._process.pid

    def _read_stderr(self) -> None:
        assert self._process.stderr is not None
        for line in self._process.stderr:
            self._stderr.append(line.rstrip("\n"))
            if self._log is not None:
                self._log(line)

    def lines(self) -> collections.abc.Iterator[str]:
        """Yield stdout lines as the script prints them."""
        assert self._process.stdout is not None
        for line in self._process.stdout:
            if self._log is not None:
                self._log(line)
            yield line.rstrip("\n")

    def terminate(self) -> None:
        """Send SIGTERM, as SageMaker does on a spot interruption or a stop request."""
        if self._process.poll() is None:
            self.signalled = True
            self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """Kill the script and its children (after a timeout)."""
        if self._process.poll() is None:
            self._signal(signal.SIGKILL)

    def _signal(self, signum: int) -> None:
        try:
            os.killpg(self._process.pid, signum)
        except ProcessLookupError:
            # A fork of the warm interpreter that has not yet made its own session.
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._process.pid, signum)

    def wait(self, timeout: float | None = None) -> ScriptOutcome:
        """Wait for the script to end and return how it ended."""
        timed_out = False
        try:
            returncode = self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            self.kill()
            returncode = self._process.wait()
        self._stderr_reader.join(timeout=5)
        return ScriptOutcome(
            returncode=returncode,
            seconds=time.monotonic() - self._started,
            stderr_tail=list(self._stderr),
            timed_out=timed_out,
        )


def watch_stop_request(
    process: ScriptProcess,
    stop: threading.Event | None,
    on_stop: Callable[[], None] | None = None,
    *,
    grace: float = STOP_GRACE_SECONDS,
) -> Callable[[], None]:
    """Stop ``process`` once ``stop`` is set: ``on_stop`` (default: SIGTERM), then SIGKILL after ``grace``.

    Returns the function to call once the process has ended, which ends the watch.
    """
    ended = threading.Event()
    if stop is None:
        return ended.set

    def watch() -> None:
        while not ended.is_set():
            if stop.wait(_STOP_POLL_SECONDS):
                (on_stop or process.terminate)()
                if not ended.wait(grace):
                    process.kill()
                return

    threading.Thread(target=watch, name=f"stop-watch-{process.pid}", daemon=True).start()
    return ended.set


def run_script(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    on_line: Callable[[str], None] | None = None,
    timeout: float | None = None,
    log: Callable[[str], None] | None = None,
    warm: bool = False,
    stop: threading.Event | None = None,
) -> ScriptOutcome:
    """Run a script to its end, passing each stdout line to ``on_line`` and every line to ``log``.

    ``stop`` set while it runs stops it as a stopped job's container is stopped (``watch_stop_request``).
    """
    process = ScriptProcess(command, env=env, cwd=cwd, log=log, warm=warm)
    deadline = None if timeout is None else time.monotonic() + timeout
    timer = None
    if deadline is not None:
        timer = threading.Timer(timeout or 0, process.kill)
        timer.daemon = True
        timer.start()
    end_watch = watch_stop_request(process, stop)
    try:
        for line in process.lines():
            if on_line is not None:
                on_line(line)
    finally:
        if timer is not None:
            timer.cancel()
    outcome = process.wait()
    end_watch()
    if deadline is not None and time.monotonic() >= deadline and outcome.returncode < 0:
        outcome.timed_out = True
    return outcome


def child_environment(extra: Mapping[str, str], *, python_path: Sequence[Path] = ()) -> dict[str, str]:
    """The runtime's environment plus ``extra``, with ``python_path`` first on PYTHONPATH.

    The child never inherits the runtime's PYTHONPATH: a job sees its own code, as in a container.
    """
    env = {key: value for key, value in environment_snapshot().items() if key != "PYTHONPATH"}
    env.update(extra)
    if python_path:
        env["PYTHONPATH"] = os.pathsep.join(str(path) for path in python_path)
    env.setdefault("PYTHONUNBUFFERED", "1")  # metric lines must arrive as they are printed
    return env
