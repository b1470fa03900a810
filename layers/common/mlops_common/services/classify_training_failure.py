"""Did the spot tuning or training job that just failed fail for want of capacity?

The state machine asks after a Tune or Train task failed on spot capacity, and moves to on-demand
capacity only on a yes (``domain.training_failures`` says why the answer comes from the training
jobs' own FailureReason, not from the tuning job's).
"""

from __future__ import annotations

from mlops_common.domain.training_failures import (
    FailedJob,
    Verdict,
    failed_job,
    is_quota_error,
    judge,
    no_job_verdict,
    quota_verdict,
)
from mlops_common.models import ClassifyTrainingFailureInput, TrainingFailureClassification
from mlops_common.observability import logger
from mlops_common.ports import TrainingJobs


def classify_training_failure(
    request: ClassifyTrainingFailureInput, *, sagemaker: TrainingJobs
) -> TrainingFailureClassification:
    """Whether on-demand capacity may succeed where the caught failure's spot job did not."""
    failure = request.failure
    job: FailedJob | None = None
    verdict: Verdict
    if is_quota_error(failure.error):
        # Refused at creation: there is no job to ask about.
        verdict = quota_verdict(failure.cause)
    elif (job := failed_job(failure.cause)) is None:
        verdict = no_job_verdict(failure.error)
    elif job.kind == "tuning":
        reasons = [
            summary.get("FailureReason")
            # A summary without its reason: the training job's own description has it.
            or sagemaker.describe_training_job(summary["TrainingJobName"]).get("FailureReason")
            for summary in sagemaker.failed_training_jobs(job.name)
        ]
        verdict = judge(job, reasons)
    else:
        described = sagemaker.describe_training_job(job.name)
        failed = described.get("TrainingJobStatus") == "Failed"
        verdict = judge(job, [described.get("FailureReason")] if failed else [])
    logger.info(
        "training failure classified",
        capacity=verdict.capacity,
        reason=verdict.reason,
        error=failure.error,
        job_name=job.name if job else None,
    )
    return TrainingFailureClassification(
        capacity=verdict.capacity,
        reason=verdict.reason,
        job_kind=job.kind if job else None,
        job_name=job.name if job else None,
        failed_training_jobs=verdict.failed_training_jobs,
        capacity_failures=verdict.capacity_failures,
    )
