"""moto rejects IAM policy documents without Version; AWS accepts them."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError

from mlops_local.engine.moto_compat.iam_policy_without_version import WORKAROUND
from tests.unit.mlops_local.engine.conftest import client

DOCUMENT = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


def test_stock_moto_rejects_a_policy_without_version(stock: None) -> None:
    client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    with pytest.raises(ClientError, match="MalformedPolicyDocument"):
        client("iam").put_role_policy(RoleName="r", PolicyName="p", PolicyDocument=json.dumps(DOCUMENT))
    client("iam").put_role_policy(
        RoleName="r", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", **DOCUMENT})
    )


def test_the_workaround_alone_accepts_it(apply: Callable[..., None]) -> None:
    apply(WORKAROUND)
    client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    client("iam").put_role_policy(RoleName="r", PolicyName="p", PolicyDocument=json.dumps(DOCUMENT))
    stored = client("iam").get_role_policy(RoleName="r", PolicyName="p")["PolicyDocument"]
    assert stored["Statement"] == DOCUMENT["Statement"]


def test_a_version_moto_does_not_know_is_still_rejected(apply: Callable[..., None]) -> None:
    apply(WORKAROUND)
    client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    with pytest.raises(ClientError, match="MalformedPolicyDocument"):
        client("iam").put_role_policy(
            RoleName="r", PolicyName="p", PolicyDocument=json.dumps({"Version": "2099-01-01", **DOCUMENT})
        )
