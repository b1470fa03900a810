"""What every workaround (``moto_compat``) and emulation (``emulation``) is made of.

Each is a handful of ``mock.patch`` objects (or botocore event handlers) that ``PatchSet`` enters
together and leaves together, so that any one can be switched off alone and its ``undo()`` restores
exactly what its ``apply()`` replaced. Applications nest like ``mock.patch``: the last applied is
the first undone. A patch that wraps an attribute reads the attribute when it is applied, so two
patches of the same attribute chain, and undoing them in reverse order restores stock moto.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any
from unittest import mock

import boto3

Patches = Iterable[AbstractContextManager[Any]]


class PatchSet:
    """The applications of one named patch; each is undone as a whole."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._applications: list[contextlib.ExitStack] = []

    @property
    def applied(self) -> bool:
        return bool(self._applications)

    def enter(self, patches: Patches) -> None:
        stack = contextlib.ExitStack()
        try:
            for patch in patches:
                stack.enter_context(patch)
        except BaseException:
            stack.close()  # half a workaround would be worse than none
            raise
        self._applications.append(stack)

    def undo(self) -> None:
        if self._applications:
            self._applications.pop().close()


def replace(target: Any, attribute: str, new: Any, *, create: bool = False) -> AbstractContextManager[Any]:
    """``target.attribute`` replaced by ``new`` while the patch is applied."""
    return mock.patch.object(target, attribute, new, create=create)


@contextlib.contextmanager
def session_hook(event_name: str, handler: Callable[..., Any], *, first: bool = False) -> Iterator[None]:
    """``handler`` registered on boto3's default session (moto replaces that session when it starts).

    botocore calls the handlers of a more specific event (``before-call.lambda.Invoke``) before
    those of a general one (``before-call``); ``first`` only orders handlers of the same event.
    """
    events = boto3._get_default_session().events
    if first:
        events.register_first(event_name, handler)
    else:
        events.register(event_name, handler)
    try:
        yield
    finally:
        events.unregister(event_name, handler)


class HttpResponse:
    """The raw response half of a ``before-call`` handler's answer (botocore reads only these)."""

    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.headers: dict[str, str] = {}
        self.content = b""


def error_answer(status: int, code: str, message: str) -> tuple[HttpResponse, dict[str, Any]]:
    """A ``before-call`` answer that botocore turns into a ``ClientError`` with ``code``."""
    return HttpResponse(status), {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": str(uuid.uuid4())},
    }
