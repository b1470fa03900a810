"""Lambda functions of the template, invoked in process with their real handler code.

Each function keeps what the template gives it: handler, code folder, layers, environment, timeout.
An invocation sets that environment, runs the handler with a Lambda-like context and returns what
Lambda's Invoke API would: the JSON payload, and ``FunctionError: Unhandled`` with Lambda's error
payload (``errorMessage``, ``errorType``, ``stackTrace``) when the handler raises.

All functions share one interpreter, so invocations run one at a time (environment variables are
process-wide) and per-cold-start caches are cleared between them: each call sees exactly its own
function's environment, as on AWS.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3

from mlops_local.engine.environment import set_environment

# Module-level caches that hold one cold start's view of the environment: (module, function).
_COLD_START_CACHES = (("mlops_common.settings", "settings_for"),)
# Module-level state each function's process keeps for itself on AWS: (module, dict attribute).
# The shared layer caches boto3 clients, and a client holds the credentials it was created with:
# each function gets its own cache, as its own process would have.
_PER_FUNCTION_STATE = (("mlops_common.adapters.aws", "_clients"),)

# Environment every local invocation gets on top of the function's own: X-Ray has no daemon here,
# and EMF metrics would only add noise to the console.
_LOCAL_ENVIRONMENT = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


class FunctionNotFound(KeyError):
    """No function of the template has this name, ARN or logical id."""


@dataclass
class LambdaFunction:
    """One ``AWS::Lambda::Function`` of the template, as the local runtime runs it."""

    logical_id: str
    function_name: str
    arn: str
    handler: str  # "app.lambda_handler"
    code_dir: Path
    layer_dirs: list[Path] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    timeout_seconds: int = 3
    memory_mb: int = 128
    role_arn: str = ""
    kms_key_arn: str = ""  # the customer managed key encrypting the environment, if any
    # The execution role's session credentials, as Lambda puts them in the environment.
    credentials: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InvokeRefusal:
    """Invoke refused before the handler ran (an API error, not a function error)."""

    status: int
    code: str
    message: str


@dataclass
class Invocation:
    """The outcome of one invocation, in the words of Lambda's Invoke API."""

    payload: Any
    function_error: str | None = None  # "Unhandled" when the handler raised
    refusal: InvokeRefusal | None = None  # Invoke's own error: the handler never ran

    @property
    def failed(self) -> bool:
        return self.function_error is not None or self.refusal is not None

    @property
    def payload_bytes(self) -> bytes:
        return json.dumps(self.payload).encode()


class LambdaContext:
    """The attributes of the Lambda context object handlers (and Powertools) read."""

    def __init__(self, function: LambdaFunction) -> None:
        self.function_name = function.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        self.memory_limit_in_mb = function.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.function_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self._deadline = time.monotonic() + function.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LambdaRegistry:
    """The template's functions by logical id, name and ARN; invokes them in process."""

    def __init__(self) -> None:
        self._functions: dict[str, LambdaFunction] = {}
        self._modules: dict[str, ModuleType] = {}
        self._lock = threading.RLock()
        self.invocations: list[tuple[str, Any, Invocation]] = []  # (logical id, event, outcome)
        # Checks Lambda makes before running the handler (decrypting the environment, for one).
        self.before_invoke: Callable[[LambdaFunction], InvokeRefusal | None] | None = None
        self._state: dict[str, dict[tuple[str, str], dict[Any, Any]]] = {}

    def register(self, function: LambdaFunction) -> None:
        self._functions[function.logical_id] = function

    def __iter__(self) -> Iterator[LambdaFunction]:
        return iter(self._functions.values())

    def find(self, reference: str) -> LambdaFunction:
        """A function by logical id, name, ARN or qualified ARN (``...:function:name:alias``)."""
        for function in self._functions.values():
            if reference in (function.logical_id, function.function_name, function.arn):
                return function
            if reference.startswith(function.arn + ":"):
                return function
        raise FunctionNotFound(reference)

    def invoke(self, reference: str, event: Any) -> Invocation:
        """Run the function's handler on ``event``; an exception becomes a function error."""
        function = self.find(reference)
        refusal = self.before_invoke(function) if self.before_invoke else None
        if refusal is not None:
            outcome = Invocation(payload={"Message": refusal.message}, refusal=refusal)
            self.invocations.append((function.logical_id, event, outcome))
            return outcome
        with self._lock, _environment(function), _own_state(self._state.setdefault(function.logical_id, {})):
            handler = self._handler(function)
            try:
                result = handler(json.loads(json.dumps(event)), LambdaContext(function))
                outcome = Invocation(payload=json.loads(json.dumps(result)))
            except Exception as error:
                outcome = Invocation(payload=_error_payload(error), function_error="Unhandled")
        self.invocations.append((function.logical_id, event, outcome))
        return outcome

    def update_environment(self, reference: str, variables: dict[str, str]) -> dict[str, str]:
        """``UpdateFunctionConfiguration`` of the environment: the next invocation is a cold start.

        Returns the previous variables (for restoring). Lambda starts new execution environments
        after a configuration change, so module-level state (settings read at import) is reloaded.
        """
        function = self.find(reference)
        with self._lock:
            previous = dict(function.environment)
            function.environment = {**function.environment, **variables}
            self._modules.pop(function.logical_id, None)
            self._state.pop(function.logical_id, None)
        return previous

    def _handler(self, function: LambdaFunction) -> Any:
        module_name, _, attribute = function.handler.rpartition(".")
        key = function.logical_id
        if key not in self._modules:
            self._modules[key] = _load_module(function, module_name)
        return getattr(self._modules[key], attribute)


