"""handle_drift's use case with in-memory fakes: when it retrains, notifies or ignores, without AWS."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlops_common.aws_events import DriftEvent, parse_drift_event
from mlops_common.models import DriftOutcome, PipelineExecutionInput
from mlops_common.ports import StartResult
from mlops_common.services.handle_drift import DriftServices, handle_drift_event
from tests.unit.mlops_common.fakes import (
    HANDLE_DRIFT,
    NOW,
    FakeDocuments,
    FakeLedger,
    FakeNotifier,
    FakePipeline,
    FakeRuns,
    FakeSageMaker,
)

ALARM = parse_drift_event(
    {
        "version": "0",
        "id": "a-1",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": "2026-11-12T10:07:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:stack-drift-confidence"],
        "detail": {
            "alarmName": "stack-drift-confidence",
            "state": {"value": "ALARM"},
            "previousState": {"value": "OK"},
        },
    }
)
REPORTS = "s3://artifacts/monitoring/reports/job-1"


SCHEDULE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:monitoring-schedule/defect-classifier-data-quality"


def monitoring_job(*, with_outputs: bool = True, schedule_arn: str = SCHEDULE_ARN) -> DriftEvent:
    detail: dict[str, object] = {
        "ProcessingJobName": "job-1",
        "ProcessingJobStatus": "Completed",
        "MonitoringScheduleArn": schedule_arn,
        "ExitMessage": "CompletedWithViolations: Job completed successfully with 1 violations.",
    }
    if with_outputs:
        detail["ProcessingOutputConfig"] = {"Outputs": [{"S3Output": {"S3Uri": REPORTS + "/"}}]}
    return parse_drift_event(
        {
            "version": "0",
            "id": "j-1",
            "detail-type": "SageMaker Processing Job State Change",
            "source": "aws.sagemaker",
            "account": "123456789012",
            "time": "2026-11-12T10:07:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": detail,
        }
    )


REPORT = {
    "violations": [
        {
            "feature_name": "brightness",
            "constraint_check_type": "baseline_drift_check",
            "description": "Baseline drift distance: 0.31 exceeds threshold: 0.1",
        }
    ]
}


def services(
    *,
    ledger: FakeLedger | None = None,
    runs: FakeRuns | None = None,
    pipeline: FakePipeline | None = None,
    notifier: FakeNotifier | None = None,
    documents: FakeDocuments | None = None,
    sagemaker: FakeSageMaker | None = None,
) -> DriftServices:
    return DriftServices(
        ledger=ledger or FakeLedger(),
        runs=runs or FakeRuns(),
        pipeline=pipeline or FakePipeline(),
        sagemaker=sagemaker or FakeSageMaker(),
        store=documents or FakeDocuments(),
        notifier=notifier or FakeNotifier(),
    )


def test_drift_start_failure_gives_the_cooldown_back() -> None:
    ledger = FakeLedger()
    with pytest.raises(RuntimeError):
        handle_drift_event(
            ALARM,
            services=services(ledger=ledger, pipeline=FakePipeline(fail=True)),
            settings=HANDLE_DRIFT,
            now=NOW,
        )
    assert ledger.released
    assert ledger.cooldown_holder is None


def test_drift_notification_only_when_a_run_starts() -> None:
    notifier = FakeNotifier()
    bundle = services(notifier=notifier)
    actions = [
        handle_drift_event(ALARM, services=bundle, settings=HANDLE_DRIFT, now=NOW).action for _ in range(3)
    ]
    assert actions == ["started", "cooldown", "cooldown"]
    assert len(notifier.messages) == 1
    assert "entered ALARM" in notifier.messages[0][1]


def test_violations_in_the_report_start_a_run_and_name_the_features() -> None:
    notifier, pipeline = FakeNotifier(), FakePipeline()
    documents = FakeDocuments({f"{REPORTS}/constraint_violations.json": REPORT})
    outcome = handle_drift_event(
        monitoring_job(),
        services=services(notifier=notifier, pipeline=pipeline, documents=documents),
        settings=HANDLE_DRIFT,
        now=NOW,
    )
    assert (outcome.action, [v.feature_name for v in outcome.violations]) == ("started", ["brightness"])
    ((name, execution_input),) = pipeline.started
    assert (name, execution_input.trigger) == (outcome.execution_name, "drift")
    assert "brightness [baseline_drift_check]: distance 0.31 (threshold 0.1)" in notifier.messages[0][1]


def test_report_location_falls_back_to_describe_processing_job() -> None:
    described = {
        "ProcessingJobName": "job-1",
        "ProcessingJobStatus": "Completed",
        "ProcessingOutputConfig": {"Outputs": [{"S3Output": {"S3Uri": REPORTS}}]},
    }
    documents = FakeDocuments({f"{REPORTS}/constraint_violations.json": REPORT})
    bundle = services(documents=documents, sagemaker=FakeSageMaker(processing_jobs={"job-1": described}))
    outcome = handle_drift_event(
        monitoring_job(with_outputs=False), services=bundle, settings=HANDLE_DRIFT, now=NOW
    )
    assert outcome.action == "started"


def test_missing_report_notifies_and_is_ignored() -> None:
    notifier, pipeline = FakeNotifier(), FakePipeline()
    bundle = services(notifier=notifier, pipeline=pipeline)
    outcome = handle_drift_event(monitoring_job(), services=bundle, settings=HANDLE_DRIFT, now=NOW)
    assert outcome.action == "ignored"
    assert "unusable" in outcome.reason
    assert pipeline.started == []
    assert len(notifier.messages) == 1


def test_a_signal_during_a_run_is_queued_for_when_it_ends_not_a_second_execution() -> None:
    ledger, runs, pipeline = FakeLedger(), FakeRuns(holder="upload-run"), FakePipeline()
    bundle = services(ledger=ledger, runs=runs, pipeline=pipeline)

    outcome = handle_drift_event(ALARM, services=bundle, settings=HANDLE_DRIFT, now=NOW)

    assert (outcome.action, outcome.execution_name) == ("queued", "upload-run")
    assert pipeline.started == []
    assert runs.retraining is not None
    assert runs.retraining.trigger == "drift"
    assert "stack-drift-confidence" in runs.retraining.reason
    # The cooldown holds: a storm during the run queues one retraining, not one per signal.
    assert ledger.cooldown_holder is not None


def test_a_started_retraining_holds_the_run_lease() -> None:
    runs, pipeline = FakeRuns(), FakePipeline()

    outcome = handle_drift_event(
        ALARM, services=services(runs=runs, pipeline=pipeline), settings=HANDLE_DRIFT, now=NOW
    )

    assert outcome.action == "started"
    assert runs.holder is not None
    assert runs.holder.holder == outcome.execution_name == pipeline.started[0][0]


def test_a_failed_start_gives_the_lease_back_too() -> None:
    runs = FakeRuns()
    with pytest.raises(RuntimeError):
        handle_drift_event(
            ALARM,
            services=services(runs=runs, pipeline=FakePipeline(fail=True)),
            settings=HANDLE_DRIFT,
            now=NOW,
        )
    assert runs.holder is None


def test_another_stacks_monitoring_schedule_is_ignored() -> None:
    pipeline = FakePipeline()
    other = SCHEDULE_ARN.replace("defect-classifier-data-quality", "someone-elses-data-quality")

    outcome = handle_drift_event(
        monitoring_job(schedule_arn=other),
        services=services(pipeline=pipeline),
        settings=HANDLE_DRIFT,
        now=NOW,
    )

    assert outcome.action == "ignored"
    assert "someone-elses-data-quality is not this stack's" in outcome.reason
    assert pipeline.started == []


def test_the_schedule_name_in_the_arn_is_compared_without_case() -> None:
    documents = FakeDocuments({REPORTS + "/constraint_violations.json": REPORT})
    upper = SCHEDULE_ARN.replace("defect-classifier", "Defect-Classifier")

    outcome = handle_drift_event(
        monitoring_job(schedule_arn=upper),
        services=services(documents=documents),
        settings=HANDLE_DRIFT,
        now=NOW,
    )

    assert outcome.action == "started"


def test_another_alarm_is_ignored() -> None:
    pipeline = FakePipeline()
    other = parse_drift_event(
        {
            **ALARM.model_dump(mode="json", by_alias=True),
            "detail": {"alarmName": "billing", "state": {"value": "ALARM"}},
        }
    )

    outcome = handle_drift_event(other, services=services(pipeline=pipeline), settings=HANDLE_DRIFT, now=NOW)

    assert outcome.action == "ignored"
    assert "billing is not this stack's drift alarm" in outcome.reason
    assert pipeline.started == []


class ExistingExecution(FakePipeline):
    """Step Functions that starts nothing: an execution of the name asked for exists already."""

    def __init__(self, status: str) -> None:
        super().__init__()
        self.existing_status = status

    def start(self, name: str, execution_input: PipelineExecutionInput) -> StartResult:
        self.statuses[name] = self.existing_status
        return StartResult(name, started=False)


@pytest.mark.parametrize("status", ["RUNNING", "SUCCEEDED"])
def test_a_start_that_started_nothing_is_reported_as_such_and_mails_nobody(status: str) -> None:
    notifier = FakeNotifier()
    outcome = handle_drift_event(
        ALARM,
        services=services(notifier=notifier, pipeline=ExistingExecution(status)),
        settings=HANDLE_DRIFT,
        now=NOW,
    )
    assert outcome.action == "not_started"
    assert f"exists already ({status})" in outcome.reason
    assert notifier.messages == []


def test_a_start_that_started_nothing_leaves_no_lease_for_an_ended_execution() -> None:
    runs, ledger = FakeRuns(), FakeLedger()
    handle_drift_event(
        ALARM,
        services=services(runs=runs, ledger=ledger, pipeline=ExistingExecution("SUCCEEDED")),
        settings=HANDLE_DRIFT,
        now=NOW,
    )
    assert runs.holder is None
    assert ledger.cooldown_holder is None


def report_of(count: int, description: str = "Baseline drift distance: {d} exceeds threshold: 0.1") -> Any:
    return {
        "violations": [
            {
                "feature_name": f"feature_{i}",
                "constraint_check_type": "baseline_drift_check",
                "description": description.format(d=round(0.1 + i / (10 * count), 6)),
            }
            for i in range(count)
        ]
    }


def drift_with_report(report: Any, notifier: FakeNotifier | None = None) -> DriftOutcome:
    documents = FakeDocuments({f"{REPORTS}/constraint_violations.json": report})
    bundle = services(documents=documents, notifier=notifier)
    return handle_drift_event(monitoring_job(), services=bundle, settings=HANDLE_DRIFT, now=NOW)


def test_a_large_report_is_summarised_in_the_outcome_with_its_count_and_location() -> None:
    outcome = drift_with_report(report_of(20_000))

    assert (outcome.action, outcome.violation_count) == ("started", 20_000)
    assert outcome.report_uri == f"{REPORTS}/constraint_violations.json"
    assert [v.feature_name for v in outcome.violations] == [f"feature_{i}" for i in range(19_999, 19_979, -1)]
    # Powertools keeps the outcome in one DynamoDB item, at most 400 KB.
    assert len(json.dumps(outcome.to_json())) < 40_000


def test_a_large_report_is_summarised_in_the_notification_with_its_count_and_location() -> None:
    notifier = FakeNotifier()
    drift_with_report(report_of(20_000), notifier)

    ((_, message),) = notifier.messages
    assert len(message.encode()) < 40_000  # SNS takes at most 256 KB
    assert "the 20 largest of 20000" in message
    assert f"Full report: {REPORTS}/constraint_violations.json" in message
    assert "- feature_19999 [baseline_drift_check]: distance 0.199995 (threshold 0.1)" in message


def test_huge_texts_in_a_report_are_clipped_in_the_outcome() -> None:
    report = {
        "violations": [
            {
                "feature_name": "f" * 100_000,
                "constraint_check_type": "c" * 100_000,
                "description": "d" * 500_000,
            }
        ]
    }
    outcome = drift_with_report(report)

    assert outcome.violation_count == 1
    assert len(json.dumps(outcome.to_json())) < 5_000


@pytest.mark.parametrize("number", ["1e999", "-1e999", "1e400"])
def test_a_distance_beyond_float_range_is_no_distance_and_the_output_stays_json(number: str) -> None:
    notifier = FakeNotifier()
    outcome = drift_with_report(
        report_of(1, f"Baseline drift distance: {number} exceeds threshold: {number}"), notifier
    )

    (violation,) = outcome.violations
    assert (violation.distance, violation.threshold) == (None, None)
    json.dumps(outcome.to_json(), allow_nan=False)  # raises on NaN or Infinity
    ((_, message),) = notifier.messages
    assert "inf" not in message.replace(number, "")
