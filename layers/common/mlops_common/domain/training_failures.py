"""Did a failed spot training or tuning job fail for want of capacity? (The on-demand fallback asks.)

On-demand capacity is worth a second attempt only where the job never got to run on spot:

- SageMaker could not provision the instances. A training job that failed so reports a
  ``FailureReason`` that begins with ``CapacityError`` (AWS Batch reads SageMaker's capacity errors
  the same way: https://docs.aws.amazon.com/batch/latest/userguide/sm_job_stuck_in_runnable_capacity.html),
  in SageMaker's words "CapacityError: Unable to provision requested ML compute capacity. Please
  retry using a different ML instance type." (as reported in
  https://github.com/DIAGNijmegen/rse-grand-challenge/issues/2631).
- SageMaker refused to create the job over a quota (``ResourceLimitExceeded``): spot and on-demand
  instances have quotas of their own ("<type> for spot training job usage").

A training job that ran and failed (``AlgorithmError``, ``ClientError``, a script killed by a spot
reclaim that did not resume) would fail on demand as well.

A tuning job's own ``FailureReason`` does not say why its training jobs failed: SageMaker reports
"No training job succeeded after N attempts." and sends the reader to the training jobs' failures
(https://github.com/aws/amazon-sagemaker-examples/issues/2437, and in its newer wording "For
additional details, please take a look at the training job failures by listing training jobs for
the hyperparameter tuning job.", https://github.com/jedick/sagemaker-churn-prediction, README). So a
tuning job is judged by the ``FailureReason`` of each of its failed training jobs: capacity when at
least one could not get instances and none failed for a reason of its own. A SageMaker internal
error says nothing about the job either way.

Which job failed is read from the Catch's cause, which for a ``.sync`` task whose job ended Failed
or Stopped is taken to be the job's Describe response (it names the job). Its ``FailureReason`` is
read from SageMaker itself, not from the cause.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from mlops_common import bounded_json

# The error Step Functions names a refused CreateTrainingJob / CreateHyperParameterTuningJob call
# with when SageMaker answers ResourceLimitExceeded (its modelled exception).
QUOTA_ERROR = "SageMaker.ResourceLimitExceededException"
CAPACITY_ERROR_PREFIX = "CapacityError"
# SageMaker's words for it, also seen without the prefix (endpoints: "Unable to provision requested
# ML compute capacity due to InsufficientInstanceCapacity error").
CAPACITY_PHRASES = ("Unable to provision requested ML compute capacity", "InsufficientInstanceCapacity")
INTERNAL_ERROR_PREFIX = "InternalServerError"
# A Step Functions cause is at most 32,768 characters (4 bytes each at most in UTF-8).
MAX_CAUSE_BYTES = 4 * 32_768
# How much of one training job's FailureReason a verdict quotes.
QUOTED_REASON_CHARACTERS = 300

JobKind = Literal["tuning", "training"]
FailureKind = Literal["capacity", "internal", "own"]


@dataclass(frozen=True)
class FailedJob:
    """The SageMaker job a failed task ran."""

    kind: JobKind
    name: str


@dataclass(frozen=True)
class Verdict:
    """Whether on-demand capacity may succeed where spot failed, and why."""

    capacity: bool
    reason: str
    failed_training_jobs: int = 0
    capacity_failures: int = 0


def is_quota_error(error: str) -> bool:
    """A create call SageMaker refused over a resource limit (a quota)."""
    return error == QUOTA_ERROR


def failure_kind(failure_reason: str | None) -> FailureKind:
    """What one failed training job's ``FailureReason`` says about capacity.

    ``capacity``: SageMaker could not get instances. ``internal``: SageMaker's own error, which says
    nothing about the job. ``own``: the job ran and failed, or gave no reason.
    """
    reason = (failure_reason or "").strip()
    if reason.startswith(CAPACITY_ERROR_PREFIX) or any(phrase in reason for phrase in CAPACITY_PHRASES):
        return "capacity"
    if reason.startswith(INTERNAL_ERROR_PREFIX):
        return "internal"
    return "own"


def failed_job(cause: str) -> FailedJob | None:
    """The job a failed ``.sync`` task's cause describes, or None if it describes none."""
    try:
        described = bounded_json.loads(cause, max_bytes=MAX_CAUSE_BYTES)
    except ValueError:
        return None
    if not isinstance(described, dict):
        return None
    # A tuning job's description names training jobs too (BestTrainingJob): its own name first.
    tuning_job = described.get("HyperParameterTuningJobName")
    if isinstance(tuning_job, str) and tuning_job:
        return FailedJob("tuning", tuning_job)
    training_job = described.get("TrainingJobName")
    if isinstance(training_job, str) and training_job:
        return FailedJob("training", training_job)
    return None


def judge(job: FailedJob, failure_reasons: Sequence[str | None]) -> Verdict:
    """The verdict on ``job`` from the ``FailureReason`` of each of its failed training jobs."""
    kinds = [failure_kind(reason) for reason in failure_reasons]
    capacity = kinds.count("capacity")
    own = [reason for reason, kind in zip(failure_reasons, kinds, strict=True) if kind == "own"]
    counts = {"failed_training_jobs": len(kinds), "capacity_failures": capacity}
    subject = f"{job.kind} job {job.name}"
    if not kinds:
        return Verdict(False, f"{subject}: no training job of it failed", **counts)
    if own:
        return Verdict(
            False,
            f"{subject}: {len(own)} of {len(kinds)} failed training jobs failed for a reason of their "
            f"own, which on-demand capacity does not fix: {_quoted(own[0])}",
            **counts,
        )
    if capacity == 0:
        return Verdict(False, f"{subject}: its training jobs failed with SageMaker internal errors", **counts)
    return Verdict(
        True, f"{subject}: {capacity} of {len(kinds)} failed training jobs could not get capacity", **counts
    )


def quota_verdict(cause: str) -> Verdict:
    """The verdict on a create call SageMaker refused over a quota."""
    return Verdict(True, f"SageMaker refused the job over a quota: {_quoted(cause)}")


def no_job_verdict(error: str) -> Verdict:
    """The verdict on a failure whose cause names no job: nothing says capacity."""
    return Verdict(False, f"{error}: the cause names no training or tuning job")


def _quoted(reason: str | None) -> str:
    """One line of ``reason``, clipped: enough to recognise it in a notification or a log."""
    text = " ".join((reason or "no reason given").split())
    if len(text) <= QUOTED_REASON_CHARACTERS:
        return text
    return text[: QUOTED_REASON_CHARACTERS - 1] + "…"
