"""What one pipeline run cost, priced from what its jobs report about themselves.

``cost_model.estimate`` plans a run from assumed durations and a planning spot saving. This prices a
run that happened, from the Describe responses of the jobs it started, with the same price table:

- A training job (each tuning trial is one): ``BillableTimeInSeconds`` x ``ResourceConfig.InstanceCount``
  x the training price of its instance type; that product is what SageMaker bills. On managed spot the
  billable time is already below ``TrainingTimeInSeconds`` by the saving the job achieved,
  ``1 - BillableTimeInSeconds / TrainingTimeInSeconds``
  (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeTrainingJob.html).
- A processing job: ``ProcessingEndTime - ProcessingStartTime`` x instance count x the processing price
  (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeProcessingJob.html).
- A transform job: ``TransformEndTime - TransformStartTime`` x instance count x the transform price;
  SageMaker bills that interval
  (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeTransformJob.html).
- A Glue job run: ``DPUSeconds`` where Glue reports it (Flex and Auto Scaling runs), else
  ``ExecutionTime`` x the run's DPUs (workers x DPUs per worker type, or ``MaxCapacity``)
  (https://docs.aws.amazon.com/glue/latest/webapi/API_JobRun.html), at least one minute, x the price
  per DPU-hour.

A job whose instance type the table does not price is listed in ``unpriced`` and counts 0 USD: the
report says what it could not price rather than failing or guessing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, computed_field

from mlops_planning.cost_model import (
    GLUE_DPU_PER_WORKER,
    GLUE_MINIMUM_BILLED_SECONDS,
    JobSizes,
    Price,
    PriceStatus,
    PriceTable,
    load_price_table,
)

JobKind = Literal["training", "processing", "transform", "glue"]

# The bill's lines, named as cost_model.estimate names them so the two read side by side.
TRAINING_LINE = "Tuning and training"
PROCESSING_LINE = "Evaluation (processing job)"
TRANSFORM_LINE = "Batch transform"
GLUE_LINE = "Glue data preparation"
_SERVICE = {
    "training": "Amazon SageMaker",
    "processing": "Amazon SageMaker",
    "transform": "Amazon SageMaker",
    "glue": "AWS Glue",
}
_TIMESTAMP: TypeAdapter[datetime] = TypeAdapter(datetime)


class RunJobs(BaseModel):
    """The Describe responses of every job one run started, field names as the APIs return them."""

    training_jobs: list[dict[str, Any]] = Field(default_factory=list)  # tuning trials included
    processing_jobs: list[dict[str, Any]] = Field(default_factory=list)
    transform_jobs: list[dict[str, Any]] = Field(default_factory=list)
    glue_job_runs: list[dict[str, Any]] = Field(default_factory=list)  # GetJobRun's JobRun


class JobCharge(BaseModel):
    """What one job cost, and what it would have cost on demand."""

    name: str
    kind: JobKind
    line: str
    resource: str  # the instance type, or the Glue worker type
    count: float  # instances, or DPUs
    billed_seconds: float
    on_demand_seconds: float  # TrainingTimeInSeconds for a spot training job, else the billed seconds
    unit: str
    unit_price_usd: float | None  # None: the price table has no figure for this resource
    usd: float
    on_demand_usd: float
    price_status: PriceStatus | None = None
    spot: bool = False
    note: str = ""


class RunLine(BaseModel):
    """One line of the run's bill: the jobs of one kind on one resource."""

    name: str
    service: str
    resource: str
    jobs: int
    quantity: float  # instance-hours or DPU-hours
    unit: str
    unit_price_usd: float | None
    usd: float
    on_demand_usd: float
    price_status: PriceStatus | None


class RunCost(BaseModel):
    """The cost of one run from its jobs' own figures: per job, per line, and the spot saving."""

    region: str
    currency: str
    price_table_checked: str
    jobs: list[JobCharge]
    lines: list[RunLine]
    unpriced: list[str]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def per_run_usd(self) -> float:
        """What the run's jobs cost."""
        return round(sum(job.usd for job in self.jobs), 4)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def on_demand_usd(self) -> float:
        """What the same jobs would have cost with training on demand."""
        return round(sum(job.on_demand_usd for job in self.jobs), 4)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def spot_saving(self) -> float | None:
        """The saving the spot training jobs achieved, weighted by their on-demand cost; None without any."""
        spot = [job for job in self.jobs if job.spot and job.on_demand_usd > 0]
        on_demand = sum(job.on_demand_usd for job in spot)
        if not on_demand:
            return None
        return round(1.0 - sum(job.usd for job in spot) / on_demand, 4)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> str:
        """One sentence for reports."""
        saving = (
            "no managed spot training job"
            if self.spot_saving is None
            else f"managed spot saved {self.spot_saving:.0%} of on-demand training"
        )
        return (
            f"{self.per_run_usd:.4f} {self.currency} for the {len(self.jobs)} job(s) of this run "
            f"({self.on_demand_usd:.4f} on demand; {saving}), {self.region} prices checked "
            f"{self.price_table_checked}."
        )

    def line(self, name: str) -> RunLine:
        """The first line called ``name``."""
        return next(line for line in self.lines if line.name == name)


