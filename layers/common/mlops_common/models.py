"""Pydantic contracts for every task input/output and the documents the functions read.

The events AWS services send (SQS batches, EventBridge events) are in ``aws_events``. AWS adds
fields to what it writes over time, so models of AWS shapes ignore unknown fields; task inputs that
the state machine builds are strict (``extra="forbid"``) so a typo in the ASL fails loudly.
Outputs are dumped with ``TaskOutput.to_json()``: the ASL's JSON paths stay stable, and the value
is strict JSON (a NaN or an infinity becomes null: Python's ``json``, which Lambda uses to send a
handler's result, would write ``NaN``/``Infinity``, which no JSON parser accepts).
"""

from __future__ import annotations

import json
import math
import reprlib
from datetime import datetime
from typing import Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

# --- shared bases -----------------------------------------------------------------------------
# defer_build: a model's validator is built on its first use, not at import. Every function imports
# this module but uses a few of its models, so a cold start builds only those.


class AwsEvent(BaseModel):
    """Base for shapes AWS sends: tolerate new fields, accept field names or their aliases."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True, defer_build=True)


class TaskInput(BaseModel):
    """Base for inputs the state machine builds: unknown fields are a bug in the ASL."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class TaskOutput(BaseModel):
    # pydantic's JSON serialiser writes a non-finite float as null (never NaN or Infinity).
    model_config = ConfigDict(frozen=True, defer_build=True, ser_json_inf_nan="null")

    def to_json(self, *, by_alias: bool = False) -> dict[str, Any]:
        """The output as strict JSON values (what a handler returns); non-finite floats are null."""
        value: dict[str, Any] = json.loads(self.model_dump_json(by_alias=by_alias))
        return value


# --- start_pipeline's answer to SQS -------------------------------------------------------------


class BatchItemFailure(TaskOutput):
    item_identifier: str = Field(serialization_alias="itemIdentifier")


class BatchResponse(TaskOutput):
    batch_item_failures: list[BatchItemFailure] = Field(
        default_factory=list, serialization_alias="batchItemFailures"
    )

    def to_lambda(self) -> dict[str, Any]:
        """The shape Lambda's SQS event source mapping reads (``ReportBatchItemFailures``)."""
        return self.to_json(by_alias=True)


# --- training pipeline execution input -------------------------------------------------------


Trigger = Literal["upload", "schedule", "drift", "manual"]


class PipelineExecutionInput(TaskOutput):
    trigger: Trigger
    reason: str
    requested_at: datetime
    objects: int | None = None
    overrides: dict[str, Any] | None = None


# --- handle_drift ---------------------------------------------------------------------------------


class Violation(TaskOutput):
    """One entry of Model Monitor's ``constraint_violations.json`` plus the parsed drift distance."""

    feature_name: str
    constraint_check_type: str
    description: str
    distance: float | None = None
    threshold: float | None = None

    @field_validator("distance", "threshold")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        # "distance: 1e999" parses to infinity: not a measured distance, and not JSON either.
        return value if value is None or math.isfinite(value) else None


# not_started: Step Functions started nothing (an execution of that name existed already).
DriftAction = Literal["started", "cooldown", "queued", "ignored", "not_started"]


# --- the one-run lease (begin_run, run_ended) ---------------------------------------------------


class BeginRunRequest(TaskInput):
    """What the state machine's first state sends: who is beginning, and why."""

    execution_name: str = Field(min_length=1, max_length=80)
    trigger: Trigger
    reason: str


class BeginRunOutcome(TaskOutput):
    """proceed (with the snapshot it trains on), wait (ask again after ``wait_seconds``) or skip."""

    action: Literal["proceed", "wait", "skip"]
    reason: str
    wait_seconds: int = 0
    uploads: int = 0  # pending uploads this run claimed (proceed) or waits for (wait)
    since: str = ""  # the previous run's snapshot bound, "" for the first run: for --uploads_since
    until: str = ""  # this run's snapshot bound (ISO-8601), set on proceed: for --uploads_until


class RunEndedOutcome(TaskOutput):
    action: Literal["started", "released", "running", "ignored"]
    reason: str
    execution_name: str | None = None


class FailureNotificationOutcome(TaskOutput):
    action: Literal["notified", "ignored"]
    reason: str = ""
    execution_name: str | None = None
    failed_state: str | None = None


class DriftOutcome(TaskOutput):
    action: DriftAction
    execution_name: str | None = None
    violations: list[Violation] = Field(default_factory=list)  # the largest few, not the whole report
    violation_count: int = 0  # how many the report holds
    report_uri: str | None = None  # the full report
    reason: str = ""


# --- check_dataset --------------------------------------------------------------------------


