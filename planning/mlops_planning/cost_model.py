"""What one pipeline run, and one month of the pipeline, costs on AWS, from a dated price table.

The inputs are the template's parameters (instance types, counts, tuning budget, spot, schedules)
and the measured size of each job (durations). Every price comes from ``pricing/<region>.json``
(package data), which records where and when each figure was read; nothing here hard-codes a price.
Free tiers are not subtracted, so the estimate errs high for small deployments.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

# AWS bills always-on resources by the hour and quotes a month as 730 hours (365 * 24 / 12).
HOURS_PER_MONTH = 730.0
DAYS_PER_MONTH = 365.0 / 12.0
WEEKS_PER_MONTH = DAYS_PER_MONTH / 7.0
GLUE_MINIMUM_BILLED_SECONDS = 60.0  # Glue 2.0+ Spark and Python shell jobs: per second, 1-minute minimum
# DPUs per worker (https://docs.aws.amazon.com/glue/latest/dg/add-job.html, "Worker type").
GLUE_DPU_PER_WORKER = {"G.025X": 0.25, "G.1X": 1.0, "G.2X": 2.0, "G.4X": 4.0, "G.8X": 8.0}
GLUE_PYTHON_SHELL_DPU = 0.0625

PriceStatus = Literal["confirmed", "secondary", "unverified", "assumption"]


class Price(BaseModel):
    """One figure of the price table, with where and when it was read."""

    key: str
    usd: float
    unit: str
    status: PriceStatus
    checked: str
    source: str
    note: str = ""


class PriceTable(BaseModel):
    """A region's dated price table (``pricing/<region>.json``)."""

    region: str
    currency: str
    checked: str
    prices: list[Price]
    assumptions: list[Price] = Field(default_factory=list)

    def get(self, key: str) -> Price:
        """The price (or assumption) named ``key``; a KeyError names what the table does have."""
        for price in (*self.prices, *self.assumptions):
            if price.key == key:
                return price
        prefix = ".".join(key.split(".")[:2])  # service.use, e.g. sagemaker.training
        known = sorted(p.key for p in self.prices if p.key.startswith(prefix))
        raise KeyError(f"no price {key!r} in the {self.region} table; known under {prefix!r}: {known}")

    def usd(self, key: str) -> float:
        """The figure of ``key``."""
        return self.get(key).usd

    def instance_types(self, use: str) -> list[str]:
        """Instance types priced for a SageMaker use (training, hosting, processing, transform)."""
        prefix = f"sagemaker.{use}."
        return [p.key.removeprefix(prefix) for p in self.prices if p.key.startswith(prefix)]


@cache
def load_price_table(region: str = "us-east-1") -> PriceTable:
    """Read the dated price table of ``region`` from the package's ``pricing`` data."""
    table = resources.files("mlops_planning").joinpath("pricing", f"{region}.json")
    if not table.is_file():
        raise FileNotFoundError(
            f"no price table for {region}: expected pricing/{region}.json in mlops_planning"
        )
    return PriceTable.model_validate_json(table.read_text(encoding="utf-8"))


