"""IAM enforced per role: every call the stack's code makes is allowed or refused as on AWS.

Each Lambda invocation runs with its execution role's session credentials, the Step Functions
engine signs its task calls as the state machine's role (moto's engine names the role to every
client it creates but signs with one fixed key), and Glue and SageMaker jobs read and write
as the role they were given (``engine.iam.principals``). Before any boto3 call reaches moto, the
caller's role policies (and, for KMS, the key policy) decide what it asks for
(``engine.iam.requests``); a refusal is the ``ClientError`` AWS answers, in its words
(https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html): "User:
<session ARN> is not authorized to perform: <action> on resource: <ARN> because no identity-based
policy allows the <action> action". Calls with other credentials (the operator's CLI, tests) are
not checked, as an administrator's would pass.
"""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.iam.models import iam_backends
from moto.kms.models import kms_backends
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

from mlops_local.engine.emulation.registry import Emulation, LocalServices
from mlops_local.engine.iam.facts import StackFacts, aws_managed_policy
from mlops_local.engine.iam.policies import (
    AuthorizationRequest,
    Decision,
    KeyPolicyGrant,
    decide,
    key_policy_grant,
)
from mlops_local.engine.iam.principals import RoleSession, credentials_for, session_of
from mlops_local.engine.iam.requests import Call, authorization_requests, iam_prefix
from mlops_local.engine.lambdas import InvokeRefusal, LambdaFunction
from mlops_local.engine.patching import Patches, replace

# The codes services give a refusal by IAM (a few model it as their own shape).
_ACCESS_DENIED_CODES = {"AccessDeniedException", "AccessDenied", "AuthorizationError"}
# The session name Step Functions' calls carry in AccessDenied messages.
_ENGINE_SESSION = "StepFunctions"
# The engine's modules that create clients for tasks (imported so that none is missed).
_ENGINE_TASK_MODULES = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_factory",
    # The service integrations the workarounds replace (SageMaker and Glue .sync) make their own
    # clients through the same factory: their calls are the state machine role's too.
    "mlops_local.engine.moto_compat.sagemaker_sync_unsupported",
    "mlops_local.engine.moto_compat.glue_sync_interrupt_all",
)
_ENGINE_MODULE_PREFIXES = ("moto.stepfunctions.parser", "mlops_local.engine.moto_compat")


class AccessDenied(Exception):
    """A request the caller's policies do not allow, with AWS's message."""

    def __init__(self, session: RoleSession, request: AuthorizationRequest, reason: str) -> None:
        self.session, self.request = session, request
        super().__init__(
            f"User: {session.arn} is not authorized to perform: {request.action} "
            f"on resource: {request.resource} because {reason} the {request.action} action"
            if reason.startswith("no ")
            else f"User: {session.arn} is not authorized to perform: {request.action} "
            f"on resource: {request.resource} with an {reason}"
        )


class Authority:
    """Decides requests for role sessions from the roles' live policies and the stack's facts."""

    def __init__(self, facts: Callable[[], StackFacts | None]) -> None:
        self._facts = facts
        self.denials: list[AccessDenied] = []  # every refusal, for tests and the run report

    def check(self, session: RoleSession, call: Call) -> None:
        facts = self._facts()
        if facts is None:  # still provisioning
            return
        for request in authorization_requests(call, facts.encryption):
            self.check_request(session, request, facts)

    def check_request(
        self, session: RoleSession, request: AuthorizationRequest, facts: StackFacts | None = None
    ) -> None:
        facts = facts or self._facts()
        if facts is None:
            return
        decision = decide(self._policies(session.role_arn, facts), request)
        if request.action.lower().startswith("kms:") and request.resource.startswith("arn:"):
            grant = self._key_policy_grant(session, request)
            if grant is KeyPolicyGrant.PRINCIPAL and decision is not Decision.EXPLICIT_DENY:
                decision = Decision.ALLOWED
            elif grant in (KeyPolicyGrant.NONE, KeyPolicyGrant.DENIED):
                self._refuse(
                    session,
                    request,
                    "no resource-based policy allows"
                    if grant is KeyPolicyGrant.NONE
                    else "explicit deny in a resource-based policy",
                )
        if decision is not Decision.ALLOWED:
            self._refuse(session, request, decision.value)

    def _refuse(self, session: RoleSession, request: AuthorizationRequest, reason: str) -> None:
        denial = AccessDenied(session, request, reason)
        self.denials.append(denial)
        raise denial

    def _policies(self, role_arn: str, facts: StackFacts) -> list[str]:
        account = role_arn.split(":")[4]
        try:
            role = iam_backends[account]["aws"].get_role_by_arn(role_arn)
        except Exception:
            return []
        documents = [str(document) for document in role.policies.values()]
        for arn in facts.managed_policies.get(role_arn, []):
            document = aws_managed_policy(arn)
            if document is not None:
                documents.append(document)
        documents.extend(
            policy.document for policy in role.managed_policies.values() if hasattr(policy, "document")
        )
        return documents

    def _key_policy_grant(self, session: RoleSession, request: AuthorizationRequest) -> KeyPolicyGrant:
        parts = request.resource.split(":")
        account, region, key_id = parts[4], parts[3], parts[5].split("/", 1)[-1]
        try:
            key = kms_backends[account][region].describe_key(key_id)
        except Exception:
            return KeyPolicyGrant.ACCOUNT
        return key_policy_grant(key.policy, request, principal_arn=session.arn, role_arn=session.role_arn)


