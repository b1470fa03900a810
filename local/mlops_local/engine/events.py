"""Event plumbing of the local stack: S3 -> EventBridge -> SQS -> Lambda, rules, schedules.

- The rules, event source mappings and schedules that provisioning finds in the template.
- ``SqsPoller`` plays Lambda's SQS event source mapping: it honours ``BatchSize``,
  ``MaximumBatchingWindowInSeconds`` and ``ReportBatchItemFailures`` from the template. Failed
  messages stay on the queue until their visibility timeout ends and moto's redrive policy moves
  them to the DLQ after ``maxReceiveCount`` receives. Every duration is multiplied by
  ``time_factor`` so that a demo does not wait minutes (1.0 = AWS's timing).
- ``EventRouter`` delivers events (``PutEvents`` or events the runtime emits itself) to the rules
  whose targets are Lambda functions or state machines, with moto's own pattern matcher.
"""

from __future__ import annotations

import functools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.events.models import EventPattern

from mlops_local.engine.eventbridge import eventbridge_event
from mlops_local.engine.lambdas import LambdaRegistry
from mlops_local.engine.template import ACCOUNT_ID, REGION

SCHEDULE_ARN_PREFIX = f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule/default"


@dataclass
class EventSourceMapping:
    logical_id: str
    function: str  # function name
    queue_arn: str
    batch_size: int
    batching_window_seconds: int
    report_batch_item_failures: bool
    enabled: bool = True


@dataclass
class EventRule:
    logical_id: str
    name: str
    pattern: dict[str, Any] | None
    lambda_targets: list[tuple[str, Any]]  # (function ARN, Input or None)
    state_machine_targets: list[tuple[str, Any]]  # (state machine ARN, Input or None)
    enabled: bool


@dataclass
class Schedule:
    logical_id: str
    name: str
    expression: str
    state: str
    target_arn: str
    target_input: str | None
    role_arn: str = ""  # the role Scheduler starts the target with


class _RuleMatcher:
    """A rule's pattern, parsed once, with the events of another ``source`` ruled out first.

    moto's matcher copies the event through JSON and flattens it for each rule it is asked about;
    the router asks about each of the stack's rules for every event (every upload among them), and
    most rules name other sources (SageMaker, CloudWatch, Step Functions). A pattern's ``source``
    given as a list of strings matches exactly those values, so an event with another source cannot
    match; a ``source`` with a named filter (prefix, anything-but...) is left to moto.
    """

    def __init__(self, rule: EventRule) -> None:
        self.rule = rule
        self._pattern = EventPattern.load(json.dumps(rule.pattern)) if rule.pattern is not None else None
        sources = (rule.pattern or {}).get("source")
        self._sources: frozenset[str] | None = None
        if isinstance(sources, list) and all(isinstance(source, str) for source in sources):
            self._sources = frozenset(sources)

    def matches(self, event: dict[str, Any]) -> bool:
        if not self.rule.enabled or self._pattern is None:
            return False
        if self._sources is not None and event.get("source") not in self._sources:
            return False
        return self._pattern.matches_event(event)  # type: ignore[arg-type]


class EventRouter:
    """Delivers events to the template's rules that target Lambda functions or state machines."""

    def __init__(self, rules: list[EventRule], lambdas: LambdaRegistry, client: Callable[[str], Any]) -> None:
        self._rules = [_RuleMatcher(rule) for rule in rules]
        self._lambdas = lambdas
        self._client = client
        self.deliveries: list[tuple[str, str, Any]] = []  # (rule logical id, target ARN, outcome)
        self._threads: list[threading.Thread] = []

    def matching_rules(self, event: dict[str, Any]) -> list[EventRule]:
        return [matcher.rule for matcher in self._rules if matcher.matches(event)]

    def dispatch(self, event: dict[str, Any], *, wait: bool = False) -> None:
        """Deliver ``event`` to every matching rule's targets (asynchronously, as EventBridge does)."""
        # Rules whose targets moto delivers (queues) are not matched here: every upload comes this way.
        for matcher in self._rules:
            rule = matcher.rule
            if not (rule.lambda_targets or rule.state_machine_targets) or not matcher.matches(event):
                continue
            for arn, target_input in rule.lambda_targets:
                payload = json.loads(target_input) if target_input else event
                self._start(functools.partial(self._invoke, rule, arn, payload), wait)
            for arn, target_input in rule.state_machine_targets:
                payload = json.loads(target_input) if target_input else event
                self._start(functools.partial(self._start_execution, rule, arn, payload), wait)

    def wait(self, timeout: float | None = None) -> None:
        for thread in list(self._threads):
            thread.join(timeout)

    def _start(self, work: Callable[[], None], wait: bool) -> None:
        if wait:
            work()
            return
        thread = threading.Thread(target=work, name="eventbridge-target", daemon=True)
        # Listed once started: `wait` (another thread) may join any thread it finds in the list.
        thread.start()
        self._threads.append(thread)

    def _invoke(self, rule: EventRule, arn: str, payload: Any) -> None:
        outcome = self._lambdas.invoke(arn, payload)
        self.deliveries.append((rule.logical_id, arn, outcome))

    def _start_execution(self, rule: EventRule, arn: str, payload: Any) -> None:
        response = self._client("stepfunctions").start_execution(
            stateMachineArn=arn, input=json.dumps(payload)
        )
        self.deliveries.append((rule.logical_id, arn, response["executionArn"]))

    def put_events_entries(self, entries: list[dict[str, Any]]) -> None:
        """Route the entries of a ``PutEvents`` call (their ``Detail`` is a JSON string)."""
        for entry in entries:
            event = eventbridge_event(
                entry.get("Source", ""),
                entry.get("DetailType", ""),
                json.loads(entry.get("Detail") or "{}"),
                entry.get("Resources", []),
            )
            self.dispatch(event)