class PipelineSettings(BaseModel):
    """The template parameters that drive cost, under their template names (``docs/contracts.md``).

    Defaults are the template's own, so a partial override mapping describes a whole deployment.
    """

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    glue_worker_type: str = Field("G.1X", alias="GlueWorkerType")
    glue_number_of_workers: int = Field(2, alias="GlueNumberOfWorkers")
    training_instance_type: str = Field("ml.m5.xlarge", alias="TrainingInstanceType")
    use_spot_training: bool = Field(True, alias="UseSpotTraining")
    max_runtime_seconds: int = Field(3600, alias="MaxRuntimeSeconds")
    max_wait_seconds: int = Field(7200, alias="MaxWaitSeconds")
    enable_tuning: bool = Field(True, alias="EnableTuning")
    tuning_max_jobs: int = Field(8, alias="TuningMaxJobs")
    tuning_max_parallel_jobs: int = Field(2, alias="TuningMaxParallelJobs")
    processing_instance_type: str = Field("ml.m5.xlarge", alias="ProcessingInstanceType")
    deploy_endpoint: bool = Field(True, alias="DeployEndpoint")
    endpoint_instance_type: str = Field("ml.m5.large", alias="EndpointInstanceType")
    endpoint_instance_count: int = Field(1, alias="EndpointInstanceCount")
    # Autoscaling between EndpointInstanceCount and this (on only when it is above the count).
    autoscaling_max_instance_count: int = Field(1, alias="AutoscalingMaxInstanceCount")
    deployment_style: str = Field("all-at-once", alias="DeploymentStyle")
    canary_traffic_percent: int = Field(10, alias="CanaryTrafficPercent")
    canary_wait_seconds: int = Field(600, alias="CanaryWaitSeconds")
    linear_step_percent: int = Field(25, alias="LinearStepPercent")
    linear_wait_seconds: int = Field(300, alias="LinearWaitSeconds")
    rolling_batch_percent: int = Field(25, alias="RollingBatchPercent")
    rolling_wait_seconds: int = Field(300, alias="RollingWaitSeconds")
    transform_instance_type: str = Field("ml.m5.large", alias="TransformInstanceType")
    monitoring_instance_type: str = Field("ml.m5.large", alias="MonitoringInstanceType")
    retrain_schedule_expression: str = Field("cron(0 3 ? * SUN *)", alias="RetrainScheduleExpression")
    retrain_schedule_state: str = Field("DISABLED", alias="RetrainScheduleState")
    batch_schedule_expression: str = Field("cron(0 2 * * ? *)", alias="BatchScheduleExpression")
    batch_schedule_state: str = Field("DISABLED", alias="BatchScheduleState")
    monitoring_schedule_expression: str = Field("cron(0 * ? * * *)", alias="MonitoringScheduleExpression")

    @field_validator("use_spot_training", "enable_tuning", "deploy_endpoint", mode="before")
    @classmethod
    def _cloudformation_boolean(cls, value: object) -> object:
        # CloudFormation parameters are strings: "true" / "false".
        if isinstance(value, str):
            return value.strip().lower() == "true"
        return value

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> PipelineSettings:
        """Settings from template parameter values (names as in the template, values as strings)."""
        return cls.model_validate(dict(parameters))


EndpointMode = Literal["realtime", "serverless", "none"]


class JobSizes(BaseModel):
    """Measured (or assumed) sizes of one run's jobs and of the month's traffic.

    Durations are wall-clock seconds of one job on AWS. The defaults are planning figures for a
    dataset of a few thousand images; ``job_sizes_from_bench`` replaces them with measured ones.
    """

    glue_seconds: float = 240.0
    training_seconds: float = 900.0  # one training job (each tuning trial is one)
    evaluation_seconds: float = 300.0
    monitoring_seconds: float = 600.0  # one Model Monitor execution
    transform_seconds: float = 600.0  # one scheduled batch transform
    state_transitions_per_run: int = 45  # the training state machine's happy path, with Choice/Pass states
    lambda_invocations_per_run: int = 10
    lambda_seconds_per_invocation: float = 1.0
    lambda_memory_mb: int = 512
    images_per_run: int = 1_000  # new uploads the run ingests
    images_stored: int = 10_000  # everything kept under incoming/
    image_kb: float = 200.0
    endpoint_mode: EndpointMode = "realtime"
    requests_per_month: float = 0.0  # endpoint invocations (serverless cost, capture size)
    serverless_memory_mb: int = 2048
    serverless_seconds_per_request: float = 0.2
    # With autoscaling: the fleet's average size over the month (None: the minimum, what is always paid).
    endpoint_average_instances: float | None = None
    spot_saving_ratio: float | None = None  # None: the price table's assumption


class LineItem(BaseModel):
    """One line of the bill: what is used, how much, at what price."""

    name: str
    service: str
    period: Literal["run", "month"]
    quantity: float
    unit: str
    unit_price_usd: float
    usd: float  # quantity * unit price, less any spot saving, for one period
    usd_per_month: float
    on_demand_usd: float | None = None  # what the same line costs without spot
    price_status: PriceStatus
    note: str = ""


class CostBreakdown(BaseModel):
    """The estimate: every line item, the totals per run and per month, and what was assumed."""

    region: str
    currency: str
    price_table_checked: str
    runs_per_month: float
    items: list[LineItem]
    assumptions: list[str]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def per_run_usd(self) -> float:
        """The cost of one pipeline run."""
        return round(sum(i.usd for i in self.items if i.period == "run"), 4)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def monthly_usd(self) -> float:
        """Runs per month times the run, plus the always-on and scheduled lines."""
        return round(sum(i.usd_per_month for i in self.items), 2)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> str:
        """One sentence for reports."""
        return (
            f"{self.per_run_usd:.2f} {self.currency} per pipeline run; {self.monthly_usd:,.2f} "
            f"{self.currency} per month at {self.runs_per_month:g} runs a month "
            f"({self.region} prices checked {self.price_table_checked})."
        )

    def item(self, name: str) -> LineItem:
        """The line item called ``name``."""
        return next(i for i in self.items if i.name == name)


