"""The lockfiles uv compiled (requirements/lock/) hold every direct pin, at the pinned version.

A pin changed in a pyproject.toml or a requirements/*.txt without `make lock` would otherwise
leave the virtualenvs on the old version with nothing to say so.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LOCKS = ROOT / "requirements" / "lock"
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)(\[[^\]]*\])?==(?P<version>[^\s;]+)")
# The lock's input -> the pins it must hold (requirements files are read with their -r includes).
DEV_EXTRAS = ("ml", "glue", "dev", "toolkits")
PACKAGES = ("layers/common", "planning", "local")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        match = _PIN.match(line.strip())
        if match:
            pins[_normalise(match["name"])] = match["version"]
    return pins


def _requirements(path: Path) -> list[str]:
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-r "):
            lines += _requirements((path.parent / line.removeprefix("-r ").strip()).resolve())
        else:
            lines.append(line)
    return lines


def _pyproject_pins(path: Path, extras: tuple[str, ...] = ()) -> dict[str, str]:
    project = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
    lines = list(project.get("dependencies", []))
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return _pins(lines)


def _locked(name: str) -> dict[str, str]:
    return _pins((LOCKS / f"{name}.txt").read_text(encoding="utf-8").splitlines())


def test_the_dev_lock_holds_every_pin_of_the_project_and_its_packages() -> None:
    wanted = _pyproject_pins(ROOT / "pyproject.toml", DEV_EXTRAS)
    for package in PACKAGES:
        wanted |= _pyproject_pins(ROOT / package / "pyproject.toml")
    torch = wanted.pop("torch")
    locked = _locked("dev")
    assert {name: locked.get(name) for name in wanted} == wanted
    # torch is installed beside the lock (a CPU build where the machine has one), at the same pin.
    assert "torch" not in locked
    assert f"TORCH := torch=={torch}" in (ROOT / "Makefile").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["sam", "checkov", "mutation", "lambda-tests"])
def test_each_tool_lock_holds_its_inputs_pins(name: str) -> None:
    wanted = _pins(_requirements(ROOT / "requirements" / f"{name}.txt"))
    locked = _locked(name)
    assert wanted
    assert {package: locked.get(package) for package in wanted} == wanted


@pytest.mark.parametrize("lock", sorted(path.name for path in LOCKS.glob("*.txt")))
def test_every_locked_package_is_pinned_exactly(lock: str) -> None:
    for line in (LOCKS / lock).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith(("#", " ", "-e ")) and line != ".":
            assert _PIN.match(line), f"{lock}: not an exact pin: {line!r}"
