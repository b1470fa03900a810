"""Lambda cold start: import time of each handler and the built package size per function.

Import time is what a cold start adds on top of the runtime's own start: measured with
``python -X importtime`` (cumulative microseconds of ``import app``), median of several fresh
interpreters. Package size is the ``sam build`` output per function plus the shared layer, unzipped (what
Lambda unpacks) and zipped (what is uploaded and downloaded on a cold start); the target is under
10 MB each, layer included.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

from bench.common import ROOT, BenchResult, Figure, write_result
from mlops_local.engine.template import declared_environment, read_template

RUNS = 7
IMPORT_TARGET_MS = 200.0
PACKAGE_TARGET_MB = 10.0
_IMPORT_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|\s*(\S+)")


def handler_import_ms(function_dir: Path, environment: dict[str, str], *, traced: bool = False) -> float:
    """Median cumulative import time of the handler module ``app`` in a fresh interpreter.

    ``environment`` is what the template gives the function: handlers read and check their
    settings at import, as Lambda's init does. ``traced`` sets ``LAMBDA_TASK_ROOT`` as Lambda does,
    so the tracer loads the X-Ray SDK and patches botocore: the import as it happens on AWS with
    tracing active.
    """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "layers" / "common"), str(function_dir)]))
    env.pop("LAMBDA_TASK_ROOT", None)
    env.update(environment)
    if traced:
        env["LAMBDA_TASK_ROOT"] = str(function_dir)
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
    """Total size of the files under ``path``, in MB."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def zipped_mb(path: Path) -> float:
    """Size of ``path`` as a deflated zip archive, as ``sam package`` uploads it, in MB."""
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(f for f in path.rglob("*") if f.is_file()):
            archive.write(file, file.relative_to(path))
    return buffer.tell() / 2**20


def built_sizes() -> dict[str, tuple[float, float]]:
    """Each built function folder and the layer: logical id -> (unzipped MB, zipped MB).

    Runs ``make build`` first when there is no build output.
    """
    build = ROOT / ".aws-sam" / "build"
    if not build.exists():
        subprocess.run(["make", "build"], cwd=ROOT, check=True)
    folders = sorted(child for child in build.iterdir() if child.is_dir())
    return {folder.name: (directory_mb(folder), zipped_mb(folder)) for folder in folders}


def main() -> None:
    figures: list[Figure] = []
    details: dict[str, object] = {"runs": RUNS}
    imports = {}
    traced_imports = {}
    template = read_template(ROOT / "template.yaml")
    for function_dir in sorted((ROOT / "functions").iterdir()):
        if (function_dir / "app.py").exists():
            environment = declared_environment(template, f"functions/{function_dir.name}")
            milliseconds = handler_import_ms(function_dir, environment)
            imports[function_dir.name] = milliseconds
            traced_imports[function_dir.name] = handler_import_ms(function_dir, environment, traced=True)
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
    layer = sizes.get("CommonLayer", (0.0, 0.0))
    for name, (unzipped, zipped) in sizes.items():
        if name == "CommonLayer":
            continue
        for form, size, layer_size in (("unzipped", unzipped, layer[0]), ("zipped", zipped, layer[1])):
            total = size + layer_size
            figures.append(
                Figure(
                    what=f"package size {form}, {name} + layer",
                    how=f"sam build output (function folder + CommonLayer), {form}",
                    result=round(total, 2),
                    unit="MB",
                    target=f"< {PACKAGE_TARGET_MB:.0f} MB",
                    met=total < PACKAGE_TARGET_MB,
                )
            )
    details.update(
        {
            "import_ms": imports,
            # Not a target: what the import costs on Lambda with tracing active (X-Ray SDK, botocore).
            "import_ms_traced": traced_imports,
            "built_mb": {name: round(unzipped, 3) for name, (unzipped, _) in sizes.items()},
            "built_zipped_mb": {name: round(zipped, 3) for name, (_, zipped) in sizes.items()},
        }
    )
    print(write_result(BenchResult("cold_start", figures, details)))


if __name__ == "__main__":
    main()
