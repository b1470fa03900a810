"""Lambda ``Invoke`` served by the function's real handler, in process."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from botocore.response import StreamingBody

from mlops_local.engine.emulation.registry import Emulation, LocalServices
from mlops_local.engine.lambdas import LambdaRegistry
from mlops_local.engine.patching import HttpResponse, Patches, error_answer, session_hook


def lambda_invoke_hook(registry: LambdaRegistry) -> Callable[..., Any]:
    """A ``before-call.lambda.Invoke`` handler that runs the function in process."""

    def handle(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        function_name = _function_name_from_path(params["url_path"])
        try:
            function = registry.find(function_name)
        except KeyError:
            return error_answer(404, "ResourceNotFoundException", f"Function not found: {function_name}")
        body = params.get("body") or b"{}"
        event = json.loads(body.decode() if isinstance(body, bytes) else body or "{}")
        invocation_type = params.get("headers", {}).get("X-Amz-Invocation-Type", "RequestResponse")
        outcome = registry.invoke(function.logical_id, event)
        if outcome.refusal is not None:
            return error_answer(outcome.refusal.status, outcome.refusal.code, outcome.refusal.message)
        payload = outcome.payload_bytes
        parsed: dict[str, Any] = {
            "StatusCode": 202 if invocation_type == "Event" else 200,
            "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(payload), len(payload)),
            "ResponseMetadata": {"HTTPStatusCode": 200, "RequestId": str(uuid.uuid4())},
        }
        if outcome.function_error:
            parsed["FunctionError"] = outcome.function_error
        return HttpResponse(200), parsed

    return handle


def _function_name_from_path(url_path: str) -> str:
    # /2015-03-31/functions/<name or ARN>/invocations
    return unquote(url_path.split("/functions/", 1)[1].split("/", 1)[0])


def _patches(services: LocalServices) -> Patches:
    yield session_hook("before-call.lambda.Invoke", lambda_invoke_hook(services.lambdas))


EMULATION = Emulation(
    name="lambda_invoke",
    moto_does="needs Docker to run a function; with use_docker False, Invoke echoes the payload back",
    aws_does=(
        "runs the handler; an exception gives HTTP 200 with FunctionError Unhandled and the error payload, "
        "which Step Functions turns into the error named by errorType (Catch by name works)"
    ),
    patches=_patches,
)
