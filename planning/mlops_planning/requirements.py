"""What a deployment needs, as the planner reads it: a YAML profile, command-line flags, or both.

Every field of ``Requirements`` is also a flag of the same name (``images_per_day`` is
``--images-per-day``); unknown names are errors, so a typo in a profile is not silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

SUPPORTED_TASK = "image_classification"

Latency = Literal["realtime", "batch", "both"]
Retrain = Literal["daily", "weekly", "monthly", "on_drift"]

# Spellings people use for a task, mapped to the names the decision tables know.
TASK_ALIASES = {
    "classification": SUPPORTED_TASK,
    "image-classification": SUPPORTED_TASK,
    "detection": "object_detection",
    "object-detection": "object_detection",
    "semantic_segmentation": "segmentation",
    "forecasting": "tabular",
    "text_classification": "text",
    "nlp": "text",
}


class Requirements(BaseModel):
    """What the user needs; every field has a flag of the same name (``--images-per-day``)."""

    model_config = ConfigDict(extra="forbid")

    task: str = SUPPORTED_TASK
    images_per_day: float = Field(0, ge=0)
    images_total: int = Field(10_000, ge=1, description="images kept for training (the dataset size)")
    image_size: int = Field(224, ge=32, le=1024, description="model input edge in pixels")
    image_kb: float = Field(300, gt=0, description="average size of one uploaded image file")
    retrain: Retrain = "weekly"
    latency: Latency = "realtime"
    requests_per_second: float = Field(0, ge=0, description="expected average endpoint requests per second")
    monthly_budget_usd: float | None = Field(None, gt=0)
    interruption_tolerant: bool = True
    data_sources: int = Field(1, ge=1)
    vpc_only: bool = False
    kms: bool = True
    vpc_subnet_ids: list[str] = Field(default_factory=list)
    vpc_security_group_ids: list[str] = Field(default_factory=list)


REQUIREMENT_NAMES = tuple(Requirements.model_fields)


def normalise_task(task: str) -> str:
    """The task's canonical name (``object-detection`` -> ``object_detection``)."""
    key = task.strip().lower().replace(" ", "_")
    return TASK_ALIASES.get(key, key)


def load_requirements(profile: Path | None, flags: Mapping[str, Any]) -> Requirements:
    """Requirements from a YAML profile, with command-line flags taking precedence.

    A flag whose value is None was not given and leaves the profile's value (or the default).
    """
    values: dict[str, Any] = {}
    if profile is not None:
        loaded = yaml.safe_load(profile.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{profile} must hold a mapping of requirement names to values")
        values |= {str(k).replace("-", "_"): v for k, v in loaded.items()}
    values |= {k: v for k, v in flags.items() if v is not None}
    return Requirements.model_validate(values)
