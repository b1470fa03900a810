"""Job scripts in forks of the warm interpreter: each behaves as ``python script.py`` would."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest

from mlops_local.executors import subprocess_runner
from mlops_local.executors.subprocess_runner import ScriptProcess, child_environment, run_script

REPORT = """
import json, os, sys
import helper
print(json.dumps({
    "argv": sys.argv,
    "cwd": os.getcwd(),
    "path": sys.path,
    "environ": dict(os.environ),
    "helper": helper.VERSION,
    "torch_threads": __import__("torch").get_num_threads(),
    "runtime_main": getattr(sys.modules.get("__mp_main__"), "__file__", None),
}), flush=True)
print("to stderr", file=sys.stderr)
sys.exit(int(sys.argv[1]))
"""


def _job(folder: Path, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "helper.py").write_text(f"VERSION = {version!r}\n")
    script = folder / "report.py"
    script.write_text(REPORT)
    return script


def _report(script: Path, workdir: Path, *, status: str = "0", **env: str) -> tuple[dict, list[str], int]:
    lines: list[str] = []
    outcome = run_script(
        [sys.executable, str(script), status],
        env={"JOB": "one", **env},
        cwd=workdir,
        on_line=lines.append,
        warm=True,
    )
    return json.loads(lines[0]), outcome.stderr_tail, outcome.returncode


def test_a_forked_script_sees_what_a_new_interpreter_would(tmp_path: Path) -> None:
    script = _job(tmp_path / "code", "v1")
    shared = tmp_path / "shared"
    shared.mkdir()

    report, stderr, status = _report(script, tmp_path, status="3", PYTHONPATH=str(shared))

    assert status == 3
    assert stderr == ["to stderr"]
    assert report["argv"] == [str(script), "3"]
    assert report["cwd"] == str(tmp_path)
    assert report["environ"] == {"JOB": "one", "PYTHONPATH": str(shared)}
    assert report["helper"] == "v1"
    assert report["runtime_main"] is None  # the runtime's own __main__ is not run again in the job
    assert report["path"][:2] == [str(script.parent), str(shared)]
    # Nothing of the runtime's own sys.path (this test session's folders) reaches the job.
    runtime_only = {entry for entry in sys.path if entry} - set(report["path"])
    assert runtime_only, "the test session should have folders of its own on sys.path"
    assert not {entry for entry in report["path"][2:] if "/tests" in entry or entry.endswith("/training")}


def test_every_job_imports_its_own_code(tmp_path: Path) -> None:
    first, _, _ = _report(_job(tmp_path / "one", "v1"), tmp_path)
    second, _, _ = _report(_job(tmp_path / "two", "v2"), tmp_path)

    assert (first["helper"], second["helper"]) == ("v1", "v2")


def test_the_jobs_thread_count_applies_to_the_preloaded_torch(tmp_path: Path) -> None:
    report, _, _ = _report(_job(tmp_path / "code", "v1"), tmp_path, OMP_NUM_THREADS="1")

    assert report["torch_threads"] == 1


def test_an_uncaught_exception_ends_the_script_with_status_1_and_its_traceback(tmp_path: Path) -> None:
    script = tmp_path / "fails.py"
    script.write_text(
        "import atexit\natexit.register(print, 'exit handler ran')\nraise ValueError('bad shard')\n"
    )

    lines: list[str] = []
    outcome = run_script([sys.executable, str(script)], env={}, cwd=tmp_path, on_line=lines.append, warm=True)

    assert outcome.returncode == 1
    assert outcome.error_message == "ValueError: bad shard"
    assert "Traceback (most recent call last):" in outcome.stderr_tail
    assert lines == ["exit handler ran"]


def test_sigterm_reaches_the_scripts_own_handler(tmp_path: Path) -> None:
    script = tmp_path / "interruptible.py"
    script.write_text(
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = ScriptProcess([sys.executable, str(script)], env={}, cwd=tmp_path, warm=True)
    lines = process.lines()
    assert next(lines) == "started"

    process.terminate()
    outcome = process.wait(timeout=30)

    assert (outcome.returncode, process.signalled) == (143, True)


def test_a_kill_ends_a_script_that_ignores_sigterm(tmp_path: Path) -> None:
    script = tmp_path / "stubborn.py"
    script.write_text(
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('started', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = ScriptProcess([sys.executable, str(script)], env={}, cwd=tmp_path, warm=True)
    assert next(process.lines()) == "started"

    process.kill()
    outcome = process.wait(timeout=30)

    assert outcome.returncode == -signal.SIGKILL


def test_switched_off_every_script_gets_a_new_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subprocess_runner, "WARM_PYTHON", False)
    script = tmp_path / "fresh.py"
    script.write_text("import sys\nprint('torch' in sys.modules)\n")

    lines: list[str] = []
    run_script(
        [sys.executable, str(script)],
        env=child_environment({}),
        cwd=tmp_path,
        on_line=lines.append,
        warm=True,
    )

    assert lines == ["False"]
