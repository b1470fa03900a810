"""``make bench``: run every benchmark, each in its own process, then write docs/performance.md."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.common import RESULTS_DIR

# In the order a reader meets the pipeline; each module writes bench/results/<name>.json.
BENCHMARKS = (
    "prepare_dataset",
    "train",
    "inference",
    "endpoint",
    "drift",
    "trigger",
    "uploads",
    "orchestration",
    "cold_start",
    "cost",
    "end_to_end",
)
DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def _format(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def render_performance_doc(results: list[dict]) -> str:
    """The table of every figure, with its baseline and ratio, then each run's machine."""
    lines = [
        "# Performance and cost",
        "",
        "Written by `make bench` from `bench/results/*.json`; do not edit by hand.",
        "Every ratio compares against a baseline measured in the same run.",
        "",
        "| benchmark | what | how measured | result | baseline | ratio | target | date | machine |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        machine = result.get("machine", {})
        where = f"{machine.get('cores')} cores, {machine.get('cpu', '')}".strip()
        for figure in result.get("figures", []):
            baseline = ""
            if figure.get("baseline") is not None:
                what = figure.get("baseline_what") or ""
                baseline = f"{_format(figure['baseline'])} {figure['unit']} ({what})"
            target = figure.get("target") or ""
            if target and figure.get("met") is not None:
                target += " (met)" if figure["met"] else " (NOT met)"
            lines.append(
                "| "
                + " | ".join(
                    [
                        result["name"],
                        figure["what"],
                        figure["how"],
                        f"{_format(figure['result'])} {figure['unit']}",
                        baseline,
                        _format(figure.get("ratio")),
                        target,
                        result.get("date", "")[:10],
                        where,
                    ]
                )
                + " |"
            )
    lines.append("")
    for result in results:
        notes = result.get("details", {}).get("notes")
        if notes:
            lines += [f"## {result['name']}", "", notes, ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--doc-only", action="store_true", help="only rewrite docs/performance.md")
    args = parser.parse_args(argv)
    failed: list[str] = []
    if not args.doc_only:
        for name in args.names or BENCHMARKS:
            print(f"== bench {name}", flush=True)
            started = time.monotonic()
            code = subprocess.call([sys.executable, "-m", f"bench.{name}"])
            print(f"== bench {name}: exit {code} in {time.monotonic() - started:.0f} s", flush=True)
            if code:
                failed.append(name)
    results = []
    for name in BENCHMARKS:
        path = RESULTS_DIR / f"{name}.json"
        if path.exists():
            payload = json.loads(path.read_text())
            if "figures" in payload:
                results.append(payload)
    DOC.write_text(render_performance_doc(results))
    print(f"wrote {DOC}")
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
