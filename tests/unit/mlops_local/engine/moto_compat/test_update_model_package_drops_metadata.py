"""UpdateModelPackage: moto erases CustomerMetadataProperties left out of the request; AWS keeps them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlops_local.engine.moto_compat.update_model_package_drops_metadata import WORKAROUND
from tests.unit.mlops_local.engine.conftest import client


def _approved_package(sagemaker: Any) -> str:
    sagemaker.create_model_package_group(ModelPackageGroupName="defects")
    return str(
        sagemaker.create_model_package(
            ModelPackageGroupName="defects",
            ModelApprovalStatus="Approved",
            CustomerMetadataProperties={"accuracy": "0.97"},
            InferenceSpecification={
                "Containers": [{"Image": "inference:latest", "ModelDataUrl": "s3://b/model.tar.gz"}],
                "SupportedContentTypes": ["image/png"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
        )["ModelPackageArn"]
    )


def _reject(sagemaker: Any, arn: str) -> dict[str, Any]:
    sagemaker.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Rejected", ApprovalDescription="why"
    )
    return dict(sagemaker.describe_model_package(ModelPackageName=arn))


def test_stock_update_model_package_drops_the_metadata(stock: None) -> None:
    sagemaker = client("sagemaker")
    described = _reject(sagemaker, _approved_package(sagemaker))
    assert described.get("CustomerMetadataProperties") is None


def test_the_workaround_alone_keeps_the_metadata(apply: Callable[..., None]) -> None:
    apply(WORKAROUND)
    sagemaker = client("sagemaker")
    described = _reject(sagemaker, _approved_package(sagemaker))
    assert (described["ModelApprovalStatus"], described["ApprovalDescription"]) == ("Rejected", "why")
    assert described["CustomerMetadataProperties"] == {"accuracy": "0.97"}
