"""The emulation registry: one module and one test file per AWS feature; undo restores each."""

from __future__ import annotations

import importlib
from pathlib import Path

import boto3
import pytest

from mlops_local.engine.emulation import EMULATIONS, LocalServices

TESTS = Path(__file__).parent


@pytest.mark.parametrize("name", EMULATIONS)
def test_each_emulation_is_a_module_named_after_its_feature_with_its_own_tests(name: str) -> None:
    module = importlib.import_module(f"mlops_local.engine.emulation.{name}")
    assert module.EMULATION is EMULATIONS[name]
    tests = (TESTS / f"test_{name}.py").read_text(encoding="utf-8")
    assert "def test_stock_" in tests, "a test of what stock moto does instead"
    assert "def test_the_emulation_alone_" in tests, "a test that this emulation alone provides it"


def _before_call_handlers() -> list[object]:
    emitter = boto3._get_default_session().events._emitter
    return list(emitter._handlers.prefix_search("before-call.lambda.Invoke"))


@pytest.mark.parametrize("name", EMULATIONS)
def test_undo_restores_what_apply_replaced(services: LocalServices, name: str) -> None:
    emulation = EMULATIONS[name]
    targets = [(p.getter(), p.attribute) for p in emulation.patches(services) if hasattr(p, "attribute")]
    missing = object()
    before = [getattr(target, attribute, missing) for target, attribute in targets]
    handlers_before = _before_call_handlers()
    emulation.apply(services)
    try:
        during = [getattr(target, attribute, missing) for target, attribute in targets]
        assert all(now is not then for now, then in zip(during, before, strict=True))
    finally:
        emulation.undo()
    assert [getattr(target, attribute, missing) for target, attribute in targets] == before
    assert _before_call_handlers() == handlers_before
    assert not emulation.applied