def _load_module(function: LambdaFunction, module_name: str) -> ModuleType:
    """Import the handler module under a name of its own: every function has an ``app.py``."""
    path = function.code_dir / (module_name.replace(".", "/") + ".py")
    unique_name = f"_lambda_{function.logical_id}_{module_name.replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(unique_name, path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"handler module {path} of {function.logical_id} not found")
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique_name] = module
    with _on_path([function.code_dir, *function.layer_dirs]):
        spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _on_path(folders: list[Path]) -> Iterator[None]:
    added = [str(folder) for folder in folders if str(folder) not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for folder in added:
            sys.path.remove(folder)


@contextlib.contextmanager
def _environment(function: LambdaFunction) -> Iterator[None]:
    """The function's environment for the duration of one call, with a fresh cold-start view."""
    variables = {
        **_LOCAL_ENVIRONMENT,
        **function.environment,
        **function.credentials,
        "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
    }
    # Other threads keep running meanwhile: the changes go through the environment lock.
    saved = set_environment(variables)
    _clear_cold_start_caches()
    _forget_resolved_credentials()
    # Layers stay on the path for the whole call: handlers import lazily.
    with _on_path(function.layer_dirs):
        try:
            yield
        finally:
            set_environment(saved)
            _clear_cold_start_caches()
            _forget_resolved_credentials()


@contextlib.contextmanager
def _own_state(saved: dict[tuple[str, str], dict[Any, Any]]) -> Iterator[None]:
    """The function's own copy of each per-process module state for the length of one call."""
    swapped: list[tuple[ModuleType, str, dict[Any, Any]]] = []
    for module_name, attribute in _PER_FUNCTION_STATE:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(getattr(module, attribute, None), dict):
            swapped.append((module, attribute, getattr(module, attribute)))
            setattr(module, attribute, saved.setdefault((module_name, attribute), {}))
    try:
        yield
    finally:
        for module, attribute, shared in swapped:
            setattr(module, attribute, shared)


def _forget_resolved_credentials() -> None:
    """Make boto3's default session read the credentials of the environment again.

    botocore resolves a session's credentials once and keeps them; each function's process on AWS
    starts with its own role's. Only handlers use the default chain here (the engine, jobs and the
    runtime pass credentials explicitly), and invocations run one at a time.
    """
    session = boto3.DEFAULT_SESSION
    if session is not None:
        session._session._credentials = None


def _clear_cold_start_caches() -> None:
    for module_name, attribute in _COLD_START_CACHES:
        module = sys.modules.get(module_name)
        cached = getattr(module, attribute, None) if module else None
        if cached is not None and hasattr(cached, "cache_clear"):
            cached.cache_clear()


def _error_payload(error: Exception) -> dict[str, Any]:
    """Lambda's payload for an unhandled exception (Python runtime)."""
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(error.__traceback__.tb_next if error.__traceback__ else None),
    }


def load_layer_modules(layer_dirs: list[Path]) -> None:
    """Make the layers importable for code outside a handler call (e.g. the CLI)."""
    for folder in layer_dirs:
        if str(folder) not in sys.path:
            sys.path.append(str(folder))
    importlib.invalidate_caches()
