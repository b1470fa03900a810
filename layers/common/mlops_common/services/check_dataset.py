"""Is the dataset the Glue job just wrote fit to train on?"""

from __future__ import annotations

from pydantic import ValidationError

from mlops_common.domain.dataset import dataset_problems
from mlops_common.domain.errors import DatasetNotUsable
from mlops_common.domain.run_plan import dataset_uri as dataset_prefix
from mlops_common.models import CheckDatasetInput, CheckDatasetOutput, DatasetStats
from mlops_common.observability import logger
from mlops_common.ports import JsonDocuments, ObjectNotFound
from mlops_common.settings import CheckDatasetSettings


def check_dataset(
    request: CheckDatasetInput, *, store: JsonDocuments, settings: CheckDatasetSettings
) -> CheckDatasetOutput:
    """The dataset's URIs and counts; ``DatasetNotUsable`` with every reason otherwise."""
    version = request.dataset_version
    dataset_uri = dataset_prefix(settings.data_bucket, version)
    try:
        stats = DatasetStats.model_validate(store.read_json(dataset_uri + "stats.json"))
    except ObjectNotFound as exc:
        raise DatasetNotUsable(version, [f"{dataset_uri}stats.json does not exist"]) from exc
    except (ValueError, ValidationError) as exc:
        raise DatasetNotUsable(version, [f"stats.json is malformed: {exc}"]) from exc

    problems = dataset_problems(stats, version, settings.min_images_per_class)
    if problems:
        logger.warning("dataset not usable", dataset_version=version, problems=problems)
        raise DatasetNotUsable(version, problems)
    logger.info("dataset usable", dataset_version=version, labels=sorted(stats.labels))
    return CheckDatasetOutput(
        dataset_version=version,
        dataset_uri=dataset_uri,
        train_uri=dataset_uri + "train/",
        validation_uri=dataset_uri + "validation/",
        test_uri=dataset_uri + "test/",
        labels=sorted(stats.labels),
        normal_class=stats.normal_class,
        accounting=stats.accounting,
        classes=stats.classes,
    )