def price_run(jobs: RunJobs, prices: PriceTable | None = None) -> RunCost:
    """The cost of the run whose jobs ``jobs`` describes."""
    prices = prices or load_price_table()
    charges = [
        *(_training_charge(job, prices) for job in jobs.training_jobs),
        *(_processing_charge(job, prices) for job in jobs.processing_jobs),
        *(_transform_charge(job, prices) for job in jobs.transform_jobs),
        *(_glue_charge(run, prices) for run in jobs.glue_job_runs),
    ]
    return RunCost(
        region=prices.region,
        currency=prices.currency,
        price_table_checked=prices.checked,
        jobs=charges,
        lines=_lines(charges),
        unpriced=[f"{c.kind} {c.name}: {c.note}" for c in charges if c.unit_price_usd is None],
    )


def job_sizes_from_run(jobs: RunJobs, **overrides: Any) -> JobSizes:
    """Planning job sizes measured on a run: Glue, training (mean per job) and evaluation seconds."""
    values: dict[str, Any] = {}
    glue = [_glue_seconds(run) for run in jobs.glue_job_runs]
    if glue:
        values["glue_seconds"] = max(sum(glue), 1.0)
    training = [float(job.get("TrainingTimeInSeconds") or 0) for job in jobs.training_jobs]
    if any(training):
        values["training_seconds"] = sum(training) / len(training)
    processing = [
        _between(job.get("ProcessingStartTime"), job.get("ProcessingEndTime")) for job in jobs.processing_jobs
    ]
    if any(processing):
        values["evaluation_seconds"] = sum(processing)
    values.update(overrides)
    return JobSizes(**values)


# --- one job ---------------------------------------------------------------------------------------


def _training_charge(job: Mapping[str, Any], prices: PriceTable) -> JobCharge:
    resources = job.get("ResourceConfig") or {}
    spot = bool(job.get("EnableManagedSpotTraining"))
    billed = float(job.get("BillableTimeInSeconds") or 0)
    trained = float(job.get("TrainingTimeInSeconds") or 0)
    note = "" if "BillableTimeInSeconds" in job else "no BillableTimeInSeconds yet (still running)"
    return _charge(
        name=str(job.get("TrainingJobName", "")),
        kind="training",
        line=TRAINING_LINE,
        price_key=f"sagemaker.training.{resources.get('InstanceType')}",
        resource=str(resources.get("InstanceType")),
        count=float(resources.get("InstanceCount") or 1),
        billed_seconds=billed,
        # The spot saving's base: what the same seconds cost on demand.
        on_demand_seconds=max(trained, billed) if spot else billed,
        prices=prices,
        spot=spot,
        note=note,
    )


# Jobs billed for their instances' time from start to end, as their Describe reports it:
# kind -> (name field, resources field, start field, end field, line).
_TIMED_JOBS = {
    "processing": (
        "ProcessingJobName",
        ("ProcessingResources", "ClusterConfig"),
        "ProcessingStartTime",
        "ProcessingEndTime",
        PROCESSING_LINE,
    ),
    "transform": (
        "TransformJobName",
        ("TransformResources",),
        "TransformStartTime",
        "TransformEndTime",
        TRANSFORM_LINE,
    ),
}


def _timed_charge(
    kind: Literal["processing", "transform"], job: Mapping[str, Any], prices: PriceTable
) -> JobCharge:
    name_field, resources_path, start_field, end_field, line = _TIMED_JOBS[kind]
    resources: Mapping[str, Any] = job
    for field in resources_path:
        resources = resources.get(field) or {}
    seconds = _between(job.get(start_field), job.get(end_field))
    return _charge(
        name=str(job.get(name_field, "")),
        kind=kind,
        line=line,
        price_key=f"sagemaker.{kind}.{resources.get('InstanceType')}",
        resource=str(resources.get("InstanceType")),
        count=float(resources.get("InstanceCount") or 1),
        billed_seconds=seconds,
        on_demand_seconds=seconds,
        prices=prices,
        note="" if seconds else f"no {start_field}/{end_field}",
    )


def _processing_charge(job: Mapping[str, Any], prices: PriceTable) -> JobCharge:
    return _timed_charge("processing", job, prices)


