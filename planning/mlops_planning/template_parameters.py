"""A template's ``Parameters``, read to check overrides against the constraints CloudFormation enforces.

The template is plain YAML with CloudFormation's short-form tags (``!Ref``, ``!Sub``, ``!GetAtt``...);
they are read as their long form (``{"Ref": ...}``, ``{"Fn::Sub": ...}``) so that the file parses
without the SAM translator. Only ``Parameters`` matters here, so nothing is resolved or validated
beyond what ``check_overrides`` reports.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

# The template of the project the command runs in: planning is an installed package, so it looks in
# the working directory (or where --template points), never next to its own code.
DEFAULT_TEMPLATE = Path("template.yaml")


# libyaml's parser where PyYAML was built with it (its wheels are): the same safe constructors, about
# seven times faster than the pure-Python one on this template (0.21 s -> 0.03 s), which every local
# runtime start and many tests read.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CloudFormationLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader that reads CloudFormation short-form tags as their long form."""


def _long_form(loader: _CloudFormationLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = tag_suffix if tag_suffix in ("Ref", "Condition") else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _long_form)


def read_template(path: Path) -> dict[str, Any]:
    """A CloudFormation/SAM template (YAML or JSON) as data, short-form tags in their long form."""
    with path.open(encoding="utf-8") as handle:
        document = yaml.load(handle, Loader=_CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not a CloudFormation template (not a mapping)")
    return document


def load_template_parameters(template: Path = DEFAULT_TEMPLATE) -> dict[str, dict[str, Any]]:
    """The ``Parameters`` section of a CloudFormation/SAM template, one spec per parameter."""
    parameters = read_template(template).get("Parameters") or {}
    return {str(name): dict(spec) for name, spec in parameters.items()}


def check_overrides(overrides: Mapping[str, str], parameters: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every way ``overrides`` break the template's declarations; empty when CloudFormation accepts them."""
    errors: list[str] = []
    for name, value in overrides.items():
        spec = parameters.get(name)
        if spec is None:
            errors.append(f"{name} is not a parameter of the template")
            continue
        allowed = spec.get("AllowedValues")
        if allowed is not None and value not in [str(a) for a in allowed]:
            errors.append(f"{name}={value!r} is not one of {allowed}")
        if spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                errors.append(f"{name}={value!r} is not a number")
                continue
            if "MinValue" in spec and number < float(spec["MinValue"]):
                errors.append(f"{name}={value} is below MinValue {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                errors.append(f"{name}={value} is above MaxValue {spec['MaxValue']}")
        pattern = spec.get("AllowedPattern")
        if pattern is not None and not re.fullmatch(str(pattern), value):
            errors.append(f"{name}={value!r} does not match AllowedPattern {pattern}")
        if "MinLength" in spec and len(value) < int(spec["MinLength"]):
            errors.append(f"{name}={value!r} is shorter than MinLength {spec['MinLength']}")
        if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
            errors.append(f"{name}={value!r} is longer than MaxLength {spec['MaxLength']}")
    return errors
