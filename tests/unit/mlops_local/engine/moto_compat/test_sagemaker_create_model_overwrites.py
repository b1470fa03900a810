"""CreateModel of an existing name: moto replaces the model; AWS refuses with ValidationException."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mlops_local.engine.moto_compat.sagemaker_create_model_overwrites import WORKAROUND
from tests.unit.mlops_local.engine.conftest import client

MODEL_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model/batch-abc"


def _create(sagemaker: Any, image: str) -> None:
    sagemaker.create_model(
        ModelName="batch-abc",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
        PrimaryContainer={"Image": image, "ModelDataUrl": "s3://b/model.tar.gz"},
    )


def test_stock_create_model_replaces_an_existing_model(stock: None) -> None:
    sagemaker = client("sagemaker")
    _create(sagemaker, "first")
    _create(sagemaker, "second")
    assert sagemaker.describe_model(ModelName="batch-abc")["PrimaryContainer"]["Image"] == "second"


def test_the_workaround_alone_refuses_the_second_create_in_aws_words(apply: Callable[..., None]) -> None:
    apply(WORKAROUND)
    sagemaker = client("sagemaker")
    _create(sagemaker, "first")
    with pytest.raises(ClientError) as refused:
        _create(sagemaker, "second")
    assert refused.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": f'Cannot create already existing model "{MODEL_ARN}".',
    }
    assert sagemaker.describe_model(ModelName="batch-abc")["PrimaryContainer"]["Image"] == "first"
