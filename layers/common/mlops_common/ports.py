"""What the services need from AWS, as interfaces (ports); ``adapters`` implements them with boto3.

Services are typed against these Protocols, never against the adapter classes: an adapter matches
its port structurally (it does not inherit from it), and so does an in-memory fake in a test. Each
port holds only what one kind of service calls, so a fake implements a handful of methods, not the
whole adapter. The values and errors that cross a port are defined here too, so services import
nothing from ``adapters``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from mlops_common.domain.run_control import Lease, PendingRetraining, PendingUploads
from mlops_common.models import PipelineExecutionInput

# --- values and errors crossing the ports --------------------------------------------------------


class ObjectNotFound(LookupError):
    """The S3 object does not exist."""


@dataclass(frozen=True)
class ObjectRecord:
    """What the ledger knows about one upload event."""

    new: bool  # first time this bucket/key/version/sequencer was seen
    handled: bool  # a run was started (or deferred) for it already


@dataclass(frozen=True)
class HandledUpload:
    """An upload's ledger item as it is once a run covers it: what ``record_object`` wrote, plus
    which run covers it (``run``) and how (``note``: started, pending, in a claimed snapshot)."""

    pk: str
    sk: str
    attributes: dict[str, str]
    expires_at: int
    run: str
    note: str


@dataclass(frozen=True)
class StartResult:
    execution_name: str
    started: bool  # False: an execution of that name existed already (a harmless duplicate)


# --- S3 -----------------------------------------------------------------------------------------


class JsonDocuments(Protocol):
    def read_json(self, uri: str) -> Any:
        """The parsed JSON at ``s3://...`` ``uri``; ``ObjectNotFound`` if there is no such object."""
        ...


# --- the pipeline table (DynamoDB) ---------------------------------------------------------------


class UploadLedger(Protocol):
    def record_object(self, pk: str, sk: str, attributes: dict[str, str], expires_at: int) -> ObjectRecord:
        """Write the upload once; a duplicate event changes nothing and reports what is known."""
        ...

    def mark_handled(self, uploads: Sequence[HandledUpload]) -> list[HandledUpload]:
        """Write each upload's run and note; return those that could not be written."""
        ...


class DriftCooldown(Protocol):
    def claim_cooldown(self, holder: str, now_epoch: int, expires_at: int) -> bool:
        """Atomically take the drift cooldown; False if another claim still holds it."""
        ...

    def release_cooldown(self, holder: str) -> None: ...


# --- the training state machine (Step Functions) -------------------------------------------------


class RunControl(Protocol):
    """The one-run lease, the pending uploads and the pending retraining (``domain.run_control``)."""

    def lease(self) -> Lease | None: ...

    def take_lease(self, holder: str, trigger: str, now: datetime, expires_at: int) -> bool:
        """Take the lease if nobody holds it, it expired, or ``holder`` has it already."""
        ...

    def release_lease(self, holder: str) -> bool:
        """Give the lease back, only if ``holder`` still has it."""
        ...

    def add_pending_uploads(self, count: int, now: datetime) -> None: ...

    def pending_uploads(self) -> PendingUploads: ...

    def claim_pending_uploads(self, seen: PendingUploads, until: datetime) -> bool:
        """Claim what ``seen`` counted; False if an upload was counted since it was read."""
        ...

    def request_retraining(self, trigger: str, reason: str, now: datetime) -> None: ...

    def pending_retraining(self) -> PendingRetraining | None: ...

    def clear_retraining(self) -> None: ...


class TrainingRuns(Protocol):
    @property
    def state_machine_arn(self) -> str: ...

    def status(self, name: str) -> str | None:
        """The status of execution ``name`` (RUNNING, SUCCEEDED...), None if there is none."""
        ...

    def start(self, name: str, execution_input: PipelineExecutionInput) -> StartResult:
        """Start ``name``; an execution of that name existing already is ``started=False``."""
        ...

    def stop(self, name: str, error: str, cause: str) -> None:
        """Stop execution ``name`` (StopExecution) with ``error`` and ``cause``."""
        ...


class ExecutionHistories(Protocol):
    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """GetExecutionHistory's events, oldest first, all pages."""
        ...


# --- notifications (SNS) -------------------------------------------------------------------------


class Notifications(Protocol):
    def publish(self, subject: str, message: str) -> None: ...


# --- SageMaker -----------------------------------------------------------------------------------


class ChampionLookup(Protocol):
    def latest_approved_package(self, group_name: str) -> dict[str, Any] | None:
        """DescribeModelPackage of the newest Approved package of the group, or None."""
        ...

    def describe_endpoint(self, endpoint_name: str) -> dict[str, Any] | None: ...


class Endpoints(Protocol):
    def describe_endpoint(self, endpoint_name: str) -> dict[str, Any] | None: ...

    def endpoint_config_exists(self, config_name: str) -> bool: ...

    def create_endpoint_config(self, request: dict[str, Any]) -> None: ...

    def create_endpoint(self, endpoint_name: str, config_name: str, tags: list[dict[str, str]]) -> None: ...

    def describe_endpoint_config(self, config_name: str) -> dict[str, Any] | None:
        """DescribeEndpointConfig, or None if there is no such config."""
        ...

    def update_endpoint(
        self, endpoint_name: str, config_name: str, deployment_config: dict[str, Any]
    ) -> None: ...


class MonitoringSchedules(Protocol):
    def monitoring_schedule_exists(self, schedule_name: str) -> bool: ...

    def create_monitoring_schedule(
        self, schedule_name: str, config: dict[str, Any], tags: list[dict[str, str]]
    ) -> None: ...

    def update_monitoring_schedule(self, schedule_name: str, config: dict[str, Any]) -> None: ...


class ProcessingJobs(Protocol):
    def describe_processing_job(self, job_name: str) -> dict[str, Any]: ...


class TrainingJobs(Protocol):
    def failed_training_jobs(self, tuning_job_name: str) -> list[dict[str, Any]]:
        """The tuning job's Failed training jobs (ListTrainingJobsForHyperParameterTuningJob
        summaries), all pages."""
        ...

    def describe_training_job(self, job_name: str) -> dict[str, Any]: ...


# --- Application Auto Scaling ---------------------------------------------------------------------


class ScalableTargets(Protocol):
    """The endpoint variant as an Application Auto Scaling scalable target, and its policy."""

    def scalable_target(self, resource_id: str) -> dict[str, Any] | None:
        """DescribeScalableTargets' entry for the SageMaker variant ``resource_id``, or None."""
        ...

    def register_scalable_target(self, request: dict[str, Any]) -> None:
        """RegisterScalableTarget: registers the target, or updates the range of a registered one."""
        ...

    def put_scaling_policy(self, request: dict[str, Any]) -> None:
        """PutScalingPolicy: creates the policy, or replaces the one of the same name."""
        ...

    def deregister_scalable_target(self, resource_id: str) -> bool:
        """DeregisterScalableTarget (its policies go with it); False if none was registered."""
        ...
