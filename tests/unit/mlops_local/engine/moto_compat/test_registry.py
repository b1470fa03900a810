"""The workaround registry: one module and one test file per gap, the moto version check at start-up."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from typing import Any

import pytest

from mlops_local.engine.emulation import EMULATIONS
from mlops_local.engine.moto_compat import WORKAROUNDS, MotoVersionMismatch, check_moto_version, registry
from mlops_local.engine.patching import Patches
from mlops_local.runtime import PATCHES, LocalRuntime
from tests.unit.mlops_local.engine.conftest import (
    FIXTURE_STACK,
    FIXTURE_TEMPLATE,
    FakeEndpointHost,
    fake_glue,
    fake_training,
)

TESTS = Path(__file__).parent


@pytest.mark.parametrize("name", WORKAROUNDS)
def test_each_workaround_is_a_module_named_after_its_gap_with_its_own_tests(name: str) -> None:
    module = importlib.import_module(f"mlops_local.engine.moto_compat.{name}")
    assert module.WORKAROUND is WORKAROUNDS[name]
    tests = (TESTS / f"test_{name}.py").read_text(encoding="utf-8")
    assert "def test_stock_" in tests, "a test that stock moto still has the gap"
    assert "def test_the_workaround_alone_" in tests, "a test that this workaround alone closes it"


def test_every_workaround_applies_to_the_installed_moto() -> None:
    check_moto_version(WORKAROUNDS.values())


def test_the_check_names_each_workaround_outside_its_range() -> None:
    with pytest.raises(MotoVersionMismatch) as raised:
        check_moto_version(WORKAROUNDS.values(), installed="5.3.0")
    message = str(raised.value)
    assert "moto 5.3.0 is installed" in message
    for name in WORKAROUNDS:
        assert f"{name} (for moto==5.2.5)" in message


def test_a_range_that_includes_the_version_passes() -> None:
    newer = dataclasses.replace(WORKAROUNDS["iam_policy_without_version"], applies_to=">=5.2.5,<5.4")
    check_moto_version([newer], installed="5.3.0")


def _runtime(tmp_path: Path, **kwargs: Any) -> LocalRuntime:
    return LocalRuntime(
        project_root=FIXTURE_STACK,
        template=FIXTURE_TEMPLATE,
        run_dir=tmp_path / "run",
        time_factor=0.01,
        executors={"training": fake_training, "glue": fake_glue},
        endpoint_host=FakeEndpointHost(),
        package_code=False,
        **kwargs,
    )


def test_the_runtime_does_not_start_on_a_moto_a_workaround_was_not_checked_against(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "installed_moto_version", lambda: "5.2.6")
    with pytest.raises(MotoVersionMismatch, match="update_model_package_drops_metadata"):
        _runtime(tmp_path).start()
    assert not any(w.applied for w in WORKAROUNDS.values())


def test_a_switched_off_workaround_is_neither_checked_nor_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "update_model_package_drops_metadata"
    monkeypatch.setitem(WORKAROUNDS, name, dataclasses.replace(WORKAROUNDS[name], applies_to="==5.2.4"))
    runtime = _runtime(tmp_path, disabled_patches={name})
    runtime.start()
    try:
        assert runtime.patches_applied == [p for p in PATCHES if p != name]
        assert not WORKAROUNDS[name].applied
    finally:
        runtime.stop()
    assert runtime.patches_applied == []
    assert not any(p.applied for p in (*WORKAROUNDS.values(), *EMULATIONS.values()))


def test_an_unknown_name_is_refused() -> None:
    with pytest.raises(ValueError, match="no workaround or emulation is named nope"):
        LocalRuntime(project_root=FIXTURE_STACK, disabled_patches={"nope"})


def _mock_patches(patches: Patches) -> list[Any]:
    return [p for p in patches if hasattr(p, "attribute")]


@pytest.mark.parametrize("name", WORKAROUNDS)
def test_undo_restores_what_apply_replaced(stock: None, name: str) -> None:
    workaround = WORKAROUNDS[name]
    targets = [(p.getter(), p.attribute) for p in _mock_patches(workaround.patches())]
    missing = object()
    before = [getattr(target, attribute, missing) for target, attribute in targets]
    workaround.apply()
    try:
        during = [getattr(target, attribute, missing) for target, attribute in targets]
        assert all(now is not then for now, then in zip(during, before, strict=True))
    finally:
        workaround.undo()
    assert [getattr(target, attribute, missing) for target, attribute in targets] == before
    assert not workaround.applied


def test_applications_nest_like_mock_patch(stock: None) -> None:
    workaround = WORKAROUNDS["dynamodb_writes_not_atomic"]
    (first, *_) = _mock_patches(workaround.patches())
    target, attribute = first.getter(), first.attribute
    stock_method = getattr(target, attribute)
    workaround.apply()
    outer = getattr(target, attribute)
    workaround.apply()
    assert getattr(target, attribute) is not outer
    workaround.undo()
    assert getattr(target, attribute) is outer
    workaround.undo()
    assert getattr(target, attribute) is stock_method
    workaround.undo()  # nothing left to undo: no error
    assert getattr(target, attribute) is stock_method
