"""Identity-policy and key-policy evaluation for one request, as IAM documents it.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html: an
explicit Deny in any applicable policy wins; otherwise the request needs an Allow; otherwise it is
implicitly denied. A statement applies when its Action (or NotAction), its Resource (or
NotResource) and every one of its Conditions match the request.

moto has an evaluator (``moto.iam.access_control``), but it fits only its own use: it matches
actions case-sensitively and without ``?``, treats a statement with NotResource as matching every
resource, and turns an Allow whose condition key is missing into an explicit Deny. Here the
documented rules are followed for the elements and condition operators this stack's policies use;
a policy with an operator not handled here is refused loudly rather than guessed at.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


class UnsupportedPolicy(ValueError):
    """A policy element this evaluator does not implement (so it cannot decide honestly)."""


@dataclass(frozen=True)
class AuthorizationRequest:
    """What one API call asks IAM for: an action on a resource, with its condition keys."""

    action: str  # "s3:GetObject"
    resource: str  # an ARN, or "*" for actions without resource-level permissions
    context: Mapping[str, str] = field(default_factory=dict)  # "s3:prefix" -> "datasets/"
    # The KMS key behind an S3, SQS, SNS or Lambda call: denials name the KMS action and key.
    for_kms: bool = False


class Decision(enum.Enum):
    ALLOWED = "allowed"
    IMPLICIT_DENY = "no identity-based policy allows"
    EXPLICIT_DENY = "explicit deny in an identity-based policy"


def decide(documents: Iterable[str | Mapping[str, Any]], request: AuthorizationRequest) -> Decision:
    """The decision of a principal's identity policies on ``request``."""
    allowed = False
    for document in documents:
        for statement in _statements(document):
            if not _applies(statement, request):
                continue
            if statement.get("Effect") == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = True
    return Decision.ALLOWED if allowed else Decision.IMPLICIT_DENY


class KeyPolicyGrant(enum.Enum):
    """What a KMS key policy says about a principal and an action."""

    PRINCIPAL = "the key policy allows the principal itself"
    ACCOUNT = "the key policy lets IAM policies of the account decide"
    NONE = "the key policy allows neither"
    DENIED = "the key policy denies it"


def key_policy_grant(
    key_policy: str | Mapping[str, Any], request: AuthorizationRequest, *, principal_arn: str, role_arn: str
) -> KeyPolicyGrant:
    """How the key policy treats ``request`` from ``role_arn`` (whose session is ``principal_arn``).

    A key policy is a resource policy: only statements whose Principal covers the caller apply.
    ``arn:aws:iam::<account>:root`` delegates to the account's IAM policies
    (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam).
    """
    account = role_arn.split(":")[4]
    partition = role_arn.split(":")[1]
    root = f"arn:{partition}:iam::{account}:root"
    grant = KeyPolicyGrant.NONE
    for statement in _statements(key_policy):
        principals = _aws_principals(statement.get("Principal"))
        if not principals or not _applies(statement, request):
            continue
        names_caller = bool({"*", role_arn, principal_arn} & principals)
        names_account = bool({root, account} & principals)
        if statement.get("Effect") == "Deny" and (names_caller or names_account):
            return KeyPolicyGrant.DENIED
        if statement.get("Effect") == "Allow":
            if names_caller:
                grant = KeyPolicyGrant.PRINCIPAL
            elif names_account and grant is KeyPolicyGrant.NONE:
                grant = KeyPolicyGrant.ACCOUNT
    return grant


# -- statements --------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _parsed(document: str) -> tuple[dict[str, Any], ...]:
    statements = json.loads(document).get("Statement", [])
    return tuple(statements if isinstance(statements, list) else [statements])


def _statements(document: str | Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    return _parsed(document if isinstance(document, str) else json.dumps(document, sort_keys=True))


def _applies(statement: Mapping[str, Any], request: AuthorizationRequest) -> bool:
    if "Action" in statement:
        if not _any_match(statement["Action"], request.action, ignore_case=True):
            return False
    elif "NotAction" in statement:
        if _any_match(statement["NotAction"], request.action, ignore_case=True):
            return False
    else:
        return False
    if "Resource" in statement:
        if not _any_match(statement["Resource"], request.resource):
            return False
    elif "NotResource" in statement and _any_match(statement["NotResource"], request.resource):
        return False
    return _conditions_hold(statement.get("Condition") or {}, request.context)


def _aws_principals(principal: Any) -> set[str]:
    if principal == "*":
        return {"*"}
    if not isinstance(principal, Mapping):
        return set()
    aws = principal.get("AWS", [])
    return set([aws] if isinstance(aws, str) else aws)


def _any_match(patterns: str | list[str], value: str, *, ignore_case: bool = False) -> bool:
    return any(_wildcard(pattern, ignore_case).match(value) for pattern in _as_list(patterns))


@lru_cache(maxsize=2048)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """IAM's wildcards: ``*`` any run of characters, ``?`` any one (actions are case-insensitive)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{regex}$", re.IGNORECASE if ignore_case else 0)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# -- conditions --------------------------------------------------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html


def _string_equals(value: str, expected: str) -> bool:
    return value == expected


def _string_equals_ignore_case(value: str, expected: str) -> bool:
    return value.lower() == expected.lower()


def _string_like(value: str, expected: str) -> bool:
    return bool(_wildcard(expected, False).match(value))


def _bool(value: str, expected: str) -> bool:
    return value.lower() == str(expected).lower()


_OPERATORS = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (_string_equals_ignore_case, False),
    "StringNotEqualsIgnoreCase": (_string_equals_ignore_case, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "ArnEquals": (_string_like, False),  # ARN operators take wildcards in every segment
    "ArnLike": (_string_like, False),
    "ArnNotEquals": (_string_like, True),
    "ArnNotLike": (_string_like, True),
    "Bool": (_bool, False),
}


def _conditions_hold(conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    """Every operator and every key of the Condition block holds (keys are case-insensitive)."""
    values = {key.lower(): value for key, value in context.items()}
    for operator, keys in conditions.items():
        name = operator.split(":", 1)[-1]  # ForAnyValue:/ForAllValues: are the same for single values
        if_exists = name.endswith("IfExists")
        name = name.removesuffix("IfExists")
        for key, expected in keys.items():
            value = values.get(key.lower())
            if name == "Null":
                # "true": the key must be absent; "false": it must be present.
                if (value is None) != (str(expected).lower() == "true"):
                    return False
                continue
            if name not in _OPERATORS:
                raise UnsupportedPolicy(f"condition operator {operator} is not evaluated locally")
            compare, negated = _OPERATORS[name]
            if value is None:
                # A missing key fails every positive operator and satisfies the negated ones.
                if not (if_exists or negated):
                    return False
                continue
            matched = any(compare(value, str(candidate)) for candidate in _as_list(expected))
            if matched == negated:
                return False
    return True
