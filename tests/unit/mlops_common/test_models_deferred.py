"""Models build their validators on first use, so a cold start builds only the ones it needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlops_common

LAYER_ROOT = Path(mlops_common.__file__).resolve().parent.parent

_PROBE = """
import json
from mlops_common import models
before = models.GateThresholds.__pydantic_complete__
models.GateThresholds.model_validate({"min_accuracy": 0.9, "min_defect_recall": 0.8, "champion_margin": 0.0})
print(json.dumps({"before": before, "after": models.GateThresholds.__pydantic_complete__}))
"""


def test_a_model_is_built_on_first_validation_not_at_import() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env={**os.environ, "PYTHONPATH": str(LAYER_ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(completed.stdout) == {"before": False, "after": True}
