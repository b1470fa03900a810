"""SageMaker hyperparameter tuning jobs, run locally with Optuna.

Trials are sampled from the job's own ``ParameterRanges`` by Optuna's TPE sampler (seeded with the
config's ``RandomSeed``, else a hash of the job name), where AWS uses its own Bayesian optimiser: the
search differs, the contract does not. Each trial is a real training job run by
``training.train`` and registered through ``ctx.record_training_job`` under a SageMaker-style
name ``<tuning job>-<NNN>-<8 hex>``, in a folder of its own under the tuning job's with its own
``job.json`` and ``job.log`` (each trial has its own log stream on AWS).
``TrainingJobEarlyStoppingType: Auto`` becomes Optuna's median pruner on the per-epoch objective
metric (SageMaker's early stopping is also a median rule).

Parallelism: at most ``MaxParallelTrainingJobs`` trials run at once, and never more than the
machine's cores (each trial is pinned to its own share of cores, the way each SageMaker trial has
its own instance); on a 2-core machine that is 2 trials side by side, one core each.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import optuna

from mlops_local.engine.jobs import LOG_FILE, JobLog, write_job_file
from mlops_local.executors.base import ExecutionContext, JobResult
from mlops_local.executors.faults import FaultPlan
from mlops_local.executors.training import TrainingRun, train

# Fields of a TrainingJobDefinition that a CreateTrainingJob request does not have.
_TUNING_ONLY_FIELDS = frozenset(
    {"StaticHyperParameters", "HyperParameterRanges", "TuningObjective", "DefinitionName"}
)
# Below this many finished trials the median pruner has nothing to compare with.
_PRUNER_STARTUP_TRIALS = 2


@dataclass(frozen=True)
class ParameterSpace:
    """One tunable hyperparameter, as ``ParameterRanges`` declares it."""

    name: str
    kind: str  # Integer | Continuous | Categorical
    low: float = 0.0
    high: float = 0.0
    scaling: str = "Auto"
    values: tuple[str, ...] = ()

    def suggest(self, trial: optuna.Trial) -> str:
        """Sample a value for ``trial`` and return it as SageMaker passes it: a string."""
        if self.kind == "Categorical":
            return str(trial.suggest_categorical(self.name, list(self.values)))
        if self.scaling == "ReverseLogarithmic":
            # Dense sampling near the upper bound (e.g. momentum near 1): log-sample the distance to it.
            distance = trial.suggest_float(self.name, 1.0 - self.high, 1.0 - self.low, log=True)
            return _format(self.kind, 1.0 - distance)
        log = self.scaling == "Logarithmic"
        if self.kind == "Integer":
            return str(trial.suggest_int(self.name, int(self.low), int(self.high), log=log))
        return _format(self.kind, trial.suggest_float(self.name, self.low, self.high, log=log))

    def optuna_value(self, tuned: str) -> Any:
        """Convert a tuned value (string) back to what ``suggest`` stores, or None if out of range."""
        if self.kind == "Categorical":
            return tuned if tuned in self.values else None
        number = float(tuned)
        if not self.low <= number <= self.high:
            return None
        if self.scaling == "ReverseLogarithmic":
            return 1.0 - number
        return int(number) if self.kind == "Integer" else number


def _format(kind: str, value: float) -> str:
    return str(round(value)) if kind == "Integer" else repr(float(value))


def parameter_spaces(ranges: Mapping[str, Any]) -> list[ParameterSpace]:
    """Read ``HyperParameterTuningJobConfig.ParameterRanges``."""
    spaces: list[ParameterSpace] = []
    for kind in ("Integer", "Continuous"):
        for item in ranges.get(f"{kind}ParameterRanges", []):
            spaces.append(
                ParameterSpace(
                    name=item["Name"],
                    kind=kind,
                    low=float(item["MinValue"]),
                    high=float(item["MaxValue"]),
                    scaling=item.get("ScalingType", "Auto"),
                )
            )
    for item in ranges.get("CategoricalParameterRanges", []):
        spaces.append(ParameterSpace(name=item["Name"], kind="Categorical", values=tuple(item["Values"])))
    return spaces


def no_training_job_succeeded(attempts: int) -> str:
    """SageMaker's FailureReason for a tuning job none of whose training jobs succeeded.

    It says only that, and sends the reader to the training jobs' own failures
    (ListTrainingJobsForHyperParameterTuningJob), which is where their FailureReason is: nothing of
    theirs is added here. Wording as SageMaker reports it (2025,
    https://github.com/jedick/sagemaker-churn-prediction, README; earlier "Please take a look at the
    training job failures to get more details.", https://github.com/aws/amazon-sagemaker-examples/issues/2437).
    """
    return (
        f"No training job succeeded after {attempts} attempts. For additional details, please take a look "
        "at the training job failures by listing training jobs for the hyperparameter tuning job."
    )


def trial_job_name(tuning_job_name: str, index: int) -> str:
    """SageMaker's name for the ``index``-th (1-based) training job of a tuning job."""
    digest = hashlib.sha256(f"{tuning_job_name}/{index}".encode()).hexdigest()[:8]
    return f"{tuning_job_name}-{index:03d}-{digest}"


@dataclass
class TrialRecord:
    """One finished trial, for the Describe answer and the run report."""

    name: str
    tuned: dict[str, str]
    run: TrainingRun
    objective: float | None

    @property
    def status(self) -> str:
        return self.run.result.status


def run_tuning_job(request: Mapping[str, Any], ctx: ExecutionContext) -> JobResult:
    """Run a ``CreateHyperParameterTuningJob`` request; return what DescribeHyperParameterTuningJob shows."""
    return _TuningJob(request, ctx).run()


class _TuningJob:
    def __init__(self, request: Mapping[str, Any], ctx: ExecutionContext) -> None:
        self.request = request
        self.ctx = ctx
        self.name: str = request["HyperParameterTuningJobName"]
        config = request["HyperParameterTuningJobConfig"]
        self.objective = config["HyperParameterTuningJobObjective"]
        limits = config["ResourceLimits"]
        self.max_jobs = int(limits["MaxNumberOfTrainingJobs"])
        requested_parallel = int(limits.get("MaxParallelTrainingJobs", 1))
        self.parallel = max(1, min(requested_parallel, self.max_jobs, _local_cores()))
        self.early_stopping = config.get("TrainingJobEarlyStoppingType", "Off") == "Auto"
        self.spaces = parameter_spaces(config.get("ParameterRanges", {}))
        self.definition = request["TrainingJobDefinition"]
        seed = config.get("RandomSeed", int(hashlib.sha256(self.name.encode()).hexdigest()[:8], 16))
        # TPE starts from random trials; with a handful of trials a third of them is enough.
        startup = max(1, min(10, self.max_jobs // 3))
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # the trials' own progress lines say enough
        self.study = optuna.create_study(
            direction="maximize" if self.objective["Type"] == "Maximize" else "minimize",
            sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=_PRUNER_STARTUP_TRIALS, n_warmup_steps=1),
        )
        self.lock = threading.Lock()
        self.next_index = 1
        self.trials: list[TrialRecord] = []
        faults: FaultPlan = ctx.faults or FaultPlan()
        spot = bool(self.definition.get("EnableManagedSpotTraining", False))
        # Spot capacity is a regional condition: when it is gone, it is gone for every trial of the job.
        self.capacity_available = not (spot and faults.take_spot_capacity_error(self.name))

    def run(self) -> JobResult:
        self._enqueue_warm_start()
        self.ctx.progress(
            f"{self.name}: tuning {len(self.spaces)} hyperparameters, {self.max_jobs} trials, "
            f"{self.parallel} at a time"
        )
        cores = sorted(_available_cores())
        share = max(1, len(cores) // self.parallel)
        shares = [set(cores[i * share : (i + 1) * share]) for i in range(self.parallel)]
        workers = [threading.Thread(target=self._worker, args=(cpus,), daemon=True) for cpus in shares]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return self._result()

    def _claim_index(self) -> int | None:
        with self.lock:
            # A stopped tuning job starts no more trials; its running ones get the same stop request.
            if self.next_index > self.max_jobs or self.ctx.stop_requested.is_set():
                return None
            self.next_index += 1
            return self.next_index - 1

    def _worker(self, cpus: set[int]) -> None:
        while (index := self._claim_index()) is not None:
            self._run_trial(index, cpus)

    def _run_trial(self, index: int, cpus: set[int]) -> None:
        with self.lock:
            trial = self.study.ask()
            tuned = {space.name: space.suggest(trial) for space in self.spaces}
        name = trial_job_name(self.name, index)
        request = self._training_request(name, tuned)
        workdir = self.ctx.workdir / name
        workdir.mkdir(parents=True, exist_ok=True)
        # Each trial is a training job with a log of its own, as each has its own log stream on AWS.
        log = JobLog(workdir / LOG_FILE)
        write_job_file(
            workdir,
            kind="training",
            name=name,
            parent=self.name,
            status="InProgress",
            started_at=datetime.now(UTC).isoformat(),
        )

        def progress(message: str) -> None:
            log.note(message)
            self.ctx.progress(message)

        trial_ctx = dataclasses.replace(
            self.ctx,
            workdir=workdir,
            log=log,
            job_id=name,
            progress=progress,
            echo=self.ctx.echo or self.ctx.progress,
        )
        self.ctx.progress(f"{self.name}: trial {name} with {tuned}")
        try:
            run = train(
                request,
                trial_ctx,
                epoch_hook=self._pruning_hook(trial) if self.early_stopping else None,
                capacity_available=self.capacity_available,
                cpus=cpus if self.parallel > 1 else None,
            )
        finally:
            log.close()
        write_job_file(
            workdir,
            status=run.result.status,
            ended_at=datetime.now(UTC).isoformat(),
            failure_reason=run.result.failure_reason,
        )
        objective = run.final_metrics.get(self.objective["MetricName"])
        with self.lock:
            if objective is None or math.isnan(objective) or run.result.status == "Failed":
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            elif run.stopped_early:
                self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                self.study.tell(trial, objective)
            self.trials.append(TrialRecord(name, tuned, run, objective))
        if self.ctx.record_training_job is not None:
            self.ctx.record_training_job(request, run.result)

    def _pruning_hook(self, trial: optuna.Trial):
        metric = self.objective["MetricName"]

        def should_stop(epoch: int, metrics: dict[str, float]) -> bool:
            if metric not in metrics:
                return False
            with self.lock:
                trial.report(metrics[metric], step=epoch)
                return trial.should_prune()

        return should_stop

    def _training_request(self, name: str, tuned: Mapping[str, str]) -> dict[str, Any]:
        """The CreateTrainingJob request SageMaker makes for one trial."""
        definition = self.definition
        request: dict[str, Any] = {
            key: value for key, value in definition.items() if key not in _TUNING_ONLY_FIELDS
        }
        request["TrainingJobName"] = name
        request["HyperParameters"] = {**definition.get("StaticHyperParameters", {}), **tuned}
        checkpoint = definition.get("CheckpointConfig")
        if checkpoint:
            # One checkpoint folder per trial: trials must never resume from each other's state.
            request["CheckpointConfig"] = {
                **checkpoint,
                "S3Uri": checkpoint["S3Uri"].rstrip("/") + "/" + name,
            }
        return request

    def _enqueue_warm_start(self) -> None:
        """Queue the best hyperparameters of each warm-start parent as the first trials."""
        parents = self.request.get("WarmStartConfig", {}).get("ParentHyperParameterTuningJobs", [])
        for parent in parents:
            parent_name = parent["HyperParameterTuningJobName"]
            try:
                described = self.ctx.client("sagemaker").describe_hyper_parameter_tuning_job(
                    HyperParameterTuningJobName=parent_name
                )
            except Exception as error:
                self.ctx.progress(f"{self.name}: warm start parent {parent_name} unavailable: {error}")
                continue
            tuned = described.get("BestTrainingJob", {}).get("TunedHyperParameters", {})
            params = {
                space.name: value
                for space in self.spaces
                if space.name in tuned and (value := space.optuna_value(str(tuned[space.name]))) is not None
            }
            if params:
                self.study.enqueue_trial(params, skip_if_exists=True)
                self.ctx.progress(f"{self.name}: warm start from {parent_name}: {params}")

    def _result(self) -> JobResult:
        statuses = Counter(record.status for record in self.trials)
        failures = [record for record in self.trials if record.status == "Failed"]
        capacity_failures = sum(
            1 for record in failures if (record.run.result.failure_reason or "").startswith("CapacityError")
        )
        with_objective = [
            record for record in self.trials if record.objective is not None and record.status != "Failed"
        ]
        describe: dict[str, Any] = {
            "TrainingJobStatusCounters": {
                "Completed": statuses["Completed"],
                "InProgress": 0,
                "RetryableError": capacity_failures,
                "NonRetryableError": len(failures) - capacity_failures,
                "Stopped": statuses["Stopped"],
            },
            "ObjectiveStatusCounters": {
                "Succeeded": len(with_objective),
                "Pending": 0,
                "Failed": len(self.trials) - len(with_objective),
            },
        }
        completed = [record for record in with_objective if record.status == "Completed"] or with_objective
        if not completed:
            reason = no_training_job_succeeded(len(self.trials))
            self.ctx.progress(f"{self.name}: failed: {reason}")
            return JobResult(status="Failed", failure_reason=reason, describe_fields=describe)
        maximize = self.objective["Type"] == "Maximize"
        best = (max if maximize else min)(completed, key=lambda record: record.objective or 0.0)
        describe["BestTrainingJob"] = self._summary(best)
        self.ctx.progress(
            f"{self.name}: best trial {best.name}: {self.objective['MetricName']}={best.objective}"
        )
        return JobResult(status="Completed", describe_fields=describe)

    def _summary(self, record: TrialRecord) -> dict[str, Any]:
        """A HyperParameterTrainingJobSummary, as DescribeHyperParameterTuningJob names its fields."""
        fields = record.run.result.describe_fields
        summary: dict[str, Any] = {
            "TrainingJobName": record.name,
            "TrainingJobStatus": record.status,
            "TunedHyperParameters": dict(record.tuned),
            "TrainingStartTime": fields.get("TrainingStartTime"),
            "TrainingEndTime": fields.get("TrainingEndTime"),
            "CreationTime": fields.get("TrainingStartTime"),
            "ObjectiveStatus": "Succeeded" if record.objective is not None else "Failed",
        }
        if record.objective is not None:
            summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
                "Type": self.objective["Type"],
                "MetricName": self.objective["MetricName"],
                "Value": record.objective,
            }
        if record.run.result.failure_reason:
            summary["FailureReason"] = record.run.result.failure_reason
        return summary


def _available_cores() -> set[int]:
    try:
        return os.sched_getaffinity(0)
    except AttributeError:  # pragma: no cover - not Linux
        return set(range(os.cpu_count() or 1))


def _local_cores() -> int:
    return len(_available_cores())
