"""Errors the state machine catches by name (Lambda reports the class name as ``errorType``)."""

from __future__ import annotations


class DatasetNotUsable(Exception):
    """The prepared dataset cannot be trained on; ``reasons`` lists every problem found."""

    def __init__(self, dataset_version: str, reasons: list[str]) -> None:
        self.dataset_version = dataset_version
        self.reasons = reasons
        super().__init__(f"dataset {dataset_version} is not usable: " + "; ".join(reasons))


class EventNotUnderstood(ValueError):
    """An event of a shape or type this function does not handle."""


class ViolationReportInvalid(ValueError):
    """A Model Monitor ``constraint_violations.json`` that cannot be read as a report."""
