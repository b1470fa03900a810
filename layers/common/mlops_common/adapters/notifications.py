"""Notifications to the pipeline's SNS topic, shaped to what SNS Publish accepts.

SNS Publish (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html): a subject "must be
UTF-8 text with no line breaks or control characters, and less than 100 characters long"; a
message is "at most 256 KB in size (262,144 bytes, not 262,144 characters)". A subject or message
outside those limits makes the call fail, and the notification is lost.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from mlops_common.adapters import aws

SNS_SUBJECT_MAX_CHARACTERS = 99  # "less than 100 characters"
SNS_MESSAGE_MAX_BYTES = 262_144
_CLIPPED = "..."
_MESSAGE_CLIPPED = "\n\n[message clipped to SNS's 256 KB limit]\n"


def sns_subject(text: str) -> str:
    """``text`` as an SNS subject: control characters and line breaks as spaces, at most 99 characters."""
    # Category C* covers control and format characters; Zl/Zp are the Unicode line breaks.
    cleaned = "".join(
        " " if unicodedata.category(char)[0] == "C" or unicodedata.category(char) in {"Zl", "Zp"} else char
        for char in text
    )
    cleaned = " ".join(cleaned.split()) or "(no subject)"
    if len(cleaned) <= SNS_SUBJECT_MAX_CHARACTERS:
        return cleaned
    return cleaned[: SNS_SUBJECT_MAX_CHARACTERS - len(_CLIPPED)].rstrip() + _CLIPPED


def sns_message(text: str) -> str:
    """``text`` clipped (at a character boundary) to SNS's message limit of 262,144 UTF-8 bytes."""
    encoded = text.encode("utf-8", "replace")
    if len(encoded) <= SNS_MESSAGE_MAX_BYTES:
        return encoded.decode("utf-8")
    room = SNS_MESSAGE_MAX_BYTES - len(_MESSAGE_CLIPPED.encode("utf-8"))
    return encoded[:room].decode("utf-8", "ignore") + _MESSAGE_CLIPPED


class Notifier:
    """Implements ``ports.Notifications``: every subject and message goes through the limits above."""

    def __init__(self, topic_arn: str, sns_client: Any | None = None) -> None:
        self.topic_arn = topic_arn
        self._client = sns_client

    @property
    def client(self) -> Any:
        return self._client or aws.client("sns")

    def publish(self, subject: str, message: str) -> None:
        self.client.publish(
            TopicArn=self.topic_arn, Subject=sns_subject(subject), Message=sns_message(message)
        )
