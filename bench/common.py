"""What every benchmark writes: one JSON file under bench/results/ with comparable figures."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"


def use_flat_modules(*folders: str) -> None:
    """Put the job code's folders (``training``, ``monitoring``, ``glue``) first on ``sys.path``.

    That code imports its modules by bare name, as its containers do; a benchmark run as
    ``python -m bench.<name>`` from the repository root finds them the same way.
    """
    for folder in folders:
        path = str(ROOT / folder)
        if path not in sys.path:
            sys.path.insert(0, path)


@dataclass
class Figure:
    """One measured figure, with the baseline it is compared against when one exists."""

    what: str
    how: str
    result: float
    unit: str
    baseline: float | None = None
    baseline_what: str | None = None
    ratio: float | None = None  # result / baseline, or the improvement direction the name says
    target: str | None = None
    met: bool | None = None


@dataclass
class BenchResult:
    name: str
    figures: list[Figure]
    details: dict[str, Any] = field(default_factory=dict)


def machine() -> dict[str, Any]:
    """What ran the benchmark."""
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = platform.processor()
    memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "system": platform.platform(),
        "commit": _commit(),
    }


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def write_result(result: BenchResult) -> Path:
    """Write ``bench/results/<name>.json`` with the date and machine; return the path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{result.name}.json"
    payload = {
        "name": result.name,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "figures": [asdict(figure) for figure in result.figures],
        "details": result.details,
    }
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path