def _caller(client: BaseClient) -> RoleSession | None:
    credentials = getattr(client._request_signer, "_credentials", None)
    return session_of(getattr(credentials, "access_key", None))


def _access_denied_error(client: BaseClient, operation_name: str, denial: AccessDenied) -> ClientError:
    """The error the service answers, with the code its API model gives for access denied."""
    model = client.meta.service_model
    codes = [shape.error_code or shape.name for shape in model.operation_model(operation_name).error_shapes]
    code = (
        next((c for c in codes if "kms" in c.lower() and "denied" in c.lower()), None)
        if denial.request.for_kms
        else None
    )
    if code is None:
        code = next((c for c in codes if c in _ACCESS_DENIED_CODES), None)
    if code is None:
        # Services that moved from the query protocol to JSON keep their query error codes.
        query_codes = model.protocol not in ("json", "rest-json") or "awsQueryCompatible" in model.metadata
        code = "AccessDenied" if query_codes else "AccessDeniedException"
    message = str(denial)
    if denial.request.for_kms and code != "AccessDeniedException":
        message = f"KMS Exception: AccessDeniedException KMS Message: {message}"
    status = 400 if "kms" in code.lower() else 403
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": str(uuid.uuid4()), "HTTPHeaders": {}},
        },
        operation_name,
    )


def _enforced(authority: Authority, stock: Callable[..., Any]) -> Callable[..., Any]:
    def make_api_call(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        session = _caller(client)
        if session is not None:
            model = client.meta.service_model
            account = session.role_arn.split(":")[4]
            call = Call(
                prefix=iam_prefix(model.signing_name or model.endpoint_prefix),
                operation=operation_name,
                params=api_params,
                account=account,
                region=client.meta.region_name or "us-east-1",
            )
            try:
                authority.check(session, call)
            except AccessDenied as denial:
                raise _access_denied_error(client, operation_name, denial) from None
        return stock(client, operation_name, api_params)

    return make_api_call


def _engine_clients(stock: Callable[..., Any]) -> Callable[..., Any]:
    """The engine's task clients sign as the state machine's role (or the state's ``Credentials``).

    The engine hands every client factory call the role it would assume; stock moto ignores it and
    signs with one fixed key.
    """

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        role_arn = getattr(state_credentials, "role_arn", None)
        if not role_arn:
            return stock(region=region, service=service, state_credentials=state_credentials)
        credentials = credentials_for(RoleSession(role_arn, _ENGINE_SESSION)).as_client_arguments()
        return boto3.client(
            service,
            region_name=region,
            config=Config(parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1}),
            **credentials,
        )

    return boto_client_for


def _engine_modules() -> list[ModuleType]:
    """Every module of moto's Step Functions engine, or of a workaround's service integration, that
    imported the client factory by name."""
    for name in _ENGINE_TASK_MODULES:
        importlib.import_module(name)
    return [
        module
        for name, module in list(sys.modules.items())
        if name.startswith(_ENGINE_MODULE_PREFIXES)
        and getattr(module, "boto_client_for", None) is boto_client_for
    ]


def _environment_decryption(authority: Authority) -> Callable[[LambdaFunction], InvokeRefusal | None]:
    """Lambda decrypts a function's environment with the execution role before the handler runs.

    With a customer managed key the role needs ``kms:Decrypt`` on it; otherwise Invoke fails with
    KMSAccessDeniedException (HTTP 502)
    (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html).
    """

    def check(function: LambdaFunction) -> InvokeRefusal | None:
        if not (function.kms_key_arn and function.environment and function.role_arn):
            return None
        session = RoleSession(function.role_arn, function.function_name)
        request = AuthorizationRequest("kms:Decrypt", function.kms_key_arn, for_kms=True)
        try:
            authority.check_request(session, request)
        except AccessDenied as denial:
            return InvokeRefusal(
                status=502,
                code="KMSAccessDeniedException",
                message=(
                    "Lambda was unable to decrypt the environment variables because KMS access was denied. "
                    "Please check the function's KMS key settings. "
                    f"KMS Exception: AccessDeniedException KMS Message: {denial}"
                ),
            )
        return None

    return check


def _patches(services: LocalServices) -> Patches:
    authority = Authority(lambda: services.stack_facts)
    services.iam_authority = authority
    yield replace(BaseClient, "_make_api_call", _enforced(authority, BaseClient._make_api_call))
    engine_clients = _engine_clients(boto_client_for)
    for module in _engine_modules():
        yield replace(module, "boto_client_for", engine_clients)
    yield replace(services.lambdas, "before_invoke", _environment_decryption(authority))


EMULATION = Emulation(
    name="iam_enforcement",
    moto_does=(
        "allows every call (its optional access control checks identity policies against '*' for "
        "most services, ignores conditions it cannot read, and knows nothing of KMS on S3, SQS, SNS "
        "and Lambda environments)"
    ),
    aws_does=(
        "authorizes each call of a function, state machine or job against its role's policies and "
        "the KMS key policy, and refuses with AccessDenied naming the session, action and resource"
    ),
    patches=_patches,
)
