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


def test_stats_of_another_version_is_a_problem(stats_doc: dict[str, Any]) -> None:
    stats_doc["dataset_version"] = "other"
    assert problems(stats_doc) == [f"stats.json is for other, expected {VERSION}"]


def test_unbalanced_accounting_is_a_problem(stats_doc: dict[str, Any]) -> None:
    stats_doc["accounting"]["uploaded"] = 813
    assert problems(stats_doc) == [
        "accounting does not balance: uploaded 813 != kept 800 + duplicates 4 + quarantined 8 (balanced=True)"
    ]


def test_balanced_flag_false_is_a_problem(stats_doc: dict[str, Any]) -> None:
    stats_doc["accounting"]["balanced"] = False
    assert any("accounting does not balance" in p for p in problems(stats_doc))


def test_negative_accounting_counts_are_a_problem_even_when_they_balance(stats_doc: dict[str, Any]) -> None:
    stats_doc["accounting"].update(uploaded=810, kept=815, duplicates=-5, quarantined=0)
    assert problems(stats_doc) == ["accounting has negative counts: duplicates -5"]


def test_every_negative_accounting_count_is_named(stats_doc: dict[str, Any]) -> None:
    stats_doc["accounting"].update(uploaded=-1, kept=0, duplicates=0, quarantined=-1)
    assert problems(stats_doc) == ["accounting has negative counts: uploaded -1, quarantined -1"]


def test_negative_split_count_is_a_problem(stats_doc: dict[str, Any]) -> None:
    stats_doc["classes"]["crack"]["test"] = -3
    assert problems(stats_doc) == ["class 'crack': negative count -3 in test"]


def test_duplicate_labels_are_a_problem(stats_doc: dict[str, Any]) -> None:
    stats_doc["labels"] = ["crack", "dent", "crack", "ok", "scratch", "dent"]
    assert problems(stats_doc) == ["labels listed more than once: ['crack', 'dent']"]


def test_small_class_is_named(stats_doc: dict[str, Any]) -> None:
    stats_doc["classes"]["dent"] = {"train": 5, "validation": 2, "test": 2}
    assert problems(stats_doc) == ["class 'dent': 9 images < minimum 20"]


def test_class_of_exactly_the_minimum_is_usable(stats_doc: dict[str, Any]) -> None:
    stats_doc["classes"]["dent"] = {"train": 16, "validation": 2, "test": 2}
    assert problems(stats_doc) == []


def test_class_missing_from_a_split_is_named(stats_doc: dict[str, Any]) -> None:
    stats_doc["classes"]["crack"]["test"] = 0
    assert problems(stats_doc) == ["class 'crack': no images in test"]


def test_every_class_without_counts_is_named(stats_doc: dict[str, Any]) -> None:
    del stats_doc["classes"]["crack"]
    del stats_doc["classes"]["dent"]
    assert problems(stats_doc) == [
        "class 'crack': no counts in stats.json",
        "class 'dent': no counts in stats.json",
    ]


def test_every_problem_is_listed(stats_doc: dict[str, Any]) -> None:
    stats_doc["accounting"]["kept"] = 1
    stats_doc["classes"]["crack"]["validation"] = 0
    stats_doc["classes"]["ok"] = {"train": 1, "validation": 1, "test": 1}
    stats_doc["dataset_version"] = "other"
    assert len(problems(stats_doc)) == 4


def test_two_classes_are_enough(stats_doc: dict[str, Any]) -> None:
    stats_doc["labels"] = ["crack", "ok"]
    assert problems(stats_doc) == []


def test_labels_holding_only_the_normal_class_are_a_problem(stats_doc: dict[str, Any]) -> None:
    stats_doc["labels"] = ["ok"]
    assert problems(stats_doc) == ["need at least 2 classes, found ['ok']"]


def test_missing_normal_class_and_single_class_are_problems(stats_doc: dict[str, Any]) -> None:
    stats_doc["labels"] = ["crack"]
    assert problems(stats_doc) == [
        "need at least 2 classes, found ['crack']",
        "normal class 'ok' has no images",
    ]
