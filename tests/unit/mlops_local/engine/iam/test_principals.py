"""Role sessions: each function, state machine and job has credentials of its own that name it."""

from __future__ import annotations

from mlops_local.engine.iam.principals import RoleSession, credentials_for, session_of

ROLE = "arn:aws:iam::123456789012:role/service-role/stack-CheckDatasetRole-ABC"


def test_a_session_is_named_as_aws_names_assumed_roles() -> None:
    session = RoleSession(ROLE, "stack-CheckDataset")
    assert session.role_name == "stack-CheckDatasetRole-ABC"
    assert (
        session.arn == "arn:aws:sts::123456789012:assumed-role/stack-CheckDatasetRole-ABC/stack-CheckDataset"
    )


def test_credentials_are_stable_per_session_and_say_whose_they_are() -> None:
    first = credentials_for(RoleSession(ROLE, "a"))
    again = credentials_for(RoleSession(ROLE, "a"))
    other = credentials_for(RoleSession(ROLE, "b"))
    assert first == again
    assert first.access_key != other.access_key
    assert first.access_key.startswith("ASIA")
    assert len(first.access_key) == 20
    assert session_of(first.access_key) == RoleSession(ROLE, "a")
    assert session_of("local") is None
    assert session_of(None) is None
    assert set(first.as_environment()) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
