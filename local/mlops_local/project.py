"""Where the project being run lives: the folder holding ``template.yaml``, as SAM CLI finds it.

The local runtime is an installed package, so it cannot know the project's folder from its own
location. Like ``sam``, it works on the current directory (or the nearest parent holding a
``template.yaml``); ``MLOPS_PROJECT_DIR`` names the folder explicitly.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

TEMPLATE_NAME = "template.yaml"
PROJECT_DIR_VARIABLE = "MLOPS_PROJECT_DIR"


class ProjectNotFoundError(RuntimeError):
    """No folder with a ``template.yaml`` was found."""


def project_root(start: Path | None = None) -> Path:
    """The project folder: ``$MLOPS_PROJECT_DIR``, else the nearest folder up from ``start`` (or cwd)."""
    explicit = os.getenv(PROJECT_DIR_VARIABLE)
    if explicit:
        root = Path(explicit).resolve()
        if not (root / TEMPLATE_NAME).is_file():
            raise ProjectNotFoundError(f"{PROJECT_DIR_VARIABLE}={explicit} holds no {TEMPLATE_NAME}")
        return root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / TEMPLATE_NAME).is_file():
            return folder
    raise ProjectNotFoundError(
        f"no {TEMPLATE_NAME} in {here} or any folder above it: run from the project folder "
        f"or set {PROJECT_DIR_VARIABLE}"
    )


def local_state_dir(root: Path | None = None) -> Path:
    """The project's ``.local`` folder: run reports, the control API's address."""
    return (root or project_root()) / ".local"


def flat_module(name: str, root: Path | None = None) -> ModuleType:
    """Import one of the project's flat modules from ``monitoring/`` or ``training/`` by bare name.

    They are written for SageMaker, which puts the code folder itself on ``sys.path``, and they
    import each other by bare name; the runtime does the same.
    """
    base = root or project_root()
    for folder in (base / "monitoring", base / "training"):
        if str(folder) not in sys.path:
            sys.path.append(str(folder))
    return importlib.import_module(name)
