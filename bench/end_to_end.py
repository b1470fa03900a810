"""Local end-to-end: ``make demo``'s closed loop, time per stage and in all.

Runs the demo exactly as ``make demo`` does and reads the timings from its ``report.json``.
Target: the closed loop (setup excluded) under 60 s on 2 cores.
"""

from __future__ import annotations

import json

from bench.common import BenchResult, Figure, write_result
from mlops_local.demo import run_demo
from mlops_local.project import local_state_dir

TARGET_SECONDS = 60.0


def main() -> None:
    code = run_demo()
    content = json.loads((local_state_dir() / "runs" / "latest" / "report.json").read_text())
    timings = content["timings"]
    total = timings["total_without_setup"]
    figures = [
        Figure(
            what="closed loop, upload to drift-triggered retraining",
            how="make demo's own stage timer (synthetic data generation excluded)",
            result=total,
            unit="s",
            target=f"< {TARGET_SECONDS:.0f} s",
            met=code == 0 and total < TARGET_SECONDS,
        )
    ]
    figures += [
        Figure(what=f"stage: {stage}", how="wall clock", result=seconds, unit="s")
        for stage, seconds in timings.items()
        if not stage.startswith("total")
    ]
    slowest = max((s for s in timings if not s.startswith("total")), key=lambda s: timings[s])
    details = {
        "exit_code": code,
        "timings": timings,
        "notes": f"The slowest stage is '{slowest}' ({timings[slowest]:.1f} s of {total:.1f} s).",
    }
    print(write_result(BenchResult("end_to_end", figures, details)))


if __name__ == "__main__":
    main()
