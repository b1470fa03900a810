"""sagemaker:create*.sync: unsupported by moto's engine; the workaround waits and names errors as AWS."""

from __future__ import annotations

import json
from collections.abc import Callable

from mlops_local.engine.moto_compat.sagemaker_sync_unsupported import WORKAROUND, sagemaker_error_name
from tests.unit.mlops_local.engine.conftest import TRAINING, run_state_machine, task

SYNC_TRAINING = task("arn:aws:states:::sagemaker:createTrainingJob.sync", TRAINING)
CONFIG_OF_A_MISSING_MODEL = task(
    "arn:aws:states:::sagemaker:createEndpointConfig",
    {
        "EndpointConfigName": "c",
        "ProductionVariants": [
            {
                "VariantName": "A",
                "ModelName": "nope",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    },
)


def test_stock_sagemaker_sync_is_unsupported(stock: None) -> None:
    described = run_state_machine(SYNC_TRAINING, {"name": "j1", "hp": {}})
    assert described["status"] == "FAILED"
    assert "Unsupported" in described["cause"]


def test_stock_rejected_call_is_not_named_after_sagemaker(stock: None) -> None:
    described = run_state_machine(CONFIG_OF_A_MISSING_MODEL)
    assert described["status"] == "FAILED"
    assert not described["error"].startswith("SageMaker.")


def test_the_workaround_alone_outputs_the_final_describe(apply: Callable[..., None]) -> None:
    apply(WORKAROUND)
    described = run_state_machine(SYNC_TRAINING, {"name": "j1", "hp": {"epochs": "1"}})
    assert described["status"] == "SUCCEEDED"
    job = json.loads(described["output"])
    assert job["TrainingJobStatus"] == "Completed"  # stock moto's job: completed at creation
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == "s3://artifacts/models/j1/output/model.tar.gz"
    assert isinstance(job["CreationTime"], int)


def test_the_workaround_alone_names_a_rejected_call_as_aws(apply: Callable[..., None]) -> None:
    apply(WORKAROUND)
    described = run_state_machine(CONFIG_OF_A_MISSING_MODEL)
    assert described["error"] == "SageMaker.AmazonSageMakerException"
    assert "Error Code: ValidationException" in described["cause"]


def test_error_names_follow_the_modelled_exceptions() -> None:
    assert sagemaker_error_name("ResourceLimitExceeded") == "SageMaker.ResourceLimitExceededException"
    assert sagemaker_error_name("ThrottlingException") == "SageMaker.AmazonSageMakerException"
    assert sagemaker_error_name("ValidationException") == "SageMaker.AmazonSageMakerException"
