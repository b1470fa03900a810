"""Dataset usability rules over stats.json."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_common.domain.dataset import dataset_problems
from mlops_common.models import DatasetStats

VERSION = "upload-20261112T1000-1a2b3c4d"


@pytest.fixture
def stats_doc(load_event: Any) -> dict[str, Any]:
    return load_event("stats")


def problems(doc: dict[str, Any], minimum: int = 20) -> list[str]:
    return dataset_problems(DatasetStats.model_validate(doc), VERSION, minimum)


def test_sample_dataset_is_usable(stats_doc: dict[str, Any]) -> None:
    assert problems(stats_doc) == []


def test_unbalanced_accounting_is_a_problem(stats_doc: dict[str, Any]) -> None:
    stats_doc["accounting"]["uploaded"] = 813
    assert any("accounting does not balance" in p for p in problems(stats_doc))


def test_balanced_flag_false_is_a_problem(stats_doc: dict[str, Any]) -> None:
    stats_doc["accounting"]["balanced"] = False
    assert any("accounting does not balance" in p for p in problems(stats_doc))


def test_small_class_is_named(stats_doc: dict[str, Any]) -> None:
    stats_doc["classes"]["dent"] = {"train": 5, "validation": 2, "test": 2}
    assert problems(stats_doc) == ["class 'dent': 9 images < minimum 20"]


def test_class_missing_from_a_split_is_named(stats_doc: dict[str, Any]) -> None:
    stats_doc["classes"]["crack"]["test"] = 0
    assert problems(stats_doc) == ["class 'crack': no images in test"]


def test_every_problem_is_listed(stats_doc: dict[str, Any]) -> None:
    stats_doc["accounting"]["kept"] = 1
    stats_doc["classes"]["crack"]["validation"] = 0
    stats_doc["classes"]["ok"] = {"train": 1, "validation": 1, "test": 1}
    stats_doc["dataset_version"] = "other"
    assert len(problems(stats_doc)) == 4


def test_missing_normal_class_and_single_class_are_problems(stats_doc: dict[str, Any]) -> None:
    stats_doc["labels"] = ["crack"]
    found = problems(stats_doc)
    assert any("at least 2 classes" in p for p in found)
    assert any("normal class 'ok'" in p for p in found)
