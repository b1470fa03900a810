"""What every local job executor receives and returns.

The embedded AWS layer (``mlops_local.aws``) sees a job being created (Glue ``StartJobRun``,
SageMaker ``CreateTrainingJob`` / ``CreateHyperParameterTuningJob`` / ``CreateProcessingJob`` /
``CreateTransformJob``), runs the matching executor in a worker thread with the request exactly as
the API received it, and records the returned ``JobResult`` where the matching Describe call reads
it, so the state machine's ``.sync`` integration sees what it would see on AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

JobStatus = Literal["Completed", "Failed", "Stopped"]


@dataclass
class JobResult:
    """The end state of one job, in the words of the Describe API."""

    status: JobStatus
    failure_reason: str | None = None
    # Fields merged into the Describe response, named as the API names them
    # (e.g. ``ModelArtifacts``, ``FinalMetricDataList``, ``BestTrainingJob``, ``SecondaryStatus``).
    describe_fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExecutionContext:
    """Everything an executor may use besides the request itself."""

    s3: Any  # a boto3 S3 client bound to the embedded AWS
    client: Callable[[str], Any]  # any other boto3 client bound to the embedded AWS, by service name
    workdir: Path  # a fresh folder for this job
    repo_root: Path  # where glue/, training/ and monitoring/ live
    faults: Any  # mlops_local.executors.faults.FaultPlan: what to break in this job, if anything
    progress: Callable[[str], None] = print  # one-line progress messages for the CLI
    # Registers a child training job (tuning trials) so Describe/List calls see it.
    record_training_job: Callable[[dict[str, Any], JobResult], None] | None = None
