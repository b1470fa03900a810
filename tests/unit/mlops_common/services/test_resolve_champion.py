"""resolve_champion's use case with a fake registry: the champion's package and the live endpoint."""

from __future__ import annotations

from mlops_common.services.resolve_champion import resolve_champion
from tests.unit.mlops_common.fakes import RESOLVE_CHAMPION, FakeSageMaker

PACKAGE = {
    "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/defect-classifier/2",
    "InferenceSpecification": {"Containers": [{"ModelDataUrl": "s3://a/models/v2/model.tar.gz"}]},
    "CustomerMetadataProperties": {"model_version": "v2", "tuning_job_name": "tune-v2"},
}


def test_no_package_and_no_endpoint_means_no_champion() -> None:
    result = resolve_champion(sagemaker=FakeSageMaker(), settings=RESOLVE_CHAMPION)
    assert (result.has_champion, result.endpoint_exists, result.model_data_url) == (False, False, None)


def test_approved_package_and_endpoint_are_reported() -> None:
    sagemaker = FakeSageMaker(package=PACKAGE, endpoint={"EndpointConfigName": "cfg-1"})
    result = resolve_champion(sagemaker=sagemaker, settings=RESOLVE_CHAMPION)
    assert result.has_champion is True
    assert (result.model_version, result.previous_tuning_job) == ("v2", "tune-v2")
    assert (result.endpoint_exists, result.endpoint_config_name) == (True, "cfg-1")
