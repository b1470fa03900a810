"""Draws docs/images/<machine>.png: each state machine as the run report draws it, whole.

Run after changing an ASL file: ``.venv/bin/python scripts/draw_state_machines.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlops_local import report

ROOT = Path(__file__).resolve().parent.parent
MACHINES = {
    "training_pipeline": "Training pipeline: every state; blue tasks, orange decisions, dashed error paths",
    "batch_inference": "Batch inference: every state; blue tasks, orange decisions, dashed error paths",
}


def main() -> None:
    for machine, title in MACHINES.items():
        definition = json.loads((ROOT / "statemachines" / f"{machine}.asl.json").read_text(encoding="utf-8"))
        figure = report.draw_state_machine(definition, [], title=title)
        target = ROOT / "docs" / "images" / f"{machine}.png"
        figure.savefig(target, dpi=110)
        print(target.relative_to(ROOT))


if __name__ == "__main__":
    main()
