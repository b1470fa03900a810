"""Notifier: whatever subject and message a caller builds, SNS Publish receives values it accepts."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from mlops_common.adapters.notifications import (
    SNS_MESSAGE_MAX_BYTES,
    SNS_SUBJECT_MAX_CHARACTERS,
    Notifier,
    sns_message,
    sns_subject,
)

TOPIC = "arn:aws:sns:us-east-1:123456789012:notifications"


class RecordingSns:
    """The one SNS call the Notifier makes, recorded."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


def published(subject: str, message: str = "body") -> dict[str, Any]:
    sns = RecordingSns()
    Notifier(TOPIC, sns_client=sns).publish(subject, message)
    (call,) = sns.calls
    return call


def test_a_failure_subject_with_a_long_manual_execution_name_fits_snss_limit() -> None:
    execution = "manual-" + "retrain-after-relabelling-the-scratch-class-" * 2  # 80 characters
    subject = published(f"[production] Training pipeline failed: {execution}")["Subject"]
    assert len(subject) == SNS_SUBJECT_MAX_CHARACTERS < 100
    assert subject.startswith("[production] Training pipeline failed: manual-retrain")
    assert subject.endswith("...")


@pytest.mark.parametrize("name", ["job\nInjected: header", "job\r\x00\x1b[31m", "job\u2028line"])
def test_line_breaks_and_control_characters_never_reach_the_subject(name: str) -> None:
    subject = published(f"Drift report unusable: {name}")["Subject"]
    assert not any(unicodedata.category(c)[0] == "C" or c in "\u2028\u2029" for c in subject)
    assert subject.startswith("Drift report unusable: job")


def test_a_short_subject_is_unchanged() -> None:
    assert sns_subject("Retraining started (dev): drift on defect-classifier") == (
        "Retraining started (dev): drift on defect-classifier"
    )


def test_a_message_over_256_kb_is_clipped_to_it_and_says_so() -> None:
    message = published("s", "é" * SNS_MESSAGE_MAX_BYTES)["Message"]
    assert len(message.encode("utf-8")) <= SNS_MESSAGE_MAX_BYTES
    assert message.startswith("éé")
    assert message.rstrip().endswith("[message clipped to SNS's 256 KB limit]")


def test_a_message_within_the_limit_is_unchanged() -> None:
    text = "Execution: drift-20261112T100700-1a2b3c4d\n" * 10
    assert sns_message(text) == text
