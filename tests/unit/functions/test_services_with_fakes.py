# mypy: disable-error-code="arg-type"
# (the fakes match the adapters structurally; the services are typed against the real adapters)
"""Use cases with in-memory fakes of the adapters: the decisions, without AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from mlops_common.adapters.ledger import ObjectRecord
from mlops_common.adapters.pipeline import StartResult
from mlops_common.models import PipelineExecutionInput
from mlops_common.services.handle_drift import DriftServices, handle_drift_event
from mlops_common.services.start_pipeline import process_upload_batch
from mlops_common.settings import HandleDriftSettings, StartPipelineSettings

NOW = datetime(2026, 11, 12, 10, 7, tzinfo=UTC)
ALARM = {
    "id": "a-1",
    "detail-type": "CloudWatch Alarm State Change",
    "source": "aws.cloudwatch",
    "time": "2026-11-12T10:07:00Z",
    "detail": {"alarmName": "drift", "state": {"value": "ALARM"}, "previousState": {"value": "OK"}},
}


class FakeLedger:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, str]] = {}
        self.cooldown_holder: str | None = None
        self.released = False

    def record_object(self, pk: str, sk: str, attributes: dict[str, str], expires_at: int) -> ObjectRecord:
        if (pk, sk) in self.objects:
            old = self.objects[(pk, sk)]
            return ObjectRecord(new=False, handled="run" in old or old["status"] == "rejected")
        self.objects[(pk, sk)] = dict(attributes)
        return ObjectRecord(new=True, handled=attributes["status"] == "rejected")

    def mark_handled(self, pk: str, sk: str, run: str, note: str) -> None:
        self.objects[(pk, sk)].update(run=run, run_note=note)

    def record_window(self, execution_name: str, attributes: dict[str, str], expires_at: int) -> None:
        pass

    def claim_cooldown(self, holder: str, now_epoch: int, expires_at: int) -> bool:
        if self.cooldown_holder:
            return False
        self.cooldown_holder = holder
        return True

    def release_cooldown(self, holder: str) -> None:
        self.released = True
        self.cooldown_holder = None


class FakePipeline:
    state_machine_arn = "arn:aws:states:us-east-1:123456789012:stateMachine:training"

    def __init__(self, running: list[str] | None = None, fail: bool = False) -> None:
        self.running = running or []
        self.fail = fail
        self.started: list[tuple[str, PipelineExecutionInput]] = []

    def running_executions(self) -> list[str]:
        return self.running

    def start(self, name: str, execution_input: PipelineExecutionInput) -> StartResult:
        if self.fail:
            raise RuntimeError("throttled")
        self.started.append((name, execution_input))
        return StartResult(name, started=True)


class FakeNotifier:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def publish(self, subject: str, message: str) -> None:
        self.messages.append((subject, message))


def sqs(*keys: str) -> dict[str, Any]:
    records = []
    for index, key in enumerate(keys):
        body = {
            "id": f"e{index}",
            "detail-type": "Object Created",
            "source": "aws.s3",
            "time": "2026-11-12T10:07:00Z",
            "detail": {"bucket": {"name": "data"}, "object": {"key": key, "sequencer": f"S{index}"}},
        }
        records.append({"messageId": f"m{index}", "body": json.dumps(body)})
    return {"Records": records}


def run_batch(event: dict[str, Any], ledger: FakeLedger, pipeline: FakePipeline) -> Any:
    return process_upload_batch(
        event,
        ledger=ledger,
        pipeline=pipeline,
        settings=StartPipelineSettings(),
        now=NOW,
    )


def test_mixed_batch_counts_each_outcome_and_starts_once() -> None:
    ledger, pipeline = FakeLedger(), FakePipeline()
    report = run_batch(sqs("incoming/a/ok/1.jpg", "incoming/a/ok/2.jpg", "incoming/1.jpg"), ledger, pipeline)
    assert (report.accepted, report.rejected, report.failed_message_ids) == (2, 1, [])
    ((name, execution_input),) = pipeline.started
    assert name.startswith("upload-20261112T1000-")
    assert execution_input.objects == 2


def test_batch_of_only_rejected_keys_starts_nothing() -> None:
    pipeline = FakePipeline()
    report = run_batch(sqs("elsewhere/a/ok/1.jpg"), FakeLedger(), pipeline)
    assert report.rejected == 1
    assert pipeline.started == []


def test_running_execution_defers_and_marks_the_uploads() -> None:
    ledger, pipeline = FakeLedger(), FakePipeline(running=["schedule-run"])
    report = run_batch(sqs("incoming/a/ok/1.jpg"), ledger, pipeline)
    assert pipeline.started == []
    assert report.run == "schedule-run"
    (item,) = ledger.objects.values()
    assert item["run"] == "schedule-run"


def test_drift_start_failure_gives_the_cooldown_back() -> None:
    ledger = FakeLedger()
    services = DriftServices(
        ledger=ledger,
        pipeline=FakePipeline(fail=True),
        sagemaker=None,
        store=None,
        notifier=FakeNotifier(),
    )
    with pytest.raises(RuntimeError):
        handle_drift_event(ALARM, services=services, settings=HandleDriftSettings(), now=NOW)
    assert ledger.released
    assert ledger.cooldown_holder is None


def test_drift_notification_only_when_a_run_starts() -> None:
    notifier, pipeline = FakeNotifier(), FakePipeline()
    services = DriftServices(
        ledger=FakeLedger(),
        pipeline=pipeline,
        sagemaker=None,
        store=None,
        notifier=notifier,
    )
    settings = HandleDriftSettings()
    actions = [
        handle_drift_event(ALARM, services=services, settings=settings, now=NOW).action for _ in range(3)
    ]
    assert actions == ["started", "cooldown", "cooldown"]
    assert len(notifier.messages) == 1
    assert "entered ALARM" in notifier.messages[0][1]