def fire_schedule(schedule: Schedule, client: Callable[[str], Any]) -> str:
    """Deliver a schedule's target input now, as EventBridge Scheduler would at its next tick."""
    if ":states:" not in schedule.target_arn:
        raise ValueError(f"schedule {schedule.logical_id} targets {schedule.target_arn}: not a state machine")
    now = datetime.now(UTC)
    execution_id = str(uuid.uuid4())
    # Scheduler's context attributes, replaced in the target input as Scheduler does at each tick.
    attributes = {
        "<aws.scheduler.scheduled-time>": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "<aws.scheduler.execution-id>": execution_id,
        "<aws.scheduler.attempt-number>": "1",
        "<aws.scheduler.schedule-arn>": f"{SCHEDULE_ARN_PREFIX}/{schedule.name}",
    }
    target_input = schedule.target_input or "{}"
    for placeholder, value in attributes.items():
        target_input = target_input.replace(placeholder, value)
    name = f"{schedule.name[:40]}-{now:%Y%m%dT%H%M%S}-{execution_id[:8]}"
    response = client("stepfunctions").start_execution(
        stateMachineArn=schedule.target_arn, name=name, input=target_input
    )
    return str(response["executionArn"])


class SqsPoller:
    """Lambda's SQS event source mapping for one queue -> function, run in a thread."""

    def __init__(
        self,
        mapping: EventSourceMapping,
        lambdas: LambdaRegistry,
        client: Callable[[str], Any],
        *,
        time_factor: float = 1.0,
        idle_poll_seconds: float = 0.2,
        role_client: Callable[[str], Any] | None = None,
    ) -> None:
        """``role_client``: clients acting as the function's execution role, which Lambda polls with."""
        self.mapping = mapping
        self._lambdas = lambdas
        setup = client("sqs")
        self._queue_url = setup.get_queue_url(QueueName=mapping.queue_arn.rsplit(":", 1)[1])["QueueUrl"]
        visibility = setup.get_queue_attributes(
            QueueUrl=self._queue_url, AttributeNames=["VisibilityTimeout"]
        )
        self._sqs = (role_client or client)("sqs")
        self._visibility_seconds = int(visibility["Attributes"].get("VisibilityTimeout", "30"))
        self._time_factor = time_factor
        self._idle_poll_seconds = idle_poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.batches: list[list[str]] = []  # message ids per invocation, for tests and the CLI
        self.idle = threading.Event()

    @property
    def batching_window_seconds(self) -> float:
        return self.mapping.batching_window_seconds * self._time_factor

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._loop, name=f"sqs-poller-{self.mapping.logical_id}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not self.poll_once():
                self.idle.set()
                self._stop.wait(self._idle_poll_seconds)

    def poll_once(self) -> bool:
        """Gather one batch (up to BatchSize, within the batching window) and deliver it."""
        messages = self._receive(self.mapping.batch_size)
        if not messages:
            return False
        self.idle.clear()
        deadline = time.monotonic() + self.batching_window_seconds
        while len(messages) < self.mapping.batch_size and time.monotonic() < deadline:
            more = self._receive(self.mapping.batch_size - len(messages))
            if more:
                messages.extend(more)
            else:
                self._stop.wait(min(self._idle_poll_seconds, max(0.0, deadline - time.monotonic())))
        self._deliver(messages)
        return True

    def _receive(self, count: int) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=max(1, min(10, count)),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            VisibilityTimeout=self._visibility_timeout(),
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    def _visibility_timeout(self) -> int:
        return max(1, round(self._visibility_seconds * self._time_factor))

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [self._record(m) for m in messages]}
        self.batches.append([m["MessageId"] for m in messages])
        outcome = self._lambdas.invoke(self.mapping.function, event)
        failed = self._failed_ids(messages, outcome.payload, outcome.failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + 10])
                ],
            )
        # Failed messages stay invisible for the rest of their visibility timeout, then return.

    def _failed_ids(self, messages: list[dict[str, Any]], payload: Any, invocation_failed: bool) -> set[str]:
        all_ids = {m["MessageId"] for m in messages}
        if invocation_failed:
            return all_ids
        if not self.mapping.report_batch_item_failures or not isinstance(payload, dict):
            return set()
        failures = payload.get("batchItemFailures") or []
        ids = {str(item.get("itemIdentifier")) for item in failures if isinstance(item, dict)}
        # Lambda treats a response naming an unknown or empty id as a failure of the whole batch.
        if not ids <= all_ids:
            return all_ids
        return ids

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.mapping.queue_arn,
            "awsRegion": "us-east-1",
        }
