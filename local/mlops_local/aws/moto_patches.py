"""Every place where moto 5.2.5 differs from AWS in a way the local runtime depends on.

Each workaround says what moto does and what AWS does; ``tests/unit/mlops_local/aws/
test_moto_patches.py`` shows, for each one, that stock moto still behaves that way (so an upgrade
that fixes or changes it fails loudly) and that the patched behaviour matches AWS.
"""

from __future__ import annotations

from typing import Any

# -- IAM policy documents without a Version ----------------------------------------------------
# moto: PutRolePolicy rejects a document without "Version" (MalformedPolicyDocument).
# AWS: "Version" is optional (the 2008-10-17 language applies); SAM's policy templates omit it.


def versioned_policy(document: dict[str, Any]) -> dict[str, Any]:
    """The policy document with ``Version: 2012-10-17`` when it has none, so moto accepts it."""
    return document if "Version" in document else {"Version": "2012-10-17", **document}
