"""Shared setup of the infrastructure tests: tool locations (the template as data: ``template``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, TEMPLATE

SAM = REPO_ROOT / ".venv-sam" / "bin" / "sam"
CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"


CFN_LINT = Path(sys.executable).parent / "cfn-lint"


def _tool(path: Path) -> Path:
    """Skip when a tool virtualenv was not created (``make setup`` creates it)."""
    if not path.exists():
        pytest.skip(f"{path} is missing: run `make setup` to create the tool virtualenvs")
    return path


@pytest.fixture(scope="session")
def sam_cli() -> Path:
    return _tool(SAM)


@pytest.fixture(scope="session")
def checkov_cli() -> Path:
    return _tool(CHECKOV)


@pytest.fixture(scope="session")
def cfn_lint_cli() -> Path:
    return _tool(CFN_LINT)


@pytest.fixture(scope="session")
def run_tool() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run a CLI tool offline and without credentials from the repository root."""
    environment = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}

    def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(part) for part in command],
            cwd=REPO_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    return run


@pytest.fixture(scope="session")
def template_path() -> Path:
    return TEMPLATE
