"""A warm Python for job scripts: the heavy libraries imported once, each job a fork of that process.

A training, processing or Glue script starts the way its container starts it,
``python script.py args``, and its first seconds go to ``import torch`` (2.5-3 s on 2 cores) and,
at its first optimizer, to ``torch._dynamo`` (3.8 s more), once per job: every tuning trial, every
evaluation. A fork server
(the standard library's ``multiprocessing`` forkserver) imports ``PRELOAD`` once; each job is a
fresh fork of it that then becomes the script's process: its own session (signals reach it and its
children, never the runtime), its stdout and stderr on the runtime's pipes, the job's working folder
and environment, ``sys.argv`` and ``sys.path`` as the interpreter would set them, and the script run
as ``__main__``. The executor pins the process to its CPU share as it pins a new one. The script's
own modules are imported in the fork, never in the server, so every job sees its own code.

What a fork inherits that a new interpreter would read from the environment at start: the thread
pools of the preloaded libraries. The job's ``OMP_NUM_THREADS`` is therefore applied with
``torch.set_num_threads`` before the script runs (the scripts set their own count as well).
"""

from __future__ import annotations

import atexit
import functools
import json
import multiprocessing
import os
import runpy
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from multiprocessing import forkserver, spawn
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

# Imported once by the fork server: what the training, evaluation, serving and Glue code imports first,
# and torch._dynamo, which torch imports on the first call of any function it keeps out of
# torch.compile; the first optimizer built does it (torch/_compile.py): 3.8 s of each training job.
PRELOAD = (
    "numpy",
    "torch",
    "torch._dynamo",
    "PIL.Image",
    "pyarrow.parquet",
    "pandas",
    "pyspark.sql",
    "boto3",
)

PROCESS_NAME_PREFIX = "warm-python:"
_context_lock = threading.Lock()


def _forkserver() -> tuple[Any, list[str]]:
    """The fork server's context, and the ``sys.path`` a new interpreter starts with (without a
    script folder or PYTHONPATH): the fork server inherits the runtime's own, which it must not pass
    on to a job."""
    with _context_lock:
        return _prepared_forkserver()


@functools.cache
def _prepared_forkserver() -> tuple[Any, list[str]]:
    clean = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    printed = subprocess.run(
        [sys.executable, "-E", "-c", "import json, sys; print(json.dumps(sys.path[1:]))"],
        env=clean, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    spawn.get_preparation_data = _without_main_module(spawn.get_preparation_data)  # type: ignore[assignment]
    return context, list(json.loads(printed.stdout))


def _without_main_module(
    get_preparation_data: Callable[[str], dict[str, Any]],
) -> Callable[[str], dict[str, Any]]:
    """multiprocessing runs the parent's ``__main__`` (the CLI, pytest, a benchmark) again in every
    child it starts, as ``__mp_main__``: seconds of imports, and modules a job's process must not
    have. A job's fork needs none of it (its target is imported by name), so for these processes the
    instruction is left out."""

    @functools.wraps(get_preparation_data)
    def prepared(name: str) -> dict[str, Any]:
        data = get_preparation_data(name)
        if name.startswith(PROCESS_NAME_PREFIX):
            data.pop("init_main_from_name", None)
            data.pop("init_main_from_path", None)
        return data

    return prepared


def start_in_background() -> None:
    """Start the fork server now, in a thread, so that the first job does not wait for its imports
    (6-7 s on 2 cores): the runtime calls it at its start, long before its first training job."""
    threading.Thread(target=_start, name="warm-python-start", daemon=True).start()


def _start() -> None:
    _forkserver()
    forkserver.ensure_running()


def is_python_script(command: Sequence[str]) -> bool:
    """Whether ``command`` is ``<this python> <script>.py [args]``, what a fork can run."""
    return len(command) >= 2 and command[0] == sys.executable and command[1].endswith(".py")


class WarmPopen:
    """The part of ``subprocess.Popen`` the script runner uses, for a script run in a fork."""

    def __init__(self, command: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> None:
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        stdout, stderr = Connection(out_write, readable=False), Connection(err_write, readable=False)
        context, installation_path = _forkserver()
        self._process = context.Process(
            target=run_in_fork,
            args=(list(command), dict(env)),
            kwargs={
                "cwd": str(cwd),
                "stdout": stdout,
                "stderr": stderr,
                "installation_path": installation_path,
            },
            name=PROCESS_NAME_PREFIX + Path(command[1]).name,
        )
        try:
            self._process.start()
        finally:
            stdout.close()  # the fork holds its own copies
            stderr.close()
        self.stdout: IO[str] = open(out_read, encoding="utf-8", errors="replace")  # noqa: SIM115
        self.stderr: IO[str] = open(err_read, encoding="utf-8", errors="replace")  # noqa: SIM115
        self.args = list(command)

    @property
    def pid(self) -> int:
        return int(self._process.pid)

    @property
    def returncode(self) -> int | None:
        code = self._process.exitcode
        return None if code is None else int(code)

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return int(self._process.exitcode)


def run_in_fork(
    command: list[str],
    env: dict[str, str],
    *,
    cwd: str,
    stdout: Connection,
    stderr: Connection,
    installation_path: list[str],
) -> None:
    """Become ``python <script> <args>`` in this fork of the warm interpreter (runs in the fork)."""
    os.setsid()
    os.dup2(stdout.fileno(), 1)
    os.dup2(stderr.fileno(), 2)
    stdout.close()
    stderr.close()
    # Line-buffered, as PYTHONUNBUFFERED makes a new interpreter's: metric lines arrive as printed.
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    threads = env.get("OMP_NUM_THREADS", "")
    if threads.isdigit() and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(threads))
    script, *arguments = command[1:]
    # sys.path as `python script.py` builds it: the script's folder, PYTHONPATH, then the installation.
    python_path = [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]
    sys.path[:] = [str(Path(script).resolve().parent), *python_path, *installation_path]
    sys.argv = [script, *arguments]
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit:
        raise
    except BaseException:
        # As the interpreter ends on an uncaught exception: its traceback on stderr, status 1.
        traceback.print_exc()
        _exit_handlers()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)
    finally:
        _exit_handlers()


def _exit_handlers() -> None:
    """The script's ``atexit`` handlers, which an interpreter runs at its end and a fork's
    ``os._exit`` would skip; each runs once."""
    atexit._run_exitfuncs()