_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minutes?|hours?|days?)\s*\)$", re.IGNORECASE)
_CRON = re.compile(r"^cron\((.+)\)$", re.IGNORECASE)
_PER_MONTH = {"minute": DAYS_PER_MONTH * 24 * 60, "hour": DAYS_PER_MONTH * 24, "day": DAYS_PER_MONTH}


def schedule_runs_per_month(expression: str) -> float:
    """How often an EventBridge schedule expression fires in an average month.

    Handles ``rate(...)``, ``at(...)`` (once) and ``cron(...)`` whose fields are ``*``, ``?``,
    single values, lists, ranges and ``/`` steps; day-of-month and day-of-week lists are counted
    against an average month.
    """
    expression = expression.strip()
    if expression.lower().startswith("at("):
        return 1.0
    rate = _RATE.match(expression)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2).lower().rstrip("s")
        return _PER_MONTH[unit] / value
    cron = _CRON.match(expression)
    if not cron:
        raise ValueError(f"not a schedule expression: {expression!r}")
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise ValueError(
            f"cron takes 6 fields (min hour day-of-month month day-of-week year): {expression!r}"
        )
    minutes, hours, day_of_month, month, day_of_week, _year = fields
    per_day = _count(minutes, 60) * _count(hours, 24)
    if day_of_month not in ("*", "?"):
        days = float(_count(day_of_month, 31, first=1))
    elif day_of_week not in ("*", "?"):
        days = _count(day_of_week.split("#")[0], 7, first=1, names=_WEEKDAYS) * WEEKS_PER_MONTH
    else:
        days = DAYS_PER_MONTH
    months_fraction = 1.0 if month in ("*", "?") else _count(month, 12, first=1, names=_MONTHS) / 12.0
    return per_day * days * months_fraction


