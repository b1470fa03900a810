"""Lambda cold start: import time of each handler and the built package size per function.

Import time is what a cold start adds on top of the runtime's own start: measured with
``python -X importtime`` (cumulative microseconds of ``import app``), median of several fresh
interpreters. Package size is the ``sam build`` output per function plus the shared layer, which
is what Lambda unpacks; the target is under 10 MB each, layer included.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

from bench.common import BenchResult, Figure, write_result

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7
IMPORT_TARGET_MS = 200.0
PACKAGE_TARGET_MB = 10.0
_IMPORT_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|\s*(\S+)")


def handler_import_ms(function_dir: Path) -> float:
    """Median cumulative import time of the handler module ``app`` in a fresh interpreter."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "layers" / "common"), str(function_dir)]))
    # Powertools reads these at import; set them as the template does so the import path is the real one.
    env.setdefault("POWERTOOLS_SERVICE_NAME", function_dir.name)
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    samples = []
    for _ in range(RUNS):
        completed = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import app"],
            cwd=function_dir,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        cumulative = [
            int(match.group(2))
            for match in map(_IMPORT_LINE.match, completed.stderr.splitlines())
            if match and match.group(3) == "app"
        ]
        samples.append(cumulative[-1] / 1000)
    return statistics.median(samples)


def directory_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def built_sizes() -> dict[str, float]:
    """Size of each built function folder (logical id -> MB); builds first when needed."""
    build = ROOT / ".aws-sam" / "build"
    if not build.exists():
        subprocess.run(["make", "build"], cwd=ROOT, check=True)
    return {child.name: directory_mb(child) for child in sorted(build.iterdir()) if child.is_dir()}


def main() -> None:
    figures: list[Figure] = []
    details: dict[str, object] = {"runs": RUNS}
    imports = {}
    for function_dir in sorted((ROOT / "functions").iterdir()):
        if (function_dir / "app.py").exists():
            milliseconds = handler_import_ms(function_dir)
            imports[function_dir.name] = milliseconds
            figures.append(
                Figure(
                    what=f"import time, {function_dir.name}",
                    how=f"python -X importtime, median of {RUNS} fresh interpreters",
                    result=round(milliseconds, 1),
                    unit="ms",
                    target=f"< {IMPORT_TARGET_MS:.0f} ms",
                    met=milliseconds < IMPORT_TARGET_MS,
                )
            )
    sizes = built_sizes()
    layer_mb = sizes.get("CommonLayer", 0.0)
    for name, size in sizes.items():
        if name == "CommonLayer":
            continue
        total = size + layer_mb
        figures.append(
            Figure(
                what=f"package size, {name} + layer",
                how="sam build output (function folder + CommonLayer)",
                result=round(total, 2),
                unit="MB",
                target=f"< {PACKAGE_TARGET_MB:.0f} MB",
                met=total < PACKAGE_TARGET_MB,
            )
        )
    details.update({"import_ms": imports, "built_mb": sizes})
    print(write_result(BenchResult("cold_start", figures, details)))


if __name__ == "__main__":
    main()
