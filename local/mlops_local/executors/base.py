"""What every local job executor receives and returns.

The embedded AWS layer (``mlops_local.engine``) sees a job being created (Glue ``StartJobRun``,
SageMaker ``CreateTrainingJob`` / ``CreateHyperParameterTuningJob`` / ``CreateProcessingJob`` /
``CreateTransformJob``), runs the matching executor in a worker thread with the request exactly as
the API received it, and records the returned ``JobResult`` where the matching Describe call reads
it, so the state machine's ``.sync`` integration sees what it would see on AWS. The contract is the
engine's (``mlops_local.engine.jobs``): the executors depend on the engine, never the reverse.
"""

from __future__ import annotations

from mlops_local.engine.jobs import ExecutionContext, Executor, JobResult, JobStatus

__all__ = ["ExecutionContext", "Executor", "JobResult", "JobStatus"]
