"""Policy evaluation: an explicit deny wins, an allow is needed, conditions decide if a statement applies."""

from __future__ import annotations

import pytest

from mlops_local.engine.iam.policies import (
    AuthorizationRequest,
    Decision,
    KeyPolicyGrant,
    UnsupportedPolicy,
    decide,
    key_policy_grant,
)

BUCKET = "arn:aws:s3:::data"
ROLE = "arn:aws:iam::123456789012:role/app"
SESSION = "arn:aws:sts::123456789012:assumed-role/app/fn"


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | list[str], resource: str | list[str], **extra: object) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_an_action_no_statement_allows_is_implicitly_denied() -> None:
    documents = [policy(allow("s3:GetObject", f"{BUCKET}/*"))]
    assert decide(documents, AuthorizationRequest("s3:PutObject", f"{BUCKET}/a")) is Decision.IMPLICIT_DENY
    assert decide(documents, AuthorizationRequest("s3:GetObject", f"{BUCKET}/a")) is Decision.ALLOWED


def test_an_explicit_deny_wins_over_any_allow() -> None:
    documents = [
        policy(allow("s3:*", "*")),
        policy({"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": f"{BUCKET}/*"}),
    ]
    assert decide(documents, AuthorizationRequest("s3:DeleteObject", f"{BUCKET}/a")) is Decision.EXPLICIT_DENY
    assert decide(documents, AuthorizationRequest("s3:GetObject", f"{BUCKET}/a")) is Decision.ALLOWED


def test_actions_match_without_case_and_with_both_wildcards_resources_with_case() -> None:
    documents = [policy(allow("SQS:SendMessage*", "arn:aws:sqs:us-east-1:1:q?"))]
    assert (
        decide(documents, AuthorizationRequest("sqs:sendmessage", "arn:aws:sqs:us-east-1:1:q1")).name
        == "ALLOWED"
    )
    assert (
        decide(documents, AuthorizationRequest("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:Q1"))
        is Decision.IMPLICIT_DENY
    )
    assert (
        decide(documents, AuthorizationRequest("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q12"))
        is Decision.IMPLICIT_DENY
    )


def test_not_action_and_not_resource_exclude_what_they_name() -> None:
    documents = [
        policy({"Effect": "Allow", "NotAction": "s3:DeleteObject", "NotResource": f"{BUCKET}/secret/*"})
    ]
    assert decide(documents, AuthorizationRequest("s3:GetObject", f"{BUCKET}/a")) is Decision.ALLOWED
    assert decide(documents, AuthorizationRequest("s3:DeleteObject", f"{BUCKET}/a")) is Decision.IMPLICIT_DENY
    assert (
        decide(documents, AuthorizationRequest("s3:GetObject", f"{BUCKET}/secret/x"))
        is Decision.IMPLICIT_DENY
    )


def test_a_listing_outside_the_allowed_prefixes_is_denied() -> None:
    documents = [
        policy(allow("s3:ListBucket", BUCKET, Condition={"StringLike": {"s3:prefix": ["datasets/*"]}}))
    ]
    listing = AuthorizationRequest("s3:ListBucket", BUCKET, {"s3:prefix": "datasets/v1/"})
    assert decide(documents, listing) is Decision.ALLOWED
    assert (
        decide(documents, AuthorizationRequest("s3:ListBucket", BUCKET, {"s3:prefix": "incoming/"})).name
        == "IMPLICIT_DENY"
    )
    # No prefix: the key is missing, so the Allow does not apply (it is not turned into a Deny).
    assert decide(documents, AuthorizationRequest("s3:ListBucket", BUCKET)) is Decision.IMPLICIT_DENY


def test_pass_role_only_to_the_named_service() -> None:
    documents = [
        policy(
            allow(
                "iam:PassRole",
                ROLE,
                Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
    ]
    to_sagemaker = AuthorizationRequest(
        "iam:PassRole", ROLE, {"iam:PassedToService": "sagemaker.amazonaws.com"}
    )
    to_glue = AuthorizationRequest("iam:PassRole", ROLE, {"iam:passedtoservice": "glue.amazonaws.com"})
    assert decide(documents, to_sagemaker) is Decision.ALLOWED
    assert decide(documents, to_glue) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize(
    ("condition", "context", "applies"),
    [
        ({"StringNotEquals": {"k": "a"}}, {}, True),  # negated operators hold for a missing key
        ({"StringNotEquals": {"k": "a"}}, {"k": "a"}, False),
        ({"StringEqualsIfExists": {"k": "a"}}, {}, True),
        ({"StringEqualsIfExists": {"k": "a"}}, {"k": "b"}, False),
        ({"Null": {"k": "true"}}, {}, True),
        ({"Null": {"k": "false"}}, {}, False),
        (
            {"ArnLike": {"k": "arn:aws:logs:*:1:log-group:*"}},
            {"k": "arn:aws:logs:us-east-1:1:log-group:g"},
            True,
        ),
        ({"Bool": {"k": "true"}}, {"k": "True"}, True),
        ({"ForAnyValue:StringLike": {"k": ["x*", "y*"]}}, {"k": "yes"}, True),
    ],
)
def test_condition_operators(condition: dict, context: dict, applies: bool) -> None:
    documents = [policy(allow("s3:GetObject", "*", Condition=condition))]
    decision = decide(documents, AuthorizationRequest("s3:GetObject", f"{BUCKET}/a", context))
    assert (decision is Decision.ALLOWED) is applies


def test_an_operator_not_implemented_is_refused_loudly() -> None:
    documents = [
        policy(allow("s3:GetObject", "*", Condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01"}}))
    ]
    with pytest.raises(UnsupportedPolicy, match="DateGreaterThan"):
        decide(documents, AuthorizationRequest("s3:GetObject", f"{BUCKET}/a"))


def test_a_key_policy_delegates_to_iam_through_the_account_root() -> None:
    key_policy = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    request = AuthorizationRequest("kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/k")
    assert (
        key_policy_grant(key_policy, request, principal_arn=SESSION, role_arn=ROLE) is KeyPolicyGrant.ACCOUNT
    )


def test_a_key_policy_that_names_the_role_grants_it_and_one_that_names_neither_grants_nothing() -> None:
    request = AuthorizationRequest("kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/k")
    names_role = policy(
        {"Effect": "Allow", "Principal": {"AWS": [ROLE]}, "Action": ["kms:Decrypt"], "Resource": "*"}
    )
    services_only = policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    assert (
        key_policy_grant(names_role, request, principal_arn=SESSION, role_arn=ROLE)
        is KeyPolicyGrant.PRINCIPAL
    )
    assert (
        key_policy_grant(services_only, request, principal_arn=SESSION, role_arn=ROLE) is KeyPolicyGrant.NONE
    )
