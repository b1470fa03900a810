"""check_dataset's use case with an in-memory store: the dataset's URIs, or every reason it is unusable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mlops_common.domain.errors import DatasetNotUsable
from mlops_common.models import CheckDatasetInput
from mlops_common.services.check_dataset import check_dataset
from tests.unit.mlops_common.fakes import CHECK_DATASET, FakeDocuments

VERSION = "upload-20261112T1000-1a2b3c4d"
STATS_URI = f"s3://data-bucket/datasets/{VERSION}/stats.json"


def test_usable_dataset_gives_its_split_uris(load_event: Callable[[str], Any]) -> None:
    store = FakeDocuments({STATS_URI: load_event("stats")})
    result = check_dataset(CheckDatasetInput(dataset_version=VERSION), store=store, settings=CHECK_DATASET)
    assert result.train_uri == f"s3://data-bucket/datasets/{VERSION}/train/"
    assert result.labels == ["crack", "dent", "ok", "scratch"]


def test_missing_stats_is_not_usable() -> None:
    with pytest.raises(DatasetNotUsable, match="does not exist"):
        check_dataset(
            CheckDatasetInput(dataset_version=VERSION), store=FakeDocuments(), settings=CHECK_DATASET
        )


def test_malformed_stats_is_not_usable() -> None:
    store = FakeDocuments({STATS_URI: {"labels": "not a list"}})
    with pytest.raises(DatasetNotUsable, match="malformed"):
        check_dataset(CheckDatasetInput(dataset_version=VERSION), store=store, settings=CHECK_DATASET)
