"""Role sessions: the temporary credentials a function, state machine or job acts with.

On AWS, Lambda puts its execution role's session credentials in the function's environment
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``), Step Functions signs its
task calls with the state machine's role, and Glue and SageMaker jobs read and write with the role
they were given. Locally every session gets credentials of its own, derived from the role and the
session name, so the access key of any signed call says who made it.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

# Session names AWS uses for its services' sessions are not documented for every service; these
# only need to be readable in an AccessDenied message.
GLUE_SESSION = "GlueJobRunnerSession"
SAGEMAKER_SESSION = "SageMaker"


@dataclass(frozen=True)
class RoleSession:
    """One assumed-role session: the role's permissions under a session name."""

    role_arn: str
    session_name: str

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]

    @property
    def arn(self) -> str:
        """The principal ARN AWS names in errors: ``arn:aws:sts::<account>:assumed-role/<role>/<session>``."""
        partition, account = self.role_arn.split(":")[1], self.role_arn.split(":")[4]
        return f"arn:{partition}:sts::{account}:assumed-role/{self.role_name}/{self.session_name}"


@dataclass(frozen=True)
class SessionCredentials:
    access_key: str
    secret_key: str
    token: str

    def as_environment(self) -> dict[str, str]:
        """The variables Lambda sets for a function's execution role."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_SESSION_TOKEN": self.token,
        }

    def as_client_arguments(self) -> dict[str, str]:
        return {
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
            "aws_session_token": self.token,
        }


_sessions: dict[str, RoleSession] = {}
_lock = threading.Lock()


def credentials_for(session: RoleSession) -> SessionCredentials:
    """The session's credentials (the same every time), remembered so ``session_of`` finds them."""
    digest = hashlib.sha256(f"{session.role_arn}|{session.session_name}".encode()).hexdigest().upper()
    # Temporary credentials from STS start with ASIA.
    credentials = SessionCredentials(access_key="ASIA" + digest[:16], secret_key=digest[16:56], token=digest)
    with _lock:
        _sessions[credentials.access_key] = session
    return credentials


def session_of(access_key: str | None) -> RoleSession | None:
    """The role session these credentials belong to; None for anyone else (the operator, tests)."""
    if not access_key:
        return None
    return _sessions.get(access_key)
