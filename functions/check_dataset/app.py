"""Lambda (CheckDataset task): is the prepared dataset usable? Raises ``DatasetNotUsable``."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlops_common.adapters.s3 import ObjectStore
from mlops_common.domain.errors import DatasetNotUsable
from mlops_common.models import CheckDatasetInput
from mlops_common.observability import logger, metrics, tracer
from mlops_common.services.check_dataset import check_dataset
from mlops_common.settings import CheckDatasetSettings, settings_for

# Lambda reports the exception's class name as errorType: the ASL catches "DatasetNotUsable".
__all__ = ["DatasetNotUsable", "lambda_handler"]

# Read at cold start: a missing variable fails the init, not a run halfway through.
SETTINGS = settings_for(CheckDatasetSettings)


# The ASL passes the execution name as the dataset version: every log line carries it.
@logger.inject_lambda_context(correlation_id_path="dataset_version", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = CheckDatasetInput.model_validate(event)
    result = check_dataset(request, store=ObjectStore(), settings=SETTINGS)
    return result.to_json()
