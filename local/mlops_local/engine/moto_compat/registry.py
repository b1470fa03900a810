"""``Workaround``: one place where moto behaves differently from AWS, and the patch that fixes it.

Each workaround names the moto versions known to have its gap (``applies_to``, a PEP 440
specifier). ``check_moto_version`` runs before the local runtime starts: after a moto upgrade it
stops with the names of the workarounds nobody has checked against the new version, rather than
letting a patch silently change what the new moto does.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from mlops_local.engine.patching import Patches, PatchSet


class MotoVersionMismatch(RuntimeError):
    """The installed moto is outside the range of one or more workarounds."""


@dataclass(eq=False)
class Workaround:
    """A moto gap: what moto does, what AWS does, and the patch that makes moto do the latter."""

    name: str
    moto_does: str
    aws_does: str
    applies_to: str  # the moto versions known to have the gap, e.g. "==5.2.5"
    patches: Callable[[], Patches]
    _specifier: SpecifierSet = field(init=False, repr=False)
    _applied: PatchSet = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._specifier = SpecifierSet(self.applies_to)  # a malformed range fails at import
        self._applied = PatchSet(self.name)

    def applies_to_version(self, version: str) -> bool:
        return Version(version) in self._specifier

    @property
    def applied(self) -> bool:
        return self._applied.applied

    def apply(self) -> None:
        """Install the patch (after ``mock_aws`` has started)."""
        self._applied.enter(self.patches())

    def undo(self) -> None:
        """Restore what the last ``apply()`` replaced."""
        self._applied.undo()


def installed_moto_version() -> str:
    return importlib.metadata.version("moto")


def check_moto_version(workarounds: Iterable[Workaround], installed: str | None = None) -> None:
    """Fail, naming each workaround, when the installed moto is outside its range."""
    version = installed or installed_moto_version()
    stale = [w for w in workarounds if not w.applies_to_version(version)]
    if not stale:
        return
    lines = "\n".join(f"  - {w.name} (for moto{w.applies_to}): moto {w.moto_does}" for w in stale)
    raise MotoVersionMismatch(
        f"moto {version} is installed, but these workarounds are for other versions:\n{lines}\n"
        "For each, run tests/unit/mlops_local/engine/moto_compat/test_<name>.py: if the stock-moto "
        "test fails, this moto has fixed the gap, so delete "
        "local/mlops_local/engine/moto_compat/<name>.py and its test; if it passes, add the version "
        "to applies_to. LocalRuntime(disabled_patches={...}) switches a workaround off meanwhile."
    )
