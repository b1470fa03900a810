"""IAM policy documents without ``Version``.

SAM's generated inline policies have no ``Version``; provisioning passes them to moto as they are.
"""

from __future__ import annotations

from typing import Any

from moto.iam.policy_validation import IAMPolicyDocumentValidator

from mlops_local.engine.moto_compat.registry import Workaround
from mlops_local.engine.patching import Patches, replace


def _patches() -> Patches:
    stock = IAMPolicyDocumentValidator._validate_version

    def validate_version(validator: Any) -> None:
        if "Version" in validator._policy_json:
            stock(validator)

    yield replace(IAMPolicyDocumentValidator, "_validate_version", validate_version)


WORKAROUND = Workaround(
    name="iam_policy_without_version",
    moto_does="rejects an identity policy document without Version (PutRolePolicy: MalformedPolicyDocument)",
    aws_does="accepts it: Version is optional (it then defaults to 2008-10-17)",
    applies_to="==5.2.5",
    patches=_patches,
)
