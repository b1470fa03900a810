"""Intrinsic functions evaluated as CloudFormation does."""

from __future__ import annotations

import pytest

from mlops_local.engine.intrinsics import IntrinsicError, IntrinsicResolver


def _resolver() -> IntrinsicResolver:
    resources = {"Bucket": "my-bucket"}
    return IntrinsicResolver(
        parameters={"Env": "dev", "Subnets": ["s-1", "s-2"]},
        pseudo={"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"},
        mappings={"Sizes": {"dev": {"Workers": 2}}},
        conditions={
            "IsDev": {"Fn::Equals": [{"Ref": "Env"}, "dev"]},
            "IsProd": {"Fn::Not": [{"Condition": "IsDev"}]},
        },
        ref=resources.__getitem__,
        get_att=lambda lid, attr: f"arn:aws:s3:::{resources[lid]}" if attr == "Arn" else None,
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"Fn::Sub": "${Bucket}-${Env}-${AWS::Region}"}, "my-bucket-dev-us-east-1"),
        ({"Fn::Sub": "${Bucket.Arn}/*"}, "arn:aws:s3:::my-bucket/*"),
        ({"Fn::Sub": ["${x}-${!Literal}", {"x": {"Ref": "Env"}}]}, "dev-${Literal}"),
        ({"Fn::Join": [",", ["a", {"Ref": "Env"}]]}, "a,dev"),
        ({"Fn::If": ["IsProd", "big", "small"]}, "small"),
        ({"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Workers"]}, 2),
        ({"Fn::Select": [1, {"Ref": "Subnets"}]}, "s-2"),
        ({"Fn::Split": ["/", "a/b"]}, ["a", "b"]),
        ({"Fn::And": [{"Condition": "IsDev"}, {"Fn::Or": [{"Condition": "IsProd"}, True]}]}, True),
        ({"Fn::Select": [0, {"Fn::GetAZs": ""}]}, "us-east-1a"),
        ({"Fn::GetAtt": "Bucket.Arn"}, "arn:aws:s3:::my-bucket"),
    ],
)
def test_intrinsics(expression: dict, expected: object) -> None:
    assert _resolver().resolve(expression) == expected


def test_no_value_removes_the_key() -> None:
    assert _resolver().resolve({"A": {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]}, "B": 2}) == {"B": 2}


def test_import_value_is_an_error() -> None:
    with pytest.raises(IntrinsicError, match="ImportValue"):
        _resolver().resolve({"Fn::ImportValue": "shared-vpc"})


def test_an_unknown_function_is_an_error() -> None:
    with pytest.raises(IntrinsicError, match="Fn::Cidr"):
        _resolver().resolve({"Fn::Cidr": ["10.0.0.0/16", 2, 8]})
