"""The layer installs an exact, closed set of pins, without what the Lambda runtime ships."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
REQUIREMENTS = ROOT / "layers" / "common" / "requirements.txt"
LAYER_PYPROJECT = ROOT / "layers" / "common" / "pyproject.toml"
# Provided by the python3.13 runtime; the layer would only shadow them with a second copy.
RUNTIME_PACKAGES = {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)==(?P<version>[^\s;]+)$")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _layer_pins() -> dict[str, str]:
    lines = [line.strip() for line in REQUIREMENTS.read_text().splitlines()]
    pins = {}
    for line in lines:
        if not line or line.startswith("#"):
            continue
        match = _PIN.match(line)
        assert match, f"not an exact pin: {line!r}"
        pins[_normalise(match["name"])] = match["version"]
    return pins


def test_every_requirement_is_an_exact_pin_without_runtime_packages() -> None:
    assert not RUNTIME_PACKAGES & set(_layer_pins())


def test_direct_dependencies_match_pyproject() -> None:
    dependencies = tomllib.loads(LAYER_PYPROJECT.read_text())["project"]["dependencies"]
    assert dependencies, "the layer's pyproject.toml lists its direct dependencies"
    layer = _layer_pins()
    for requirement in dependencies:
        name, version = re.split(r"==", re.sub(r"\[.*\]", "", requirement))
        if _normalise(name) not in RUNTIME_PACKAGES:
            assert layer.get(_normalise(name)) == version, name