class CheckDatasetInput(TaskInput):
    dataset_version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class Accounting(AwsEvent):
    uploaded: int
    kept: int
    duplicates: int
    quarantined: int
    balanced: bool


class SplitCounts(AwsEvent):
    train: int = 0
    validation: int = 0
    test: int = 0

    @property
    def total(self) -> int:
        return self.train + self.validation + self.test


class DatasetStats(AwsEvent):
    """The parts of ``stats.json`` (written by the Glue job) that decide whether it is usable."""

    dataset_version: str
    labels: list[str]
    normal_class: str
    accounting: Accounting
    classes: dict[str, SplitCounts]


class CheckDatasetOutput(TaskOutput):
    dataset_version: str
    dataset_uri: str
    train_uri: str
    validation_uri: str
    test_uri: str
    labels: list[str]
    normal_class: str
    accounting: Accounting
    classes: dict[str, SplitCounts]


# --- plan_run ---------------------------------------------------------------------------------


class ImagePair(TaskInput):
    """One container image built twice: for CPU instances and for NVIDIA GPU instances."""

    cpu: str = Field(min_length=1)
    gpu: str = Field(min_length=1)


class ContainerImages(TaskInput):
    training: ImagePair
    inference: ImagePair


class VpcIds(TaskInput):
    """The stack's VPC settings, comma-separated; both empty when the stack has no VPC."""

    subnet_ids: str = ""
    security_group_ids: str = ""


class PlanRunInput(TaskInput):
    """The deploy-time defaults, the execution input (its ``overrides``) and the stack's facts."""

    execution_name: str = Field(min_length=1)
    defaults: dict[str, Any]
    input: dict[str, Any] = Field(default_factory=dict)
    vpc: VpcIds = VpcIds()
    images: ContainerImages
    code_uri: str = Field(pattern=r"^s3://")


class PlanRunOutput(TaskOutput):
    # The run's settings (RunConfig's fields) plus ``images`` and ``training_channels``.
    config: dict[str, Any]
    # ``training`` and ``processing``: the jobs' isolation, encryption and VpcConfig.
    network: dict[str, Any]


# --- resolve_champion ---------------------------------------------------------------------------


class ResolveChampionInput(TaskInput):
    pass


class ModelPackageMetadata(AwsEvent):
    """A package's ``CustomerMetadataProperties``: the training pipeline's RegisterModel state writes
    these keys, resolve_champion reads them. A unit test holds the ASL's keys to these field names,
    so neither side can rename one alone. Every value is a string: the registry stores a map of
    string to string (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelPackage.html).
    Packages registered by hand may lack any key; unknown keys are ignored.
    """

    execution: str | None = None
    dataset_version: str | None = None
    # The model version: training names the model after its job (TRAINING_JOB_NAME).
    training_job: str | None = None
    # The tuning job that found the model, "none" for plain training: a warm start's parent.
    tuning_job: str | None = None
    gate_passed: str | None = None
    accuracy: str | None = None
    macro_f1: str | None = None
    min_defect_recall: str | None = None


class ChampionOutput(TaskOutput):
    has_champion: bool
    model_package_arn: str | None = None
    model_data_url: str | None = None
    model_version: str | None = None
    previous_tuning_job: str | None = None
    endpoint_exists: bool
    endpoint_config_name: str | None = None


# --- classify_training_failure (the spot fallback) -------------------------------------------


class CaughtError(AwsEvent):
    """What a Catch writes at its ResultPath: the error's name and its cause
    (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html)."""

    error: str = Field(alias="Error")
    cause: str = Field(default="", alias="Cause")


class ClassifyTrainingFailureInput(TaskInput):
    """The error a failed Tune or Train task was caught with (``$.capacity_error``)."""

    failure: CaughtError


class TrainingFailureClassification(TaskOutput):
    # Whether on-demand capacity may succeed where spot did not (domain.training_failures).
    capacity: bool
    reason: str
    job_kind: Literal["tuning", "training"] | None = None
    job_name: str | None = None
    failed_training_jobs: int = 0  # the failed training jobs read (a tuning job's trials)
    capacity_failures: int = 0  # of those, the ones SageMaker could not get instances for


# --- evaluate_model (the gate) ------------------------------------------------------------


