"""Loading a model's own serving code (``code/inference.py`` from ``model.tar.gz``) and calling it.

Endpoints and batch transform both use the handler functions of the PyTorch serving contract
(``model_fn``, ``input_fn``, ``predict_fn``, ``output_fn``) exactly as a SageMaker serving container
does. Several model versions live in one process (blue/green updates), so each version's modules are
imported under a namespace of their own: ``inference.py`` gets a unique module name, and its sibling
modules (``defect_model``, ``image_decoding``...) are imported from its ``code/`` folder and then
taken out of ``sys.modules`` again, so the next version imports its own copies. The handler keeps
references to the modules it imported, which is all a module-level import needs.

The functions are called as SageMaker's inference toolkit calls them: a missing or ``*/*`` Accept
becomes ``application/json``; a function that takes one parameter more than the contract's gets the
request context (TorchServe's ``Context``, whose request headers let ``input_fn`` refuse an Accept
before decoding anything); and a ``(body, content_type)`` result from ``output_fn`` names the
response's content type.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from mlops_local.executors.s3_transfer import download_object, extract_tar

HANDLER_FILE = "inference.py"
DEFAULT_ACCEPT = "application/json"
_IMPORT_LOCK = threading.Lock()  # sys.path and sys.modules are process-wide


class InvocationError(Exception):
    """A request the model refused (4xx, with the handler's reason) or could not serve (500)."""

    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(f"{status_code}: {reason}")
        self.status_code = status_code
        self.reason = reason


@dataclass(frozen=True)
class _RequestProcessor:
    """The part of TorchServe's ``RequestProcessor`` the toolkit reads: the request's headers."""

    properties: Mapping[str, str]

    def get_request_properties(self) -> Mapping[str, str]:
        return self.properties


@dataclass(frozen=True)
class _ServingContext:
    """The part of TorchServe's ``Context`` handler functions see: one request's headers."""

    request_processor: list[_RequestProcessor] = field(default_factory=list)

    @classmethod
    def for_request(cls, content_type: str, accept: str) -> _ServingContext:
        return cls([_RequestProcessor({"Content-Type": content_type, "Accept": accept})])


def _call_handler(function: Callable[..., Any], args: tuple[Any, ...], context: _ServingContext) -> Any:
    """Call a handler function, with the context when it takes one (as the toolkit decides)."""
    if len(inspect.signature(function).parameters) == len(args) + 1:
        return function(*args, context)
    return function(*args)


@dataclass
class ModelHandler:
    """One loaded model version and its serving module."""

    model_data_url: str
    model_dir: Path
    module: ModuleType
    model: Any

    def invoke(self, body: bytes, content_type: str, accept: str | None = None) -> tuple[bytes, str]:
        """Run input_fn, predict_fn and output_fn; return (response body, response content type)."""
        if not accept or accept == "*/*":
            accept = DEFAULT_ACCEPT
        context = _ServingContext.for_request(content_type, accept)
        try:
            data = _call_handler(self.module.input_fn, (body, content_type), context)
            prediction = _call_handler(self.module.predict_fn, (data, self.model), context)
            output = _call_handler(self.module.output_fn, (prediction, accept), context)
        except Exception as error:
            status = getattr(error, "status_code", None)
            if isinstance(status, int) and 400 <= status < 500:
                raise InvocationError(status, str(getattr(error, "reason", error))) from error
            raise InvocationError(500, f"{type(error).__name__}: {error}") from error
        # Never the request's Accept (it may be a list or a wildcard): the handler's own type, or
        # the one type this project's handlers produce.
        output, response_type = output if isinstance(output, tuple) else (output, DEFAULT_ACCEPT)
        payload = output.encode("utf-8") if isinstance(output, str) else bytes(output)
        return payload, response_type


def load_model_from_s3(s3: Any, model_data_url: str, workdir: Path) -> ModelHandler:
    """Download and unpack ``model.tar.gz`` into ``workdir`` and load its serving code and model."""
    archive = download_object(s3, model_data_url, workdir / "model.tar.gz")
    model_dir = extract_tar(archive, workdir / "model")
    return load_model_dir(model_dir, model_data_url=model_data_url)


def load_model_dir(model_dir: Path, *, model_data_url: str = "") -> ModelHandler:
    """Import ``<model_dir>/code/inference.py`` in a namespace of its own and call its ``model_fn``."""
    code_dir = model_dir / "code"
    handler_path = code_dir / HANDLER_FILE
    if not handler_path.is_file():
        raise FileNotFoundError(f"the model archive has no code/{HANDLER_FILE}")
    sibling_names = {path.stem for path in code_dir.glob("*.py")}
    namespace = "mlops_model_" + hashlib.sha256(str(model_dir.resolve()).encode()).hexdigest()[:12]
    with _IMPORT_LOCK:
        previous = {name: sys.modules.pop(name) for name in sibling_names if name in sys.modules}
        sys.path.insert(0, str(code_dir))
        try:
            spec = importlib.util.spec_from_file_location(f"{namespace}_inference", handler_path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot import {handler_path}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            # model_fn runs inside the namespace too: it may import the model's own modules.
            model = module.model_fn(str(model_dir))
        finally:
            sys.path.remove(str(code_dir))
            for name in sibling_names:
                sys.modules.pop(name, None)
            sys.modules.update(previous)
    return ModelHandler(model_data_url=model_data_url, model_dir=model_dir, module=module, model=model)
