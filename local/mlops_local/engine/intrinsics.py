"""CloudFormation intrinsic functions and conditions, evaluated the way CloudFormation does.

Supported: ``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::Join``, ``Fn::If``, ``Fn::Equals``,
``Fn::Not``, ``Fn::And``, ``Fn::Or``, ``Condition``, ``Fn::FindInMap``, ``Fn::Select``,
``Fn::Split``, ``Fn::GetAZs``, ``Fn::Base64``, ``Fn::ToJsonString`` and the pseudo parameters.
``Fn::ImportValue`` needs another stack, which a local runtime does not have: it is an error.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

# Marks a value that ``Ref: AWS::NoValue`` removed; dropped from its dict or list.
NO_VALUE = object()

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class IntrinsicError(Exception):
    """An intrinsic function cannot be evaluated (unknown name, bad arguments, unsupported)."""


class IntrinsicResolver:
    """Evaluates intrinsic functions against parameters, conditions and created resources.

    ``ref`` and ``get_att`` look up resources; they raise ``KeyError`` for a resource that does not
    exist (yet), which the provisioner prevents by creating resources in dependency order.
    """

    def __init__(
        self,
        *,
        parameters: dict[str, Any],
        pseudo: dict[str, Any],
        mappings: dict[str, Any] | None = None,
        conditions: dict[str, Any] | None = None,
        ref: Callable[[str], Any],
        get_att: Callable[[str, str], Any],
    ) -> None:
        self._parameters = parameters
        self._pseudo = pseudo
        self._mappings = mappings or {}
        self._condition_definitions = conditions or {}
        self._condition_values: dict[str, bool] = {}
        self._ref = ref
        self._get_att = get_att

    def condition(self, name: str) -> bool:
        """The value of a named condition from the template's ``Conditions``."""
        if name not in self._condition_values:
            if name not in self._condition_definitions:
                raise IntrinsicError(f"unknown condition {name!r}")
            value = self.resolve(self._condition_definitions[name])
            if not isinstance(value, bool):
                raise IntrinsicError(f"condition {name!r} is not a boolean: {value!r}")
            self._condition_values[name] = value
        return self._condition_values[name]

    def resolve(self, value: Any) -> Any:
        """Evaluate every intrinsic function inside ``value`` (dicts and lists recursively)."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            handler = _FUNCTIONS.get(key)
            if handler is not None:
                return handler(self, argument)
            if key.startswith("Fn::"):
                raise IntrinsicError(f"unsupported intrinsic function {key}")
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    # -- the functions -------------------------------------------------------------------------

    def _fn_ref(self, name: Any) -> Any:
        if not isinstance(name, str):
            raise IntrinsicError(f"Ref takes a name, got {name!r}")
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        if name.startswith("AWS::"):
            raise IntrinsicError(f"unsupported pseudo parameter {name}")
        if name in self._parameters:
            return self._parameters[name]
        return self._ref(name)

    def _fn_get_att(self, argument: Any) -> Any:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        logical_id, attribute = (self.resolve(part) for part in argument)
        return self._get_att(logical_id, attribute)

    def _fn_sub(self, argument: Any) -> str:
        if isinstance(argument, str):
            template, variables = argument, {}
        else:
            template, raw_variables = argument
            variables = {name: self.resolve(v) for name, v in raw_variables.items()}

        def substitute(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"
            if expression in variables:
                return _as_text(variables[expression])
            if "." in expression and not expression.startswith("AWS::"):
                logical_id, attribute = expression.split(".", 1)
                return _as_text(self._get_att(logical_id, attribute))
            return _as_text(self._fn_ref(expression))

        return _SUB_VARIABLE.sub(substitute, template)

    def _fn_join(self, argument: Any) -> str:
        delimiter, items = argument
        values = self.resolve(items)
        return str(delimiter).join(_as_text(v) for v in values)

    def _fn_if(self, argument: Any) -> Any:
        name, when_true, when_false = argument
        return self.resolve(when_true if self.condition(name) else when_false)

    def _fn_equals(self, argument: Any) -> bool:
        left, right = (self.resolve(v) for v in argument)
        return _as_text(left) == _as_text(right)

    def _fn_not(self, argument: Any) -> bool:
        (value,) = argument
        return not self._boolean(value)

    def _fn_and(self, argument: Any) -> bool:
        return all(self._boolean(v) for v in argument)

    def _fn_or(self, argument: Any) -> bool:
        return any(self._boolean(v) for v in argument)

    def _fn_condition(self, name: Any) -> bool:
        return self.condition(name)

    def _fn_find_in_map(self, argument: Any) -> Any:
        map_name, first, second = (self.resolve(v) for v in argument[:3])
        try:
            return self._mappings[map_name][first][second]
        except KeyError as missing:
            raise IntrinsicError(f"FindInMap {map_name}/{first}/{second} not found") from missing

    def _fn_select(self, argument: Any) -> Any:
        index, items = self.resolve(argument[0]), self.resolve(argument[1])
        return items[int(index)]

    def _fn_split(self, argument: Any) -> list[str]:
        delimiter, text = argument[0], self.resolve(argument[1])
        return str(text).split(delimiter)

    def _fn_get_azs(self, argument: Any) -> list[str]:
        region = self.resolve(argument) or self._pseudo["AWS::Region"]
        return [f"{region}{zone}" for zone in "abcdef"]

    def _fn_base64(self, argument: Any) -> str:
        return base64.b64encode(_as_text(self.resolve(argument)).encode()).decode()

    def _fn_to_json_string(self, argument: Any) -> str:
        return json.dumps(self.resolve(argument), separators=(",", ":"))

    def _fn_import_value(self, argument: Any) -> Any:
        raise IntrinsicError(
            f"Fn::ImportValue {argument!r}: cross-stack imports need a deployed exporting stack, "
            "which the local runtime does not have"
        )

    def _boolean(self, value: Any) -> bool:
        resolved = self.resolve(value)
        if not isinstance(resolved, bool):
            raise IntrinsicError(f"expected a condition, got {resolved!r}")
        return resolved


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_FUNCTIONS: dict[str, Callable[[IntrinsicResolver, Any], Any]] = {
    "Ref": IntrinsicResolver._fn_ref,
    "Fn::GetAtt": IntrinsicResolver._fn_get_att,
    "Fn::Sub": IntrinsicResolver._fn_sub,
    "Fn::Join": IntrinsicResolver._fn_join,
    "Fn::If": IntrinsicResolver._fn_if,
    "Fn::Equals": IntrinsicResolver._fn_equals,
    "Fn::Not": IntrinsicResolver._fn_not,
    "Fn::And": IntrinsicResolver._fn_and,
    "Fn::Or": IntrinsicResolver._fn_or,
    "Condition": IntrinsicResolver._fn_condition,
    "Fn::FindInMap": IntrinsicResolver._fn_find_in_map,
    "Fn::Select": IntrinsicResolver._fn_select,
    "Fn::Split": IntrinsicResolver._fn_split,
    "Fn::GetAZs": IntrinsicResolver._fn_get_azs,
    "Fn::Base64": IntrinsicResolver._fn_base64,
    "Fn::ToJsonString": IntrinsicResolver._fn_to_json_string,
    "Fn::ImportValue": IntrinsicResolver._fn_import_value,
}


def referenced_resources(value: Any, resource_ids: set[str]) -> Iterator[str]:
    """Logical ids of the resources ``value`` refers to (Ref, GetAtt, Sub variables)."""
    if isinstance(value, list):
        for item in value:
            yield from referenced_resources(item, resource_ids)
    elif isinstance(value, dict):
        for key, argument in value.items():
            if key == "Ref" and argument in resource_ids:
                yield argument
            elif key == "Fn::GetAtt":
                target = argument.split(".", 1)[0] if isinstance(argument, str) else argument[0]
                if target in resource_ids:
                    yield target
            elif key == "Fn::Sub":
                template = argument if isinstance(argument, str) else argument[0]
                for expression in _SUB_VARIABLE.findall(template):
                    name = expression.split(".", 1)[0]
                    if name in resource_ids:
                        yield name
                if not isinstance(argument, str):
                    yield from referenced_resources(argument[1], resource_ids)
            else:
                yield from referenced_resources(argument, resource_ids)
