"""The planning package stands alone: installed, it needs neither the checkout nor the other packages."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from importlib import resources

import mlops_planning

MODULES = sorted(f"mlops_planning.{m.name}" for m in pkgutil.iter_modules(mlops_planning.__path__))


def test_the_package_imports_neither_the_runtime_nor_the_lambda_layer():
    # A fresh interpreter, so that modules other tests imported do not count.
    script = (
        "import importlib, sys\n"
        f"for name in {[m for m in MODULES if m != 'mlops_planning.__main__']!r}:\n"
        "    importlib.import_module(name)\n"
        "others = {m.split('.')[0] for m in sys.modules if m.startswith(('mlops_local', 'mlops_common'))}\n"
        "print(sorted(others))\n"
    )

    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"


def test_no_module_finds_files_relative_to_its_own_location():
    # Paths from __file__ would point into a checkout an installed package does not have.
    for name in MODULES:
        source = resources.files("mlops_planning").joinpath(name.rsplit(".", 1)[1] + ".py").read_text()
        assert "__file__" not in source, name


def test_the_modules_are_the_planning_roles():
    assert MODULES == [
        "mlops_planning.__main__",
        "mlops_planning.budget",
        "mlops_planning.cli",
        "mlops_planning.cost_model",
        "mlops_planning.decisions",
        "mlops_planning.planner",
        "mlops_planning.render",
        "mlops_planning.requirements",
        "mlops_planning.run_cost",
        "mlops_planning.samconfig",
        "mlops_planning.template_parameters",
    ]
