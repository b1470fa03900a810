from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

EVENTS_DIR = Path(__file__).parents[2] / "events"


def load_event(name: str) -> Any:
    """A fresh copy of the real event shape ``tests/events/<name>.json``."""
    return json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(name="load_event")
def load_event_fixture() -> Any:
    return load_event