_WEEKDAYS = {name: i + 1 for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTHS = {name: i + 1 for i, name in enumerate(_MONTH_NAMES)}


def _count(field: str, size: int, *, first: int = 0, names: Mapping[str, int] | None = None) -> int:
    """How many values a cron field selects out of ``size``."""
    if field in ("*", "?"):
        return size
    total = 0
    for part in field.split(","):
        spec, _, step = part.partition("/")
        if spec in ("*", "?"):
            low, high = first, first + size - 1
        elif "-" in spec:
            low_name, high_name = spec.split("-", 1)
            low, high = _value(low_name, names), _value(high_name, names)
        else:
            low = _value(spec, names)
            high = low if not step else first + size - 1
        total += len(range(low, high + 1, int(step) if step else 1))
    return total


def _value(token: str, names: Mapping[str, int] | None) -> int:
    token = token.strip().upper().rstrip("L")
    if names and token in names:
        return names[token]
    return int(token)


def _instance_price(prices: PriceTable, use: str, instance_type: str) -> Price:
    return prices.get(f"sagemaker.{use}.{instance_type}")


def _line(
    name: str,
    service: str,
    period: Literal["run", "month"],
    quantity: float,
    price: Price,
    *,
    runs: float,
    saving: float = 0.0,
    note: str = "",
) -> LineItem:
    on_demand = quantity * price.usd
    usd = on_demand * (1.0 - saving)
    return LineItem(
        name=name,
        service=service,
        period=period,
        quantity=round(quantity, 6),
        unit=price.unit,
        unit_price_usd=price.usd,
        usd=round(usd, 10),
        usd_per_month=round(usd * runs if period == "run" else usd, 10),
        on_demand_usd=round(on_demand, 10) if saving else None,
        price_status=price.status,
        note=note,
    )


def estimate(
    settings: PipelineSettings,
    sizes: JobSizes | None = None,
    *,
    runs_per_month: float,
    prices: PriceTable | None = None,
) -> CostBreakdown:
    """The cost of one pipeline run and of a month with ``runs_per_month`` runs."""
    sizes = sizes or JobSizes()
    prices = prices or load_price_table()
    runs = runs_per_month
    items: list[LineItem] = []
    assumptions = [
        "Free tiers are not subtracted.",
        f"A month is {HOURS_PER_MONTH:g} hours.",
        "ML storage volumes, CloudWatch, KMS requests, EventBridge, SQS, DynamoDB and data transfer are"
        " left out: each is cents a month at these volumes.",
    ]

    # Glue Spark job: DPUs x billed hours, billed per second with a 1-minute minimum.
    dpus = GLUE_DPU_PER_WORKER[settings.glue_worker_type] * settings.glue_number_of_workers
    glue_seconds = max(sizes.glue_seconds, GLUE_MINIMUM_BILLED_SECONDS)
    items.append(
        _line(
            "Glue data preparation",
            "AWS Glue",
            "run",
            dpus * glue_seconds / 3600.0,
            prices.get("glue.spark.dpu_hour"),
            runs=runs,
            note=f"{settings.glue_number_of_workers} x {settings.glue_worker_type} ({dpus:g} DPU) for"
            f" {glue_seconds:.0f} s (1-minute minimum)",
        )
    )

    # Training / tuning: every trial is one training job; a job stops at MaxRuntimeSeconds.
    jobs = settings.tuning_max_jobs if settings.enable_tuning else 1
    job_seconds = min(sizes.training_seconds, float(settings.max_runtime_seconds))
    spot_price = prices.get("sagemaker.spot_saving_ratio")
    saving = 0.0
    if settings.use_spot_training:
        saving = sizes.spot_saving_ratio if sizes.spot_saving_ratio is not None else spot_price.usd
        assumptions.append(
            f"Managed spot saves {saving:.0%} of on-demand training ({spot_price.source}; {spot_price.note})"
        )
    items.append(
        _line(
            "Tuning and training" if settings.enable_tuning else "Training",
            "Amazon SageMaker",
            "run",
            jobs * job_seconds / 3600.0,
            _instance_price(prices, "training", settings.training_instance_type),
            runs=runs,
            saving=saving,
            note=f"{jobs} job(s) x {job_seconds:.0f} s on {settings.training_instance_type}"
            + (f", managed spot ({saving:.0%} saving)" if saving else ", on-demand"),
        )
    )

    items.append(
        _line(
            "Evaluation (processing job)",
            "Amazon SageMaker",
            "run",
            sizes.evaluation_seconds / 3600.0,
            _instance_price(prices, "processing", settings.processing_instance_type),
            runs=runs,
            note=f"1 x {settings.processing_instance_type} for {sizes.evaluation_seconds:.0f} s",
        )
    )
    items.append(
        _line(
            "Step Functions state transitions",
            "AWS Step Functions",
            "run",
            sizes.state_transitions_per_run,
            prices.get("stepfunctions.standard.transition"),
            runs=runs,
        )
    )
    items.append(
        _line(
            "Lambda requests",
            "AWS Lambda",
            "run",
            sizes.lambda_invocations_per_run,
            prices.get("lambda.request"),
            runs=runs,
        )
    )
    lambda_seconds = sizes.lambda_invocations_per_run * sizes.lambda_seconds_per_invocation
    gb_seconds = lambda_seconds * sizes.lambda_memory_mb / 1024
    items.append(
        _line(
            "Lambda compute (arm64)",
            "AWS Lambda",
            "run",
            gb_seconds,
            prices.get("lambda.arm64.gb_second"),
            runs=runs,
            note=f"{sizes.lambda_invocations_per_run} x {sizes.lambda_seconds_per_invocation:g} s at"
            f" {sizes.lambda_memory_mb} MB",
        )
    )
    # Uploads are PUTs; the Glue job reads every stored image each run (it rebuilds the dataset).
    items.append(
        _line(
            "S3 PUT requests (uploads)",
            "Amazon S3",
            "run",
            sizes.images_per_run,
            prices.get("s3.standard.put_request"),
            runs=runs,
        )
    )
    items.append(
        _line(
            "S3 GET requests (dataset build)",
            "Amazon S3",
            "run",
            sizes.images_stored,
            prices.get("s3.standard.get_request"),
            runs=runs,
        )
    )

    # Monthly lines: hosting, monitoring, batch inference, storage.
    if not settings.deploy_endpoint:
        # Batch-only stack: no endpoint, so no hosting, capture or Model Monitor either.
        sizes = sizes.model_copy(update={"endpoint_mode": "none"})
    items.extend(_hosting_items(settings, sizes, prices))
    if sizes.endpoint_mode == "realtime":
        items.append(_deployment_item(settings, sizes, prices, runs=runs))
        low, high = _fleet_range(settings)
        if high > low:
            assumptions.append(
                f"The endpoint autoscales between {low} and {high} instances; it is priced at "
                f"{_average_fleet(settings, sizes):g} on average (JobSizes.endpoint_average_instances)."
            )
        assumptions.append(
            "Every run is assumed to deploy (a model the gate rejects deploys nothing), and an update is"
            " priced for its waits only, not the minutes SageMaker takes to start the new instances."
        )
    if sizes.endpoint_mode == "realtime":
        executions = schedule_runs_per_month(settings.monitoring_schedule_expression)
        items.append(
            _line(
                "Model Monitor executions",
                "Amazon SageMaker",
                "month",
                executions * sizes.monitoring_seconds / 3600.0,
                _instance_price(prices, "processing", settings.monitoring_instance_type),
                runs=runs,
                note=f"{executions:.0f} executions x {sizes.monitoring_seconds:.0f} s on"
                f" {settings.monitoring_instance_type}",
            )
        )
    if settings.batch_schedule_state.upper() == "ENABLED":
        batch_runs = schedule_runs_per_month(settings.batch_schedule_expression)
        items.append(
            _line(
                "Batch transform",
                "Amazon SageMaker",
                "month",
                batch_runs * sizes.transform_seconds / 3600.0,
                _instance_price(prices, "transform", settings.transform_instance_type),
                runs=runs,
                note=f"{batch_runs:.0f} runs x {sizes.transform_seconds:.0f} s on"
                f" {settings.transform_instance_type}",
            )
        )
    # The raw images plus one normalised dataset copy of about the same size.
    stored_gb = 2 * sizes.images_stored * sizes.image_kb / (1024 * 1024)
    items.append(
        _line(
            "S3 storage (images and dataset)",
            "Amazon S3",
            "month",
            stored_gb,
            prices.get("s3.standard.gb_month"),
            runs=runs,
            note=f"{sizes.images_stored:,} images x {sizes.image_kb:g} KB, kept twice (raw and dataset)",
        )
    )
    return CostBreakdown(
        region=prices.region,
        currency=prices.currency,
        price_table_checked=prices.checked,
        runs_per_month=round(runs, 3),
        items=items,
        assumptions=assumptions,
    )


def _hosting_items(settings: PipelineSettings, sizes: JobSizes, prices: PriceTable) -> list[LineItem]:
    if sizes.endpoint_mode == "none":
        return []
    if sizes.endpoint_mode == "serverless":
        busy_seconds = sizes.requests_per_month * sizes.serverless_seconds_per_request
        gb_seconds = busy_seconds * sizes.serverless_memory_mb / 1024
        data_gb = sizes.requests_per_month * sizes.image_kb / (1024 * 1024)
        return [
            _line(
                "Serverless inference compute",
                "Amazon SageMaker",
                "month",
                gb_seconds,
                prices.get("sagemaker.serverless.gb_second"),
                runs=0,
                note=f"{sizes.requests_per_month:,.0f} requests x {sizes.serverless_seconds_per_request:g} s"
                f" at {sizes.serverless_memory_mb} MB",
            ),
            _line(
                "Serverless inference data processed",
                "Amazon SageMaker",
                "month",
                data_gb,
                prices.get("sagemaker.serverless.data_gb"),
                runs=0,
            ),
        ]
    low, high = _fleet_range(settings)
    average = _average_fleet(settings, sizes)
    price = _instance_price(prices, "hosting", settings.endpoint_instance_type)
    note = f"{average:g} x {settings.endpoint_instance_type} x {HOURS_PER_MONTH:g} h"
    if high > low:
        note += (
            f"; autoscaling {low}-{high} instances: {low * HOURS_PER_MONTH * price.usd:,.2f} to"
            f" {high * HOURS_PER_MONTH * price.usd:,.2f} {prices.currency} a month"
        )
    return [
        _line(
            "Real-time endpoint",
            "Amazon SageMaker",
            "month",
            average * HOURS_PER_MONTH,
            price,
            runs=0,
            note=note,
        )
    ]


def _fleet_range(settings: PipelineSettings) -> tuple[int, int]:
    """The endpoint's smallest and largest fleet (a maximum at or below the count: a fixed fleet)."""
    low = settings.endpoint_instance_count
    return low, max(low, settings.autoscaling_max_instance_count)


def _average_fleet(settings: PipelineSettings, sizes: JobSizes) -> float:
    low, high = _fleet_range(settings)
    wanted = low if sizes.endpoint_average_instances is None else sizes.endpoint_average_instances
    return min(max(wanted, float(low)), float(high))


# Share of the fleet one step takes, in percent (SageMaker's bounds: canary <= 50 %, linear 10-50 %,
# rolling 5-50 %; https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_TrafficRoutingConfig.html,
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_RollingUpdatePolicy.html), rounded up to
# whole instances as the Deploy step rounds them.
_STEP_BOUNDS = {"canary": (0, 50), "linear": (10, 50), "rolling": (5, 50)}


