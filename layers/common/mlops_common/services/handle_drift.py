"""Drift signals of this stack -> at most one retraining per cooldown window, with a notification.

A signal that finds another training run holding the one-run lease is queued as a pending
retraining (with its reason): the run that ends next starts it, so it is neither lost nor a second
concurrent execution.

A report may hold thousands of violations, but the outcome is kept whole in one DynamoDB item by
the idempotency layer (at most 400 KB: "The maximum item size in DynamoDB is 400 KB",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-items)
and the notification is one SNS message (at most 256 KB,
https://docs.aws.amazon.com/sns/latest/api/API_Publish.html). Both therefore carry a summary: the
count, the largest violations, and the S3 location of the full report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from mlops_common.aws_events import AlarmDetail, DriftEvent, ProcessingJobDetail, ProcessingJobStateChange
from mlops_common.domain.drift import VIOLATIONS_FILE, parse_violation_report, summarize_violations
from mlops_common.domain.errors import ViolationReportInvalid
from mlops_common.domain.run_control import run_name
from mlops_common.domain.triggers import expiry_epoch
from mlops_common.models import DriftAction, DriftOutcome, PipelineExecutionInput, Violation
from mlops_common.observability import logger
from mlops_common.ports import (
    DriftCooldown,
    JsonDocuments,
    Notifications,
    ObjectNotFound,
    ProcessingJobs,
    RunControl,
    TrainingRuns,
)
from mlops_common.settings import HandleDriftSettings

VIOLATIONS_EXIT_PREFIX = "CompletedWithViolations"

# 20 listed violations of at most 3 x 300 characters each keep the outcome and the notification
# under ~20 KB whatever the report holds; 20 lines are as many as a person reads in an e-mail, and
# cover every feature the image preprocessor emits under every check.
MAX_LISTED_VIOLATIONS = 20
MAX_VIOLATION_TEXT = 300
# Reasons come partly from outside (an alarm's state reason, a parser's error message).
MAX_REASON = 1000


@dataclass(frozen=True, kw_only=True)
class DriftServices:
    """What handle_drift talks to, bundled so the handler passes one object."""

    ledger: DriftCooldown
    runs: RunControl
    pipeline: TrainingRuns
    sagemaker: ProcessingJobs
    store: JsonDocuments
    notifier: Notifications


def _report_uri(detail: ProcessingJobDetail, services: DriftServices) -> str:
    """The monitoring output prefix: from the event, else from DescribeProcessingJob."""
    config = detail.processing_output_config
    if config is None or not config.outputs:
        described = services.sagemaker.describe_processing_job(detail.processing_job_name)
        config = ProcessingJobDetail.model_validate(described).processing_output_config
    for output in config.outputs if config else []:
        if output.s3_output is not None:
            return output.s3_output.s3_uri.rstrip("/") + "/" + VIOLATIONS_FILE
    raise ViolationReportInvalid(f"processing job {detail.processing_job_name} has no S3 output")


def handle_drift_event(
    event: DriftEvent, *, services: DriftServices, settings: HandleDriftSettings, now: datetime
) -> DriftOutcome:
    """Act on a Model Monitor violation or an alarm entering ALARM; ignore everything else."""
    if isinstance(event, ProcessingJobStateChange):
        return _on_monitoring_job(event.detail, services=services, settings=settings, now=now)
    return _on_alarm(event.detail, services=services, settings=settings, now=now)


def _on_monitoring_job(
    job: ProcessingJobDetail, *, services: DriftServices, settings: HandleDriftSettings, now: datetime
) -> DriftOutcome:
    schedule = (job.monitoring_schedule_arn or "").rsplit("/", 1)[-1]
    # SageMaker writes resource names in ARNs in lower case: compare without case.
    if schedule.lower() != settings.monitoring_schedule_name.lower():
        reason = f"{job.processing_job_name}: schedule {schedule or '(none)'} is not this stack's"
        logger.info("ignored: another stack's monitoring job", reason=reason)
        return DriftOutcome(action="ignored", reason=reason)
    if not (job.exit_message or "").startswith(VIOLATIONS_EXIT_PREFIX):
        return DriftOutcome(action="ignored", reason=f"{job.processing_job_name}: no violations")
    uri = None
    try:
        uri = _report_uri(job, services)
        violations = parse_violation_report(services.store.read_json(uri))
    except (ObjectNotFound, ValueError) as exc:
        # ViolationReportInvalid, JSON syntax errors and bounded_json's limits are ValueErrors.
        message = f"violation report of {job.processing_job_name} unusable: {exc}"[:MAX_REASON]
        logger.error(message, report_uri=uri)
        services.notifier.publish(f"Drift report unusable: {job.processing_job_name}", message)
        return DriftOutcome(action="ignored", reason=message, report_uri=uri)
    if not violations:
        return DriftOutcome(
            action="ignored", reason=f"{job.processing_job_name}: empty report", report_uri=uri
        )
    reason = f"Model Monitor job {job.processing_job_name}: {len(violations)} violation(s)"
    report = ViolationSummary.of(violations, uri)
    return _retrain(reason, report, services=services, settings=settings, now=now)


def _on_alarm(
    alarm: AlarmDetail, *, services: DriftServices, settings: HandleDriftSettings, now: datetime
) -> DriftOutcome:
    if alarm.alarm_name != settings.drift_alarm_name:
        reason = f"alarm {alarm.alarm_name} is not this stack's drift alarm ({settings.drift_alarm_name})"
        logger.info("ignored: another alarm", reason=reason)
        return DriftOutcome(action="ignored", reason=reason)
    previous = alarm.previous_state.value if alarm.previous_state else None
    if alarm.state.value != "ALARM" or previous == "ALARM":
        return DriftOutcome(
            action="ignored", reason=f"alarm {alarm.alarm_name}: {previous} -> {alarm.state.value}"
        )
    reason = f"alarm {alarm.alarm_name} entered ALARM: {alarm.state.reason}"[:MAX_REASON]
    return _retrain(reason, ViolationSummary(), services=services, settings=settings, now=now)


def _largest_first(violation: Violation) -> float:
    return -(violation.distance if violation.distance is not None else -1.0)


def _clipped(violation: Violation) -> Violation:
    return violation.model_copy(
        update={
            name: getattr(violation, name)[:MAX_VIOLATION_TEXT]
            for name in ("feature_name", "constraint_check_type", "description")
        }
    )


@dataclass(frozen=True)
class ViolationSummary:
    """What the outcome and the notification say about a report: bounded, whatever its size."""

    listed: list[Violation] = field(default_factory=list)  # the largest drifts, texts clipped
    total: int = 0
    report_uri: str | None = None

    @classmethod
    def of(cls, violations: list[Violation], report_uri: str) -> ViolationSummary:
        ranked = sorted(violations, key=_largest_first)[:MAX_LISTED_VIOLATIONS]
        return cls([_clipped(v) for v in ranked], len(violations), report_uri)

    def outcome(self, action: DriftAction, execution_name: str | None, reason: str) -> DriftOutcome:
        return DriftOutcome(
            action=action,
            execution_name=execution_name,
            violations=self.listed,
            violation_count=self.total,
            report_uri=self.report_uri,
            reason=reason,
        )

    def for_notification(self) -> str:
        if self.report_uri is None:
            return "Drifted features: (alarm: no feature report)\n"
        shown = len(self.listed)
        heading = "Drifted features (largest first"
        heading += f", the {shown} largest of {self.total}):" if shown < self.total else "):"
        return f"{heading}\n{summarize_violations(self.listed)}\n\nFull report: {self.report_uri}\n"


def _retrain(
    reason: str,
    report: ViolationSummary,
    *,
    services: DriftServices,
    settings: HandleDriftSettings,
    now: datetime,
) -> DriftOutcome:
    name = run_name("drift", now, services.pipeline.state_machine_arn)
    # The cooldown first: a storm of signals during one long run queues one retraining, not many.
    claimed = services.ledger.claim_cooldown(
        holder=name,
        now_epoch=int(now.timestamp()),
        expires_at=expiry_epoch(now, settings.drift_cooldown_minutes),
    )
    if not claimed:
        logger.info("retraining skipped: drift cooldown in force", reason=reason)
        return report.outcome("cooldown", None, reason)

    if not services.runs.take_lease(name, "drift", now, expiry_epoch(now, settings.run_lease_minutes)):
        lease = services.runs.lease()
        holder = lease.holder if lease else "another run"
        services.runs.request_retraining("drift", reason, now)
        logger.info("retraining queued: another run holds the lease", holder=holder, reason=reason)
        return report.outcome("queued", holder, reason)

    try:
        started = services.pipeline.start(
            name, PipelineExecutionInput(trigger="drift", reason=reason, requested_at=now)
        ).started
    except Exception:
        # Without a run the lease would block the next trigger, and the cooldown silence the next signal.
        _give_back(name, services)
        raise
    if not started:
        return _not_started(name, reason, report, services)

    services.notifier.publish(
        f"Retraining started ({settings.environment}): drift on {settings.endpoint_name}",
        f"{reason}\nExecution: {name}\n\n{report.for_notification()}",
    )
    logger.info("retraining started", execution_name=name, reason=reason)
    return report.outcome("started", name, reason)


def _give_back(name: str, services: DriftServices) -> None:
    services.runs.release_lease(name)
    services.ledger.release_cooldown(holder=name)


def _not_started(name: str, reason: str, report: ViolationSummary, services: DriftServices) -> DriftOutcome:
    """StartExecution started nothing: an execution of that name exists. Say so; e-mail nobody."""
    status = services.pipeline.status(name)
    if status != "RUNNING":
        # Nothing trains for this signal: the lease must not wait for an execution that ended.
        _give_back(name, services)
    note = f"Step Functions started nothing: execution {name} exists already ({status or 'status unknown'})"
    logger.warning("retraining not started", execution_name=name, status=status, reason=reason)
    return report.outcome("not_started", name, f"{note}; {reason}"[:MAX_REASON])
