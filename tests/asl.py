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


def render(template: Any, variables: dict[str, Any]) -> Any:
    """A JSONata template (``Arguments``, ``Output``, an ``Assign`` value) as Step Functions builds
    it: every ``"{% ... %}"`` string evaluated, everything else kept."""
    if isinstance(template, dict):
        return {key: render(value, variables) for key, value in template.items()}
    if isinstance(template, list):
        return [render(value, variables) for value in template]
    query = jsonata(template)
    return template if query is None else evaluate(query, variables)


def assign(state: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
    """``variables`` after ``state``'s ``Assign`` (every value evaluated against the values before)."""
    return {**variables, **render(state.get("Assign", {}), variables)}


def choose(state: dict[str, Any], variables: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Where a JSONata Choice state goes for ``variables``, and the variables its rule assigns."""
    for rule in state["Choices"]:
        if evaluate(jsonata(rule["Condition"]) or "", variables) is True:
            return rule["Next"], assign(rule, variables)
    return state["Default"], variables
