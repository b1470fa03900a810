"""Every function's settings against template.yaml, derived from the code rather than a hand-kept list.

For each ``functions/<name>/app.py``: its template function is the one whose ``CodeUri`` is
``functions/<name>/``, its environment is the template's ``Globals`` plus its own, and its settings
classes are the ones its module holds after import (``mlops_common.settings`` classes it imports or
instances it reads), plus ``ObservabilitySettings``, which every handler reads through
``mlops_common.observability``.

- every required field of those classes is a variable the template gives the function, so the
  template and the settings cannot drift apart;
- without any one of those variables the module fails at import (Lambda's init, the cold start)
  with pydantic's ``ValidationError`` naming the variable, not later against a made-up name.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from mlops_common import settings as settings_module
from mlops_common.settings import environment_variable
from mlops_local.engine.template import declared_environment
from tests.conftest import REPO_ROOT

FUNCTIONS = sorted(path.parent.name for path in (REPO_ROOT / "functions").glob("*/app.py"))


def _all_settings_classes() -> list[type[BaseSettings]]:
    return [
        cls
        for name, cls in inspect.getmembers(settings_module, inspect.isclass)
        if issubclass(cls, BaseSettings)
        and cls.__module__ == settings_module.__name__
        and not name.startswith("_")
    ]


def _every_settings_variable() -> set[str]:
    return {environment_variable(field) for cls in _all_settings_classes() for field in cls.model_fields}


def _required_variables(classes: set[type[BaseSettings]]) -> dict[str, type[BaseSettings]]:
    return {
        environment_variable(field): cls
        for cls in classes
        for field, info in cls.model_fields.items()
        if info.is_required()
    }


def _is_layer(module_name: str) -> bool:
    return module_name == "mlops_common" or module_name.startswith("mlops_common.")


def _cold_start(function: str, monkeypatch: pytest.MonkeyPatch) -> set[type[BaseSettings]]:
    """Import ``functions/<function>/app.py`` as Lambda's init does: the layer imported afresh.

    Returns the settings classes the handler module holds. The layer's modules are dropped from
    ``sys.modules`` first (``monkeypatch`` puts the originals back after the test), so the settings
    that ``mlops_common.observability`` reads on import are read again too.
    """
    for name in [name for name in sys.modules if _is_layer(name)]:
        monkeypatch.delitem(sys.modules, name)
    path = REPO_ROOT / "functions" / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"_settings_contract_{function}_app", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found: set[type[BaseSettings]] = {sys.modules["mlops_common.settings"].ObservabilitySettings}
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, BaseSettings):
            found.add(value)
        elif isinstance(value, BaseSettings):
            found.add(type(value))
    return found


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No settings variable from the developer's shell; the layer's modules as they were afterwards."""
    before = {name for name in sys.modules if _is_layer(name)}
    for name in _every_settings_variable():
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch
    # Layer modules first imported by a cold start here would hold classes of the fresh import:
    # drop them (monkeypatch then puts the originals back).
    for name in [name for name in sys.modules if _is_layer(name) and name not in before]:
        del sys.modules[name]


def _deployed(template: dict[str, Any], function: str, environment: pytest.MonkeyPatch) -> dict[str, str]:
    variables = declared_environment(template, f"functions/{function}")
    for name, value in variables.items():
        environment.setenv(name, value)
    return variables


def test_functions_are_discovered() -> None:
    assert FUNCTIONS, "no functions/*/app.py found"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_template_provides_every_required_setting(
    template: dict[str, Any], function: str, environment: pytest.MonkeyPatch
) -> None:
    variables = _deployed(template, function, environment)
    classes = _cold_start(function, environment)
    assert len(classes) > 1, f"{function} reads no settings class of mlops_common.settings"

    missing = {
        name: cls.__name__ for name, cls in _required_variables(classes).items() if name not in variables
    }
    assert missing == {}, f"template.yaml does not give {function} these variables"
    for cls in classes:
        cls()  # and what it gives parses (numbers are numbers)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_missing_required_variable_fails_the_cold_start(
    template: dict[str, Any], function: str, environment: pytest.MonkeyPatch
) -> None:
    variables = _deployed(template, function, environment)
    required = _required_variables(_cold_start(function, environment))

    errors: dict[str, ValidationError | None] = {}
    for name in sorted(required):
        environment.delenv(name)
        try:
            _cold_start(function, environment)
        except ValidationError as exc:
            errors[name] = exc
        else:
            errors[name] = None
        environment.setenv(name, variables[name])

    survived = [name for name, error in errors.items() if error is None]
    assert survived == [], f"{function} starts without these variables: it must read its settings at import"
    for name, error in errors.items():
        assert error is not None
        assert [problem["loc"] for problem in error.errors()] == [(name.lower(),)]
        assert name in "\n".join(getattr(error, "__notes__", [])), f"the error should name {name}"


def test_every_settings_class_serves_a_function(
    template: dict[str, Any], environment: pytest.MonkeyPatch
) -> None:
    """A settings class that no function reads is dead configuration, or a handler that lost it."""
    used = set()
    for function in FUNCTIONS:
        _deployed(template, function, environment)
        used |= {cls.__name__ for cls in _cold_start(function, environment)}
    assert {cls.__name__ for cls in _all_settings_classes()} - used == set()


def _same_value(default: Any, template_default: Any) -> bool:
    try:
        return float(default) == float(template_default)
    except (TypeError, ValueError):
        return str(default) == str(template_default)


def test_tunable_defaults_are_the_templates_defaults(template: dict[str, Any]) -> None:
    # A setting that comes from a template parameter keeps that parameter's default, so a function
    # run without the variable (a test, sam local invoke) behaves as the deployed stack does.
    globals_ = template["Globals"]["Function"]["Environment"]["Variables"]
    parameters = template["Parameters"]
    mismatched = []
    for cls in _all_settings_classes():
        for field, info in cls.model_fields.items():
            raw = globals_.get(environment_variable(field))
            if info.is_required() or not (isinstance(raw, dict) and set(raw) == {"Ref"}):
                continue
            parameter = parameters.get(raw["Ref"])
            if parameter is None or "Default" not in parameter:
                continue
            if field == "environment":  # unset means a local run, not the default deployed stage
                continue
            if not _same_value(info.default, parameter["Default"]):
                template_default = parameter["Default"]
                mismatched.append(
                    f"{cls.__name__}.{field}={info.default!r}, {raw['Ref']}={template_default!r}"
                )
    assert mismatched == []
