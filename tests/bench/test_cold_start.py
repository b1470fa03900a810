"""The cold-start benchmark imports each handler as Lambda's init does: with the template's environment."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from mlops_local.engine.template import declared_environment
from tests.conftest import REPO_ROOT


def test_a_handler_is_imported_with_the_variables_the_template_gives_it(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `make bench` runs `python -m bench` from the project folder; the tests import it from there too.
    monkeypatch.syspath_prepend(str(REPO_ROOT))
    cold_start = importlib.import_module("bench.cold_start")
    monkeypatch.setattr(cold_start, "RUNS", 1)
    environment = declared_environment(template, "functions/start_pipeline")

    milliseconds = cold_start.handler_import_ms(REPO_ROOT / "functions" / "start_pipeline", environment)

    assert 0 < milliseconds < 10_000
