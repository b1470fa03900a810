"""Drift signals of this stack -> at most one retraining per cooldown window, with a notification.

A signal that finds another training run holding the one-run lease is queued as a pending
retraining (with its reason): the run that ends next starts it, so it is neither lost nor a second
concurrent execution.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mlops_common.aws_events import AlarmDetail, DriftEvent, ProcessingJobDetail, ProcessingJobStateChange
from mlops_common.domain.drift import VIOLATIONS_FILE, parse_violation_report, summarize_violations
from mlops_common.domain.errors import ViolationReportInvalid
from mlops_common.domain.run_control import run_name
from mlops_common.domain.triggers import expiry_epoch
from mlops_common.models import DriftOutcome, PipelineExecutionInput, Violation
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
    try:
        uri = _report_uri(job, services)
        violations = parse_violation_report(services.store.read_json(uri))
    except (ObjectNotFound, ValueError) as exc:
        # ViolationReportInvalid and JSONDecodeError are ValueErrors.
        message = f"violation report of {job.processing_job_name} unusable: {exc}"
        logger.error(message)
        services.notifier.publish(f"Drift report unusable: {job.processing_job_name}", message)
        return DriftOutcome(action="ignored", reason=message)
    if not violations:
        return DriftOutcome(action="ignored", reason=f"{job.processing_job_name}: empty report")
    reason = f"Model Monitor job {job.processing_job_name}: {len(violations)} violation(s)"
    return _retrain(reason, violations, services=services, settings=settings, now=now)


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
    reason = f"alarm {alarm.alarm_name} entered ALARM: {alarm.state.reason}"
    return _retrain(reason, [], services=services, settings=settings, now=now)


def _retrain(
    reason: str,
    violations: list[Violation],
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
        return DriftOutcome(action="cooldown", violations=violations, reason=reason)

    if not services.runs.take_lease(name, "drift", now, expiry_epoch(now, settings.run_lease_minutes)):
        lease = services.runs.lease()
        holder = lease.holder if lease else "another run"
        services.runs.request_retraining("drift", reason, now)
        logger.info("retraining queued: another run holds the lease", holder=holder, reason=reason)
        return DriftOutcome(action="queued", execution_name=holder, violations=violations, reason=reason)

    try:
        services.pipeline.start(
            name, PipelineExecutionInput(trigger="drift", reason=reason[:1000], requested_at=now)
        )
    except Exception:
        # Without a run the lease would block the next trigger, and the cooldown silence the next signal.
        services.runs.release_lease(name)
        services.ledger.release_cooldown(holder=name)
        raise

    features = summarize_violations(violations) if violations else "(alarm: no feature report)"
    services.notifier.publish(
        f"Retraining started ({settings.environment}): drift on {settings.endpoint_name}",
        f"{reason}\nExecution: {name}\n\nDrifted features (largest first):\n{features}\n",
    )
    logger.info("retraining started", execution_name=name, reason=reason)
    return DriftOutcome(action="started", execution_name=name, violations=violations, reason=reason)
