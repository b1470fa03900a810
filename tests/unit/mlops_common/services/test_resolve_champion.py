"""resolve_champion's use case with a fake registry: the champion's package and the live endpoint."""

from __future__ import annotations

from mlops_common.services.resolve_champion import resolve_champion
from tests.unit.mlops_common.fakes import RESOLVE_CHAMPION, FakeSageMaker

# CustomerMetadataProperties as the training pipeline's RegisterModel state writes them (strings).
METADATA = {
    "execution": "upload-20261112T1000-1a2b3c4d",
    "dataset_version": "upload-20261112T1000-1a2b3c4d",
    "training_job": "1a2b3c4d-hpo-5e6f7a8b-003-0c9d8e7f",
    "tuning_job": "1a2b3c4d-hpo-5e6f7a8b",
    "gate_passed": "true",
    "accuracy": "0.97",
    "macro_f1": "0.96",
    "min_defect_recall": "0.95",
}
PACKAGE = {
    "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/defect-classifier/2",
    "InferenceSpecification": {"Containers": [{"ModelDataUrl": "s3://a/models/v2/model.tar.gz"}]},
    "CustomerMetadataProperties": METADATA,
}


def test_no_package_and_no_endpoint_means_no_champion() -> None:
    result = resolve_champion(sagemaker=FakeSageMaker(), settings=RESOLVE_CHAMPION)
    assert (result.has_champion, result.endpoint_exists, result.model_data_url) == (False, False, None)


def test_approved_package_and_endpoint_are_reported() -> None:
    sagemaker = FakeSageMaker(package=PACKAGE, endpoint={"EndpointConfigName": "cfg-1"})
    result = resolve_champion(sagemaker=sagemaker, settings=RESOLVE_CHAMPION)
    assert result.has_champion is True
    assert result.model_data_url == "s3://a/models/v2/model.tar.gz"
    assert (result.endpoint_exists, result.endpoint_config_name) == (True, "cfg-1")


def test_the_champions_tuning_job_is_the_warm_start_parent() -> None:
    result = resolve_champion(sagemaker=FakeSageMaker(package=PACKAGE), settings=RESOLVE_CHAMPION)
    assert result.previous_tuning_job == "1a2b3c4d-hpo-5e6f7a8b"


def test_the_champions_model_version_is_its_training_job() -> None:
    result = resolve_champion(sagemaker=FakeSageMaker(package=PACKAGE), settings=RESOLVE_CHAMPION)
    assert result.model_version == "1a2b3c4d-hpo-5e6f7a8b-003-0c9d8e7f"


def test_a_package_registered_without_metadata_is_still_the_champion() -> None:
    package = {key: value for key, value in PACKAGE.items() if key != "CustomerMetadataProperties"}
    result = resolve_champion(sagemaker=FakeSageMaker(package=package), settings=RESOLVE_CHAMPION)
    assert (result.has_champion, result.model_version, result.previous_tuning_job) == (True, None, None)
