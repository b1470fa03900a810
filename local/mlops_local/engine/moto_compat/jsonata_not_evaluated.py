"""moto's Step Functions engine parses JSONata states but cannot evaluate one expression.

moto carries LocalStack's JSONata support (``QueryLanguage``, ``Arguments``, ``Output``,
``Assign``, ``Condition``, ``$states``) but not its evaluator, which runs jsonata-java in a JVM:
``moto.stepfunctions.parser.asl.jsonata.jsonata._eval_jsonata`` stays ``None``, so every JSONata
state fails with ``TypeError: 'NoneType' object is not callable``. Two more gaps sit on the same
path:

- variables and ``$states`` are inlined into each expression as JSONata literals, and a string is
  written between quotes without escaping (a quote or backslash in a value breaks the expression);
  so is a string variable in the history's ``assignedVariables`` (AWS gives JSON text);
- Step Functions' own ``$hash`` and ``$uuid`` are stubs that return "... is currently not
  supported".

The workaround evaluates with jsonata-python (a port of the same jsonata-java LocalStack uses),
encodes strings as JSON string literals (JSONata's string literal grammar is JSON's), inlines only
the variables an expression names (moto inlines every variable into every expression: a run's
plan and definitions, parsed again for each of its hundreds of expressions), gives
``$hash``/``$uuid`` their documented behaviour and turns an evaluation error into
``States.QueryEvaluationError``, the error AWS raises for it. Step Functions implements JSONata 2.0.6
with ``$eval`` removed and ``$partition``, ``$range``, ``$hash``, ``$random``, ``$uuid`` and
``$parse`` added ("Transforming data with JSONata in Step Functions",
https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import jsonata
from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.common.string import string_expression
from moto.stepfunctions.parser.asl.component.intrinsic import jsonata as intrinsic_jsonata
from moto.stepfunctions.parser.asl.eval import states as eval_states
from moto.stepfunctions.parser.asl.eval import variable_store
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

from mlops_local.engine.moto_compat.registry import Workaround
from mlops_local.engine.patching import Patches, replace

# $hash's algorithms, as Step Functions names them (the same set as States.Hash).
_HASHES: dict[str, Callable[[bytes], Any]] = {
    "MD5": hashlib.md5,
    "SHA-1": hashlib.sha1,
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
}


def _hash(value: Any, algorithm: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("$hash: the value to hash must be a string")
    if algorithm not in _HASHES:
        raise ValueError(f"$hash: the algorithm must be one of {', '.join(_HASHES)}, not {algorithm!r}")
    return str(_HASHES[algorithm](value.encode()).hexdigest())


def _uuid() -> str:
    return str(uuid.uuid4())


# Step Functions' functions that moto only stubs ($partition, $range, $randomSeeded and $parse it
# declares in JSONata itself).
STEP_FUNCTIONS_FUNCTIONS: dict[str, Callable[..., Any]] = {"hash": _hash, "uuid": _uuid}


def evaluate(expression: str) -> Any:
    """One composed expression (its variables inlined by moto) evaluated by jsonata-python."""
    try:
        compiled = jsonata.Jsonata(expression)
        for name, function in STEP_FUNCTIONS_FUNCTIONS.items():
            compiled.register_lambda(name, function)
        return compiled.evaluate(None)
    except Exception as error:  # jsonata-python raises JException and Python errors alike
        raise moto_jsonata.JSONataException("States.QueryEvaluationError", str(error)) from error


def encode_declarations(bindings: dict[str, Any]) -> str:
    """``$name:=<JSON literal>;`` for each binding: strings escaped, unlike moto's encoder."""
    return "".join(
        f"{reference}:={to_json_str(value, separators=(',', ':'))};" for reference, value in bindings.items()
    )


# The workflow variables the expression being evaluated names (None: every variable).
_NAMED: ContextVar[frozenset[str] | None] = ContextVar("jsonata_named_variables", default=None)


@contextmanager
def _naming(expression: str) -> Iterator[None]:
    references = moto_jsonata.extract_jsonata_variable_references(expression)
    token = _NAMED.set(frozenset(reference[1:].split(".")[0] for reference in references))
    try:
        yield
    finally:
        _NAMED.reset(token)


def named_declarations(original: Callable[..., str]) -> Callable[..., str]:
    def get_variable_declarations(self: variable_store.VariableStore) -> str:
        named = _NAMED.get()
        if named is None:
            return original(self)
        bindings = {}
        for name in sorted(named):
            try:
                bindings[f"${name}"] = self.get(name)
            except variable_store.NoSuchVariable:
                continue  # a local ($x := ...), a function, or unassigned: JSONata's own undefined
        return encode_declarations(bindings)

    return get_variable_declarations


def assigned_as_json(self: variable_store.VariableStore) -> dict[str, str]:
    """``assignedVariables`` as AWS writes them in the history: each value as JSON text."""
    return {name: to_json_str(self.get(name), separators=(",", ":")) for name in self._declaration_tracing}


def query_evaluation_error(original: Callable[..., None]) -> Callable[..., None]:
    def _eval_body(self: Any, env: Any) -> None:
        try:
            with _naming(self.expression):
                original(self, env)
        except moto_jsonata.JSONataException as error:
            name = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
            details = EvaluationFailedEventDetails(
                error=name.error_name,
                cause=f"The JSONata expression '{self.expression}' threw an error: {error.details}",
            )
            # moto's EventDetails is a total TypedDict; every caller fills one key.
            event_details = EventDetails(evaluationFailedEventDetails=details)  # type: ignore[typeddict-item]
            env.event_manager.add_event(
                context=env.event_history_context,
                event_type=HistoryEventType.EvaluationFailed,
                event_details=event_details,
            )
            raise FailureEventException(
                failure_event=FailureEvent(
                    env=env,
                    error_name=name,
                    event_type=HistoryEventType.EvaluationFailed,
                    event_details=event_details,
                )
            ) from error

    return _eval_body


def _patches() -> Patches:
    yield replace(moto_jsonata, "_eval_jsonata", evaluate)
    yield replace(eval_states, "encode_jsonata_variable_declarations", encode_declarations)
    yield replace(variable_store, "encode_jsonata_variable_declarations", encode_declarations)
    store = variable_store.VariableStore
    yield replace(store, "get_variable_declarations", named_declarations(store.get_variable_declarations))
    yield replace(store, "get_assigned_variables", assigned_as_json)
    # Without moto's stubs in the way, the expression calls the functions registered above.
    native = {
        reference: declaration
        for reference, declaration in intrinsic_jsonata._DECLARATION_BY_VARIABLE_REFERENCE.items()
        if reference not in ("$hash", "$uuid")
    }
    yield replace(intrinsic_jsonata, "_DECLARATION_BY_VARIABLE_REFERENCE", native)
    for expression_type in (string_expression.StringJSONata, string_expression.StringVariableSample):
        yield replace(expression_type, "_eval_body", query_evaluation_error(expression_type._eval_body))


WORKAROUND = Workaround(
    name="jsonata_not_evaluated",
    moto_does=(
        "has no JSONata evaluator (a JSONata state fails: TypeError), inlines string variables "
        "unescaped and stubs $hash/$uuid"
    ),
    aws_does=(
        "evaluates JSONata 2.0.6 with Step Functions' functions; an evaluation error is "
        "States.QueryEvaluationError"
    ),
    applies_to="==5.2.5",
    patches=_patches,
)