def _step_instances(fleet: int, percent: int, style: str) -> int:
    low, high = _STEP_BOUNDS[style]
    smallest = max(1, math.ceil(fleet * low / 100))
    largest = max(smallest, fleet * high // 100)
    return min(max(math.ceil(fleet * percent / 100), smallest), largest)


def deployment_extra_seconds(settings: PipelineSettings, fleet: int) -> tuple[int, float, str]:
    """Instances that run beside the old fleet during one update, for how long, and how.

    Blue/green (all at once, canary, linear) starts a whole new fleet and keeps the old one through
    every step's wait and the final bake (the Deploy step sets TerminationWaitInSeconds to the style's
    wait): all at once bakes once, canary twice, linear once per step, plus the final bake. Rolling
    replaces the fleet a batch at a time: one batch of extra instances through every batch's wait
    (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-rolling.html).
    """
    style = settings.deployment_style
    if style == "rolling":
        batch = _step_instances(fleet, settings.rolling_batch_percent, style)
        batches = math.ceil(fleet / batch)
        seconds = batches * settings.rolling_wait_seconds
        return (
            batch,
            seconds,
            f"rolling: {batch} extra instance(s) through {batches} batch(es)"
            f" x {settings.rolling_wait_seconds} s",
        )
    if style == "linear":
        step = _step_instances(fleet, settings.linear_step_percent, style)
        steps = math.ceil(fleet / step)
        wait = settings.linear_wait_seconds
    elif style == "canary":
        steps, wait = 2, settings.canary_wait_seconds
    else:
        steps, wait = 1, settings.canary_wait_seconds
    seconds = (steps + 1) * wait
    return (
        fleet,
        seconds,
        f"blue/green {style}: {fleet} extra instance(s) through {steps} step(s) + final bake x {wait} s",
    )


def _deployment_item(
    settings: PipelineSettings, sizes: JobSizes, prices: PriceTable, *, runs: float
) -> LineItem:
    """The second fleet an update runs while it shifts traffic and bakes (``DeploymentStyle``)."""
    fleet = max(1, round(_average_fleet(settings, sizes)))
    instances, seconds, note = deployment_extra_seconds(settings, fleet)
    return _line(
        f"Endpoint update ({settings.deployment_style})",
        "Amazon SageMaker",
        "run",
        instances * seconds / 3600.0,
        _instance_price(prices, "hosting", settings.endpoint_instance_type),
        runs=runs,
        note=note,
    )


# Which bench result figure (by file name and ``details`` key) measures which job duration.
BENCH_DURATIONS = {
    "glue_seconds": ("prepare_dataset", "job_seconds"),
    "training_seconds": ("train", "job_seconds"),
    "evaluation_seconds": ("evaluate", "job_seconds"),
    "transform_seconds": ("batch_transform", "job_seconds"),
    "state_transitions_per_run": ("orchestration", "state_transitions_per_run"),
    "lambda_invocations_per_run": ("orchestration", "lambda_invocations_per_run"),
}


def job_sizes_from_bench(results_dir: Path, **overrides: Any) -> tuple[JobSizes, list[str]]:
    """Job sizes whose defaults are replaced by the local benchmark's measurements where present.

    Reads ``details.<key>`` of ``<results_dir>/<name>.json`` per ``BENCH_DURATIONS``; returns the
    sizes and where each measured figure came from. The caller names the folder (``bench/cost.py``
    passes the repository's ``bench/results``): an installed package has no checkout to look into.
    Local durations come from a laptop-class CPU, not from AWS instances: they are a stand-in until
    AWS job durations are measured.
    """
    values: dict[str, Any] = {}
    provenance: list[str] = []
    for field_name, (bench_name, key) in BENCH_DURATIONS.items():
        path = results_dir / f"{bench_name}.json"
        if not path.is_file():
            continue
        try:
            value = json.loads(path.read_text()).get("details", {}).get(key)
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            values[field_name] = value
            provenance.append(f"{field_name} = {value:g} from {path.name} (details.{key})")
    values.update(overrides)
    return JobSizes(**values), provenance
