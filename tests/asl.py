"""Reading ASL definitions in tests, whichever query language a state uses.

A JSONPath state names its request ``Parameters`` and marks a path-valued field with ``.$``; a
JSONata state names it ``Arguments`` and writes an expression as ``"{% ... %}"``
(https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html).
"""

from __future__ import annotations

import re
from typing import Any

import jsonata as jsonata_python

from mlops_local.engine.moto_compat.jsonata_not_evaluated import STEP_FUNCTIONS_FUNCTIONS

_EXPRESSION = re.compile(r"\A\{%(.*)%\}\Z", re.DOTALL)
UUID = "deadbeef-0000-4000-8000-000000000000"


def request(state: dict[str, Any]) -> dict[str, Any]:
    """A Task's request as written: ``Arguments`` (JSONata) or ``Parameters`` (JSONPath)."""
    return dict(state["Arguments"] if "Arguments" in state else state["Parameters"])


def field(fields: dict[str, Any], name: str) -> Any:
    """A request field's value, whether written ``name`` or ``name.$``."""
    return fields[name] if name in fields else fields[f"{name}.$"]


def jsonata(value: Any) -> str | None:
    """The JSONata expression of a ``"{% ... %}"`` value, else None."""
    match = _EXPRESSION.match(value) if isinstance(value, str) else None
    return match.group(1).strip() if match else None


def evaluate(expression: str, variables: dict[str, Any], *, uuid: str = UUID) -> Any:
    """A JSONata expression evaluated with workflow variables (and ``$states``) bound by name.

    ``$uuid()`` answers ``uuid``, so names built from it are reproducible.
    """
    compiled = jsonata_python.Jsonata(expression)
    for name, function in STEP_FUNCTIONS_FUNCTIONS.items():
        compiled.register_lambda(name, function)
    compiled.register_lambda("uuid", lambda: uuid)
    return compiled.evaluate(None, variables)
