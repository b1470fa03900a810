"""A job's script as a child process: every line of its output reaches the job's log."""

from __future__ import annotations

import sys
from pathlib import Path

from mlops_local.executors.subprocess_runner import child_environment, run_script

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
