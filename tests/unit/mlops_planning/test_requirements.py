"""Requirements from a YAML profile and flags: validation, precedence, task names."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_planning.requirements import REQUIREMENT_NAMES, Requirements, load_requirements, normalise_task


def test_requirements_reject_unknown_fields(tmp_path):
    profile = tmp_path / "typo.yaml"
    profile.write_text("images_per_dya: 10\n")

    with pytest.raises(ValueError, match="images_per_dya"):
        load_requirements(profile, {})


def test_flags_override_the_profile(profiles: Path):
    requirements = load_requirements(
        profiles / "small_line.yaml", {"requests_per_second": 3.0, "retrain": None}
    )

    assert requirements.requests_per_second == 3.0
    assert requirements.retrain == "weekly"


def test_profile_names_may_use_dashes(tmp_path):
    profile = tmp_path / "dashes.yaml"
    profile.write_text("images-total: 500\nrequests-per-second: 2\n")

    requirements = load_requirements(profile, {})

    assert (requirements.images_total, requirements.requests_per_second) == (500, 2.0)


def test_a_profile_must_be_a_mapping(tmp_path):
    profile = tmp_path / "list.yaml"
    profile.write_text("- images_total: 500\n")

    with pytest.raises(ValueError, match="mapping"):
        load_requirements(profile, {})


def test_no_profile_and_no_flags_is_the_defaults():
    assert load_requirements(None, {}) == Requirements()


def test_every_requirement_has_a_name_for_its_flag():
    assert set(REQUIREMENT_NAMES) == set(Requirements.model_fields)


@pytest.mark.parametrize(
    ("task", "canonical"),
    [
        ("Image-Classification", "image_classification"),
        ("object-detection", "object_detection"),
        ("Object Detection", "object_detection"),
        ("nlp", "text"),
        ("forecasting", "tabular"),
        ("something_else", "something_else"),
    ],
)
def test_task_names_are_normalised(task: str, canonical: str):
    assert normalise_task(task) == canonical
