"""Notifications to the pipeline's SNS topic."""

from __future__ import annotations

from typing import Any

from mlops_common.adapters import aws

_SNS_SUBJECT_LIMIT = 100


class Notifier:
    """Implements ``ports.Notifications``."""

    def __init__(self, topic_arn: str, sns_client: Any | None = None) -> None:
        self.topic_arn = topic_arn
        self._client = sns_client

    @property
    def client(self) -> Any:
        return self._client or aws.client("sns")

    def publish(self, subject: str, message: str) -> None:
        self.client.publish(TopicArn=self.topic_arn, Subject=subject[:_SNS_SUBJECT_LIMIT], Message=message)