def _proportion_problem(value: Any) -> str | None:
    """Why ``value`` is not a proportion (a finite number in [0, 1]); None when it is one or absent."""
    if value is None:
        return None
    # Checked before pydantic coerces: it would read "Infinity" or "nan" as a float and true as 1.0.
    # reprlib shortens a huge number or string: the reason goes into a notification.
    shown = reprlib.repr(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{shown} is not a number"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{shown} is not finite"
    if not 0 <= value <= 1:
        return f"{shown} is outside [0, 1]"
    return None


class _Proportions(AwsEvent):
    """Metrics that are proportions. A value that is not one ("Infinity", NaN, 1e999, 7.5) is set
    aside: its field reads None, so no comparison can use it (fail closed), and ``unusable`` keeps
    the value and why, for the gate to name it."""

    _PROPORTIONS: ClassVar[tuple[str, ...]] = ()
    _unusable: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _set_aside_unusable(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        if not isinstance(data, dict):
            return handler(data)
        unusable = {
            name: problem
            for name in cls._PROPORTIONS
            if (problem := _proportion_problem(data.get(name))) is not None
        }
        metrics = handler({**data, **dict.fromkeys(unusable)})
        metrics._unusable = unusable
        return metrics

    @property
    def unusable(self) -> dict[str, str]:
        """Each set-aside metric and why, e.g. ``{"recall": "7.5 is outside [0, 1]"}``."""
        return dict(self._unusable)


class ClassMetrics(_Proportions):
    _PROPORTIONS = ("precision", "recall", "f1")

    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    support: int | None = None


class DiagnosticCheck(AwsEvent):
    status: Literal["ok", "issues_found"]
    reason: str = Field(default="", max_length=500)


class TrainingDiagnostics(AwsEvent):
    """The summary of a model's training diagnostics (``training/diagnostics.py``): the run's
    status, one line per check with issues, and every check's status and reason."""

    status: Literal["ok", "issues_found"]
    issues: list[str] = Field(default_factory=list, max_length=20)
    checks: dict[str, DiagnosticCheck] = Field(default_factory=dict, max_length=20)


class ModelMetrics(_Proportions):
    """One model's block of ``evaluation.json``; every metric may be missing (then it fails)."""

    _PROPORTIONS = ("accuracy", "macro_f1", "min_defect_recall")

    model_version: str | None = None
    accuracy: float | None = None
    macro_f1: float | None = None
    min_defect_recall: float | None = None
    per_class: dict[str, ClassMetrics] = Field(default_factory=dict)
    # Informs people (the notifications, the run report), never the gate: diagnostics that are
    # absent (a model trained before them) or not in their format read None instead of failing.
    diagnostics: TrainingDiagnostics | None = None

    @field_validator("diagnostics", mode="wrap")
    @classmethod
    def _diagnostics_or_none(
        cls, value: Any, handler: ValidatorFunctionWrapHandler
    ) -> TrainingDiagnostics | None:
        try:
            result: TrainingDiagnostics | None = handler(value)
        except ValidationError:
            return None
        return result


class Evaluation(AwsEvent):
    """``evaluation.json`` written by ``training/evaluate.py``."""

    labels: list[str]
    normal_class: str
    test_samples: int | None = None
    challenger: ModelMetrics
    champion: ModelMetrics | None = None


class GateInput(TaskInput):
    evaluation_uri: str = Field(pattern=r"^s3://[^/]+/.+")


class GateThresholds(TaskOutput):
    min_accuracy: float
    min_defect_recall: float
    champion_margin: float


class GateDecision(TaskOutput):
    passed: bool
    reasons: list[str]
    challenger: dict[str, Any]
    champion: dict[str, Any] | None = None
    thresholds: GateThresholds


# --- deploy_model / ensure_monitoring -------------------------------------------------------


_SAGEMAKER_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"


class DeployInput(TaskInput):
    model_name: str = Field(pattern=_SAGEMAKER_NAME)
    execution_name: str = Field(min_length=1, max_length=80)
    # How long the state machine polls the endpoint after this task (the run's settings): an update
    # whose bakes outlast it is refused before it starts.
    endpoint_poll_seconds: int | None = Field(default=None, ge=1)
    endpoint_max_polls: int | None = Field(default=None, ge=1)


class DeployOutput(TaskOutput):
    endpoint_name: str
    endpoint_config_name: str
    previous_endpoint_config_name: str | None = None
    action: Literal["create", "update"]
    # The variant's scalable target around this deploy: "none" (no target registered), "kept" (the
    # update changes only the model, which SageMaker allows under autoscaling), "deregistered" (the
    # update changes the instance type: EnsureMonitoring registers the new variant once InService).
    autoscaling: Literal["none", "kept", "deregistered"] = "none"


class MonitoringInput(TaskInput):
    endpoint_name: str = Field(pattern=_SAGEMAKER_NAME)
    baseline_uri: str = Field(pattern=r"^s3://[^/]+/.*")
    model_version: str = Field(min_length=1)


class MonitoringOutput(TaskOutput):
    schedule_name: str
    action: Literal["create", "update"]
    # The variant's autoscaling after this run: "registered" (target and policy in place, range and
    # policy refreshed), "deregistered" (autoscaling turned off, the old target removed), "off".
    autoscaling: Literal["registered", "deregistered", "off"] = "off"
