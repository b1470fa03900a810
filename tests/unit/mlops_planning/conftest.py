"""The planning tests' inputs: the requirement profiles and the repository's template, by explicit path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlops_planning.planner import Recommendation, recommend
from mlops_planning.requirements import load_requirements
from mlops_planning.template_parameters import load_template_parameters

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def profiles() -> Path:
    """The folder of example requirement profiles."""
    return Path(__file__).parent / "recommend_profiles"


@pytest.fixture(scope="session")
def template_path() -> Path:
    """The repository's template.yaml (planning never finds it on its own)."""
    return ROOT / "template.yaml"


@pytest.fixture(scope="session")
def template_parameters(template_path: Path) -> dict[str, dict[str, Any]] | None:
    """The template's Parameters, or None until the template exists."""
    return load_template_parameters(template_path) if template_path.is_file() else None


@pytest.fixture(scope="session")
def recommend_profile(
    profiles: Path, template_parameters: dict[str, dict[str, Any]] | None
) -> Callable[[str], Recommendation]:
    """The recommendation for a profile, checked against the template; computed once per profile."""
    answers: dict[str, Recommendation] = {}

    def _recommend(profile: str) -> Recommendation:
        if profile not in answers:
            requirements = load_requirements(profiles / f"{profile}.yaml", {})
            answers[profile] = recommend(requirements, template_parameters=template_parameters)
        return answers[profile].model_copy(deep=True)

    return _recommend