def _transform_charge(job: Mapping[str, Any], prices: PriceTable) -> JobCharge:
    return _timed_charge("transform", job, prices)


def _glue_charge(run: Mapping[str, Any], prices: PriceTable) -> JobCharge:
    dpus = _glue_dpus(run)
    dpu_seconds = _glue_dpu_seconds(run, dpus)
    known = bool(dpus) or run.get("DPUSeconds") is not None
    count = dpus or 1.0
    execution_class = str(run.get("ExecutionClass") or "STANDARD").lower()
    # A Flex run has a price of its own; the table names each execution class it prices.
    price_key = (
        "glue.spark.dpu_hour" if execution_class == "standard" else f"glue.spark_{execution_class}.dpu_hour"
    )
    return _charge(
        name=f"{run.get('JobName', '')} {run.get('Id', '')}".strip(),
        kind="glue",
        line=GLUE_LINE,
        price_key=price_key,
        resource=str(run.get("WorkerType") or "MaxCapacity"),
        count=count,
        # Seconds per DPU, so that count x seconds is the run's DPU-seconds.
        billed_seconds=dpu_seconds / count,
        on_demand_seconds=dpu_seconds / count,
        prices=prices,
        note="" if known else "no DPUSeconds, NumberOfWorkers/WorkerType or MaxCapacity: DPUs unknown",
    )


def _glue_dpus(run: Mapping[str, Any]) -> float:
    workers, worker_type = run.get("NumberOfWorkers"), run.get("WorkerType")
    if workers and worker_type in GLUE_DPU_PER_WORKER:
        return float(workers) * GLUE_DPU_PER_WORKER[str(worker_type)]
    return float(run.get("MaxCapacity") or 0.0)


def _glue_seconds(run: Mapping[str, Any]) -> float:
    return float(run.get("ExecutionTime") or 0)


def _glue_dpu_seconds(run: Mapping[str, Any], dpus: float) -> float:
    """The DPU-seconds Glue bills for a run, with its one-minute minimum (Glue 2.0 and later)."""
    if run.get("DPUSeconds") is not None:
        return max(float(run["DPUSeconds"]), GLUE_MINIMUM_BILLED_SECONDS * dpus)
    return max(_glue_seconds(run), GLUE_MINIMUM_BILLED_SECONDS) * dpus


def _charge(
    *,
    name: str,
    kind: JobKind,
    line: str,
    price_key: str,
    resource: str,
    count: float,
    billed_seconds: float,
    on_demand_seconds: float,
    prices: PriceTable,
    spot: bool = False,
    note: str = "",
) -> JobCharge:
    price: Price | None
    try:
        price = prices.get(price_key)
    except KeyError:
        price = None
        note = "; ".join(filter(None, [note, f"no price {price_key!r} in the {prices.region} table"]))
    hourly = price.usd if price else 0.0
    return JobCharge(
        name=name,
        kind=kind,
        line=line,
        resource=resource,
        count=count,
        billed_seconds=billed_seconds,
        on_demand_seconds=on_demand_seconds,
        unit=price.unit if price else "",
        unit_price_usd=price.usd if price else None,
        usd=round(billed_seconds * count * hourly / 3600.0, 10),
        on_demand_usd=round(on_demand_seconds * count * hourly / 3600.0, 10),
        price_status=price.status if price else None,
        spot=spot,
        note=note,
    )


def _lines(charges: Iterable[JobCharge]) -> list[RunLine]:
    grouped: dict[tuple[str, str], list[JobCharge]] = {}
    for charge in charges:
        grouped.setdefault((charge.line, charge.resource), []).append(charge)
    return [
        RunLine(
            name=name,
            service=_SERVICE[group[0].kind],
            resource=resource,
            jobs=len(group),
            quantity=round(sum(c.billed_seconds * c.count for c in group) / 3600.0, 6),
            unit=group[0].unit,
            unit_price_usd=group[0].unit_price_usd,
            usd=round(sum(c.usd for c in group), 10),
            on_demand_usd=round(sum(c.on_demand_usd for c in group), 10),
            price_status=group[0].price_status,
        )
        for (name, resource), group in grouped.items()
    ]


def _between(start: Any, end: Any) -> float:
    """Seconds from ``start`` to ``end`` (datetimes, ISO 8601 text or epoch seconds); 0 if one is missing."""
    if start is None or end is None:
        return 0.0
    try:
        began, ended = _TIMESTAMP.validate_python(start), _TIMESTAMP.validate_python(end)
        return max(0.0, (ended - began).total_seconds())
    except (ValidationError, TypeError):  # unreadable, or one naive and one aware
        return 0.0
