"""One local SparkSession for every Spark test of the data-preparation job."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prepare_dataset import local_spark_session, ship_worker_modules
from pyspark.sql import SparkSession


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = local_spark_session(cores=2, app_name="prepare-dataset-tests")
    ship_worker_modules(session)
    yield session
    session.stop()
