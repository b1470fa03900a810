"""``python -m mlops_local recommend``: from requirements to a deployable configuration, with reasons.

Requirements (flags or a small YAML file) go in; out comes a choice per service (Glue workers,
training instance, spot, tuning budget, endpoint, monitoring, schedules), the reason and source of
each, the monthly cost from ``cost_model``, warnings where the requirements conflict, and the
template parameter overrides, checked against ``template.yaml``'s constraints and optionally merged
into a ``samconfig.toml`` environment so that the recommendation is what ``sam deploy`` deploys.

The decision rules are the tables below; ``docs/choosing-services.md`` explains them.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlops_local.cost_model import (
    GLUE_DPU_PER_WORKER,
    GLUE_MINIMUM_BILLED_SECONDS,
    GLUE_PYTHON_SHELL_DPU,
    CostBreakdown,
    JobSizes,
    PipelineSettings,
    PriceTable,
    estimate,
    load_price_table,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
SUPPORTED_TASK = "image_classification"

Latency = Literal["realtime", "batch", "both"]
Retrain = Literal["daily", "weekly", "monthly", "on_drift"]


class Requirements(BaseModel):
    """What the user needs; every field has a flag of the same name (``--images-per-day``)."""

    model_config = ConfigDict(extra="forbid")

    task: str = SUPPORTED_TASK
    images_per_day: float = Field(0, ge=0)
    images_total: int = Field(10_000, ge=1, description="images kept for training (the dataset size)")
    image_size: int = Field(224, ge=32, le=1024, description="model input edge in pixels")
    image_kb: float = Field(300, gt=0, description="average size of one uploaded image file")
    retrain: Retrain = "weekly"
    latency: Latency = "realtime"
    requests_per_second: float = Field(0, ge=0, description="expected average endpoint requests per second")
    monthly_budget_usd: float | None = Field(None, gt=0)
    interruption_tolerant: bool = True
    data_sources: int = Field(1, ge=1)
    vpc_only: bool = False
    kms: bool = True
    vpc_subnet_ids: list[str] = Field(default_factory=list)
    vpc_security_group_ids: list[str] = Field(default_factory=list)


class Choice(BaseModel):
    """One decision, why it was made, and where the rule comes from."""

    topic: str
    decision: str
    reason: str
    source: str


class Recommendation(BaseModel):
    """The answer: choices, template overrides, cost, warnings."""

    supported: bool
    task: str
    endpoint_mode: Literal["realtime", "none"] | None = None
    choices: list[Choice] = Field(default_factory=list)
    parameters: dict[str, str] = Field(default_factory=dict)
    cost: CostBreakdown | None = None
    within_budget: bool | None = None
    warnings: list[str] = Field(default_factory=list)
    alternatives: list[str] = Field(default_factory=list)
    job_sizes: JobSizes | None = None

    def choice(self, topic: str) -> Choice:
        """The choice made on ``topic``."""
        return next(c for c in self.choices if c.topic == topic)


# --- Sources -------------------------------------------------------------------------------------
SRC_GLUE_WORKERS = "https://docs.aws.amazon.com/glue/latest/dg/add-job.html (worker types)"
SRC_GLUE_PYTHON_SHELL = "https://docs.aws.amazon.com/glue/latest/dg/add-job-python.html"
SRC_INSTANCE_SIZE = (
    "Well-Architected Machine Learning Lens, cost optimization: select optimal computing instance size;"
    " https://docs.aws.amazon.com/sagemaker/latest/dg/train-instance-types.html"
)
SRC_SPOT = "https://docs.aws.amazon.com/sagemaker/latest/dg/model-managed-spot-training.html"
SRC_TUNING = "https://docs.aws.amazon.com/sagemaker/latest/dg/automatic-model-tuning-considerations.html"
SRC_HOSTING_HA = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/best-practices.html (multiple instances,"
    " spread across Availability Zones); Well-Architected ML Lens, reliability"
)
SRC_SERVERLESS = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html (feature exclusions)"
)
SRC_BATCH = "https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform.html"
SRC_MONITOR = "https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-schedule-expression.html"
SRC_CAPTURE = "https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture.html"
SRC_VPC = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/infrastructure-give-access.html;"
    " https://docs.aws.amazon.com/glue/latest/dg/glue-connections.html"
)
SRC_KMS = "https://docs.aws.amazon.com/sagemaker/latest/dg/encryption-at-rest.html"
SRC_SCHEDULES = "https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html"
SRC_ASSUMPTION = "planning assumption in recommend.py; replace with measured bench/results figures"

# --- Unsupported tasks: what fits instead ----------------------------------------------------------
UNSUPPORTED_TASKS: dict[str, list[str]] = {
    "object_detection": [
        "SageMaker built-in Object Detection algorithm"
        " (https://docs.aws.amazon.com/sagemaker/latest/dg/object-detection.html)",
        "Amazon Rekognition Custom Labels, bounding boxes without training code"
        " (https://docs.aws.amazon.com/rekognition/latest/customlabels-dg/what-is.html)",
    ],
    "segmentation": [
        "SageMaker built-in Semantic Segmentation algorithm"
        " (https://docs.aws.amazon.com/sagemaker/latest/dg/semantic-segmentation.html)",
    ],
    "tabular": [
        "SageMaker Autopilot (https://docs.aws.amazon.com/sagemaker/latest/dg/autopilot-automate-model-development.html)",
        "SageMaker built-in XGBoost (https://docs.aws.amazon.com/sagemaker/latest/dg/xgboost.html)",
    ],
    "text": [
        "Amazon Comprehend custom classification"
        " (https://docs.aws.amazon.com/comprehend/latest/dg/how-document-classification.html)",
        "SageMaker JumpStart text models (https://docs.aws.amazon.com/sagemaker/latest/dg/studio-jumpstart.html)",
    ],
}
TASK_ALIASES = {
    "classification": SUPPORTED_TASK,
    "image-classification": SUPPORTED_TASK,
    "detection": "object_detection",
    "object-detection": "object_detection",
    "semantic_segmentation": "segmentation",
    "forecasting": "tabular",
    "text_classification": "text",
    "nlp": "text",
}


# --- Decision tables -------------------------------------------------------------------------------
@dataclass(frozen=True)
class GlueTier:
    max_images: float
    worker_type: str
    workers: int
    reason: str


GLUE_TIERS = (
    GlueTier(100_000, "G.1X", 2, "the Spark minimum (2 workers) prepares up to ~100k images in minutes"),
    GlueTier(1_000_000, "G.1X", 5, "up to 1M images: more G.1X workers split decoding and hashing"),
    GlueTier(10_000_000, "G.2X", 10, "millions of images: G.2X doubles memory per executor for image bytes"),
    GlueTier(math.inf, "G.2X", 20, "over 10M images: 20 G.2X workers; consider incremental preparation"),
)
# Images one DPU decodes, checks, hashes and re-encodes per second (planning assumption).
GLUE_IMAGES_PER_DPU_SECOND = 40.0
GLUE_STARTUP_SECONDS = 60.0


@dataclass(frozen=True)
class TrainingTier:
    max_train_images: float
    instance_type: str
    reason: str


TRAINING_TIERS = (
    TrainingTier(20_000, "ml.m5.xlarge", "under ~20k images a CPU trains in minutes; a GPU would idle"),
    TrainingTier(2_000_000, "ml.g4dn.xlarge", "one T4 GPU: the lowest price per trained image at this size"),
    TrainingTier(math.inf, "ml.g5.xlarge", "one A10G GPU: about twice a T4's throughput for large datasets"),
)
# Training images per second at 224 px for a ResNet-18-class model (planning assumption).
TRAINING_IMAGES_PER_SECOND = {
    "ml.m5.large": 10.0,
    "ml.m5.xlarge": 20.0,
    "ml.c5.xlarge": 25.0,
    "ml.g4dn.xlarge": 300.0,
    "ml.g5.xlarge": 650.0,
    "ml.p3.2xlarge": 800.0,
}
TRAINING_STARTUP_SECONDS = 180.0
# Evaluation: the test split scored by evaluate.py on a CPU processing instance (planning assumption).
PROCESSING_TIERS = ((20_000, "ml.m5.large"), (math.inf, "ml.c5.xlarge"))
PROCESSING_IMAGES_PER_SECOND = {"ml.m5.large": 8.0, "ml.m5.xlarge": 16.0, "ml.c5.xlarge": 20.0}
TRAIN_SHARE = 0.8  # the default validation and test fractions are 0.1 each
DEFAULT_EPOCHS = 10


@dataclass(frozen=True)
class TuningTier:
    max_train_images: float
    max_jobs: int
    parallel_jobs: int
    reason: str


TUNING_TIERS = (
    TuningTier(5_000, 0, 0, "too few validation images for trials to differ by more than noise"),
    TuningTier(200_000, 8, 2, "8 Bayesian trials, 2 at a time, so each round learns from the last"),
    TuningTier(
        math.inf, 12, 3, "12 trials, 3 at a time: each trial is expensive, keep the search sequential"
    ),
)
DAILY_TUNING_JOBS = 4  # a daily retrain repeats the search every day: keep it short


@dataclass(frozen=True)
class EndpointTier:
    max_rps: float
    instance_type: str
    rps_per_instance: float  # single-image requests at 224 px (planning assumption)


ENDPOINT_TIERS = (
    EndpointTier(4, "ml.m5.large", 8.0),
    EndpointTier(30, "ml.c5.xlarge", 20.0),
    EndpointTier(math.inf, "ml.g4dn.xlarge", 120.0),
)
TARGET_UTILISATION = 0.6  # headroom for spikes and for losing an Availability Zone
HA_MIN_RPS = 1.0  # from here on traffic is production traffic: two instances, two AZs
SERVERLESS_MAX_RPS = 0.5

RETRAIN_SCHEDULES: dict[str, tuple[str, str, float, int]] = {
    # frequency: (expression, state, runs a month, trigger window minutes)
    "daily": ("cron(0 3 * * ? *)", "ENABLED", 365.0 / 12.0, 1440),
    "weekly": ("cron(0 3 ? * MON *)", "ENABLED", 365.0 / 12.0 / 7.0, 10080),
    "monthly": ("cron(0 3 1 * ? *)", "ENABLED", 1.0, 43200),
    # Drift and uploads start runs; two a month is a planning assumption.
    "on_drift": ("cron(0 3 ? * MON *)", "DISABLED", 2.0, 10080),
}
MONITOR_HOURLY = "cron(0 * ? * * *)"
MONITOR_DAILY = "cron(0 0 ? * * *)"
BATCH_DAILY = "cron(0 2 * * ? *)"
# Share of requests captured for monitoring, by traffic (enough samples per hour, small S3 bill).
CAPTURE_PERCENT_TIERS = ((5.0, 100), (50.0, 20), (math.inf, 10))


@dataclass
class _Plan:
    """The mutable working state while rules are applied and the budget is fitted."""

    requirements: Requirements
    parameters: dict[str, str] = field(default_factory=dict)
    choices: dict[str, Choice] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    alternatives: list[str] = field(default_factory=list)
    runs_per_month: float = 4.0
    endpoint_min_instances: int = 1
    endpoint_mode: Literal["realtime", "none"] = "realtime"
    epochs: int = DEFAULT_EPOCHS
    train_share: float = TRAIN_SHARE
    trigger_window_max: int | None = None
    prices: PriceTable | None = None

    def choose(self, topic: str, decision: str, reason: str, source: str) -> None:
        self.choices[topic] = Choice(topic=topic, decision=decision, reason=reason, source=source)


def normalise_task(task: str) -> str:
    """The task's canonical name (``object-detection`` -> ``object_detection``)."""
    key = task.strip().lower().replace(" ", "_")
    return TASK_ALIASES.get(key, key)


def recommend(
    requirements: Requirements,
    *,
    prices: PriceTable | None = None,
    template_parameters: Mapping[str, Mapping[str, Any]] | None = None,
) -> Recommendation:
    """Apply the decision tables to ``requirements``; fit the budget; check the template constraints."""
    prices = prices or load_price_table()
    task = normalise_task(requirements.task)
    if task != SUPPORTED_TASK:
        fits = UNSUPPORTED_TASKS.get(task, [])
        return Recommendation(
            supported=False,
            task=task,
            warnings=[
                f"'{task}' is not supported by this pipeline: it trains image classifiers (one label per"
                " image, the label is the upload folder)."
                + ("" if fits else " No alternative is known for this task.")
            ],
            alternatives=fits,
        )
    plan = _Plan(requirements, prices=prices)
    if template_parameters:
        _read_template_defaults(plan, template_parameters)
    rules = (_glue, _training, _evaluation, _spot, _tuning, _endpoint, _monitoring, _schedules, _compliance)
    for rule in rules:
        rule(plan)
    if template_parameters:
        _fit_constraints(plan, template_parameters)
    cost, sizes = _cost(plan, prices)
    within_budget = None
    if requirements.monthly_budget_usd is not None:
        cost, sizes, within_budget = _fit_budget(plan, prices, cost, sizes)
    if template_parameters:
        plan.warnings.extend(
            f"template constraint: {e}" for e in check_overrides(plan.parameters, template_parameters)
        )
    return Recommendation(
        supported=True,
        task=task,
        endpoint_mode=plan.endpoint_mode,
        choices=list(plan.choices.values()),
        parameters=dict(plan.parameters),
        cost=cost,
        within_budget=within_budget,
        warnings=plan.warnings,
        alternatives=plan.alternatives,
        job_sizes=sizes,
    )


def _read_template_defaults(plan: _Plan, parameters: Mapping[str, Mapping[str, Any]]) -> None:
    """Epochs, split fractions and the trigger window's ceiling as the template sets them."""
    defaults = {name: spec.get("Default") for name, spec in parameters.items()}
    epochs = defaults.get("TrainingEpochs")
    if epochs is not None:
        plan.epochs = int(epochs)
    fractions = [defaults.get("ValidationFraction"), defaults.get("TestFraction")]
    if all(f is not None for f in fractions):
        plan.train_share = 1.0 - sum(float(str(f)) for f in fractions)
    window = parameters.get("TriggerWindowMinutes", {})
    if "MaxValue" in window:
        plan.trigger_window_max = int(window["MaxValue"])


# --- Rules -----------------------------------------------------------------------------------------
def _glue(plan: _Plan) -> None:
    images = plan.requirements.images_total
    tier = next(t for t in GLUE_TIERS if images <= t.max_images)
    plan.parameters["GlueWorkerType"] = tier.worker_type
    plan.parameters["GlueNumberOfWorkers"] = str(tier.workers)
    reason = f"{images:,} images: {tier.reason}."
    if images <= GLUE_TIERS[0].max_images and plan.prices is not None:
        # A Python shell job runs on one machine; at 1/16 DPU it would take ~1 DPU's throughput / 4.
        shell_seconds = GLUE_STARTUP_SECONDS + images / (GLUE_IMAGES_PER_DPU_SECOND / 4)
        shell_usd = (
            GLUE_PYTHON_SHELL_DPU
            * max(shell_seconds, GLUE_MINIMUM_BILLED_SECONDS)
            / 3600
            * plan.prices.usd("glue.python_shell.dpu_hour")
        )
        reason += (
            f" A Glue Python shell job (1/16 DPU) would do at this size for about {shell_usd:.3f} USD a run,"
            " but glue/prepare_dataset.py is a Spark job, which keeps one code path from a few hundred"
            " images to millions; the Spark minimum costs cents a run."
        )
    plan.choose(
        "Glue data preparation",
        f"{tier.workers} x {tier.worker_type}",
        reason,
        f"{SRC_GLUE_WORKERS}; {SRC_GLUE_PYTHON_SHELL}",
    )


def _train_images(plan: _Plan) -> int:
    return int(plan.requirements.images_total * plan.train_share)


def _training_seconds(plan: _Plan, instance_type: str) -> float:
    # Throughput scales with pixels per image, up to 8x for small images (then data loading limits).
    speedup = min((224.0 / plan.requirements.image_size) ** 2, 8.0)
    per_second = TRAINING_IMAGES_PER_SECOND[instance_type] * speedup
    return TRAINING_STARTUP_SECONDS + plan.epochs * _train_images(plan) / per_second


def _training(plan: _Plan) -> None:
    train_images = _train_images(plan)
    tier = next(t for t in TRAINING_TIERS if train_images <= t.max_train_images)
    plan.parameters["TrainingInstanceType"] = tier.instance_type
    plan.parameters["ImageSize"] = str(plan.requirements.image_size)
    gpu = tier.instance_type != TRAINING_TIERS[0].instance_type
    plan.parameters["ModelArchitecture"] = "resnet18" if gpu else "small_cnn"
    plan.choose(
        "Model",
        plan.parameters["ModelArchitecture"],
        "Transfer learning from ImageNet weights earns its cost once a GPU trains; on CPU with few images"
        " the small CNN trains in minutes and overfits less."
        if gpu
        else "Few images on a CPU: the small CNN trains in minutes; ResNet-18 pays off on a GPU.",
        SRC_INSTANCE_SIZE,
    )
    seconds = _training_seconds(plan, tier.instance_type)
    max_runtime = _ceil_to(seconds * 1.5, 600)
    plan.parameters["MaxRuntimeSeconds"] = str(max(max_runtime, 1800))
    plan.choose(
        "Training instance",
        tier.instance_type,
        f"{train_images:,} training images: {tier.reason}. Estimated {seconds / 60:.0f} min per training"
        f" job ({plan.epochs} epochs); MaxRuntimeSeconds allows 1.5x that.",
        SRC_INSTANCE_SIZE,
    )
    if seconds > 24 * 3600:
        plan.warnings.append(
            f"One training job is estimated at {seconds / 3600:.0f} h: train on a rolling window of recent"
            " images or fine-tune from the champion instead of retraining on everything."
        )


def _evaluation(plan: _Plan) -> None:
    test_images = int(plan.requirements.images_total * (1 - plan.train_share) / 2)
    instance_type = next(t for limit, t in PROCESSING_TIERS if test_images <= limit)
    plan.parameters["ProcessingInstanceType"] = instance_type
    plan.choose(
        "Evaluation instance",
        instance_type,
        f"{test_images:,} test images scored by challenger and champion on CPU; "
        + (
            "the smallest general-purpose instance is enough."
            if instance_type == "ml.m5.large"
            else "compute-optimised cores shorten the evaluation."
        ),
        SRC_INSTANCE_SIZE,
    )


def _spot(plan: _Plan) -> None:
    max_runtime = int(plan.parameters["MaxRuntimeSeconds"])
    if plan.requirements.interruption_tolerant:
        plan.parameters["UseSpotTraining"] = "true"
        plan.parameters["MaxWaitSeconds"] = str(2 * max_runtime)
        plan.choose(
            "Spot or on-demand",
            f"managed spot, MaxWaitSeconds {2 * max_runtime}",
            "Interruptions are tolerated and train.py checkpoints every epoch, so an interrupted job resumes"
            " where it stopped; MaxWaitSeconds (2x the runtime) bounds the wait for capacity, and the"
            " pipeline falls back to on-demand on a spot capacity error.",
            SRC_SPOT,
        )
    else:
        plan.parameters["UseSpotTraining"] = "false"
        plan.parameters["MaxWaitSeconds"] = str(max_runtime)
        plan.choose(
            "Spot or on-demand",
            "on-demand",
            "Interruptions are not tolerated: on-demand capacity finishes on a predictable schedule.",
            SRC_SPOT,
        )


def _tuning(plan: _Plan) -> None:
    train_images = _train_images(plan)
    tier = next(t for t in TUNING_TIERS if train_images <= t.max_train_images)
    jobs, parallel, reason = tier.max_jobs, tier.parallel_jobs, tier.reason
    if jobs and plan.requirements.retrain == "daily" and jobs > DAILY_TUNING_JOBS:
        jobs, parallel = DAILY_TUNING_JOBS, 2
        reason = f"daily retraining repeats the search every day: {jobs} trials, 2 at a time"
    _set_tuning(plan, jobs, parallel, f"{train_images:,} training images: {reason}.")


def _set_tuning(plan: _Plan, jobs: int, parallel: int, reason: str) -> None:
    if jobs:
        plan.parameters |= {
            "EnableTuning": "true",
            "TuningMaxJobs": str(jobs),
            "TuningMaxParallelJobs": str(parallel),
        }
        decision = f"{jobs} trials, {parallel} in parallel"
    else:
        plan.parameters |= {"EnableTuning": "false", "TuningMaxJobs": "1", "TuningMaxParallelJobs": "1"}
        decision = "off (one training job per run)"
    plan.choose("Hyperparameter tuning", decision, reason, SRC_TUNING)


def _endpoint(plan: _Plan) -> None:
    req = plan.requirements
    rps = req.requests_per_second
    if req.latency == "batch":
        plan.endpoint_mode = "none"
        plan.parameters["DeployEndpoint"] = "false"
        plan.choose(
            "Endpoint",
            "none: batch only (DeployEndpoint=false)",
            "No real-time need: predictions come from the scheduled batch transform, which pays only while"
            " it runs. A model that passes the gate is approved in the registry and the transform uses it;"
            " no endpoint is created, so there is no hosting, capture or Model Monitor cost.",
            SRC_BATCH,
        )
        return
    plan.parameters["DeployEndpoint"] = "true"
    tier = next(t for t in ENDPOINT_TIERS if rps <= t.max_rps)
    needed = max(1, math.ceil(rps / (tier.rps_per_instance * TARGET_UTILISATION)))
    plan.endpoint_min_instances = needed
    count = max(needed, 2 if rps >= HA_MIN_RPS else 1)
    plan.parameters |= {"EndpointInstanceType": tier.instance_type, "EndpointInstanceCount": str(count)}
    reason = (
        f"{rps:g} requests/s at ~{tier.rps_per_instance:g} per {tier.instance_type} and"
        f" {TARGET_UTILISATION:.0%} target utilisation needs {needed}"
    )
    if count > needed:
        reason += "; 2 instances so SageMaker spreads them over two Availability Zones"
    elif rps < HA_MIN_RPS:
        reason += "; one instance is enough for this traffic (no Availability Zone redundancy)"
    plan.choose("Endpoint", f"real-time, {count} x {tier.instance_type}", reason + ".", SRC_HOSTING_HA)
    if rps < SERVERLESS_MAX_RPS:
        plan.alternatives.append(
            "Serverless inference would bill only per request at this traffic, but it supports neither data"
            " capture and Model Monitor (this pipeline's drift detection), nor VPC-only networking, nor"
            f" GPUs, nor blue/green traffic shifting with alarms ({SRC_SERVERLESS})."
        )
    if req.latency == "both":
        plan.choose(
            "Batch inference",
            "scheduled batch transform as well",
            "Both latencies are needed: the endpoint serves live requests; the nightly transform scores the"
            " day's images without loading the endpoint.",
            SRC_BATCH,
        )


def _monitoring(plan: _Plan) -> None:
    rps = plan.requirements.requests_per_second
    if plan.endpoint_mode == "none":
        plan.choose(
            "Monitoring",
            "none (no endpoint to watch)",
            "Model Monitor compares an endpoint's captured requests with the baseline; a batch-only stack"
            " has no endpoint, so drift is not detected automatically and the retraining schedule keeps"
            " the model fresh.",
            SRC_MONITOR,
        )
        plan.warnings.append(
            "Batch-only: without an endpoint there is no data capture, so Model Monitor cannot flag drift;"
            " keep the retraining schedule enabled, or deploy an endpoint if drift must start retraining."
        )
        return
    percent = next(p for limit, p in CAPTURE_PERCENT_TIERS if rps <= limit)
    plan.parameters["DataCapturePercent"] = str(percent)
    if rps >= HA_MIN_RPS:
        plan.parameters["MonitoringScheduleExpression"] = MONITOR_HOURLY
        decision, why = "hourly", "enough captured requests each hour for stable statistics"
    else:
        plan.parameters["MonitoringScheduleExpression"] = MONITOR_DAILY
        decision, why = "daily", "under 1 request/s an hour holds too few requests to compare distributions"
    plan.choose(
        "Monitoring",
        f"{decision}, capturing {percent}% of requests",
        f"{why}; capture {percent}% keeps the sample large and the capture bucket small.",
        f"{SRC_MONITOR}; {SRC_CAPTURE}",
    )


def _schedules(plan: _Plan) -> None:
    req = plan.requirements
    expression, state, runs, window = RETRAIN_SCHEDULES[req.retrain]
    if plan.trigger_window_max is not None and window > plan.trigger_window_max:
        window = plan.trigger_window_max
        upload_runs = 365.0 / 12.0 * 1440 / window if req.images_per_day > 0 else 0.0
        if upload_runs > runs:
            plan.warnings.append(
                f"Uploads arrive every day and start a run at most once per TriggerWindowMinutes, whose"
                f" template maximum is {window}: about {upload_runs:.0f} runs a month, not the"
                f" {runs:.1f} of {req.retrain} retraining. The cost counts {upload_runs:.0f}; raising"
                " TriggerWindowMinutes' MaxValue in template.yaml would let uploads follow the schedule."
            )
            runs = upload_runs
    plan.runs_per_month = runs
    plan.parameters |= {
        "RetrainScheduleExpression": expression,
        "RetrainScheduleState": state,
        "TriggerWindowMinutes": str(window),
    }
    rounds = 1
    if plan.parameters.get("EnableTuning") == "true":
        rounds = math.ceil(
            int(plan.parameters["TuningMaxJobs"]) / int(plan.parameters["TuningMaxParallelJobs"])
        )
    run_hours = rounds * _training_seconds(plan, plan.parameters["TrainingInstanceType"]) / 3600
    period_hours = 365 * 24 / runs / 12
    if run_hours > period_hours:
        plan.warnings.append(
            f"Training alone takes about {run_hours:.0f} h a run ({rounds} round(s) of trials), longer than"
            f" the {period_hours:.0f} h between runs: runs will queue. Retrain less often, tune less, or"
            " train on a window of recent images."
        )
    capped = window < RETRAIN_SCHEDULES[req.retrain][3]
    plan.choose(
        "Retraining schedule",
        f"{req.retrain}: {expression} ({state})",
        f"About {runs:.1f} runs a month. Uploads start at most one run per TriggerWindowMinutes ({window})"
        + (
            ", the template's maximum: daily uploads add runs beyond the schedule."
            if capped and req.images_per_day > 0
            else ", matched to the schedule so a steady stream of uploads does not add runs."
        ),
        SRC_SCHEDULES,
    )
    batch = req.latency in ("batch", "both")
    plan.parameters |= {
        "BatchScheduleExpression": BATCH_DAILY,
        "BatchScheduleState": "ENABLED" if batch else "DISABLED",
    }
    plan.choose(
        "Batch schedule",
        f"{BATCH_DAILY} (ENABLED)" if batch else "DISABLED",
        "Nightly transform of the day's images." if batch else "No batch need.",
        SRC_BATCH,
    )


def _compliance(plan: _Plan) -> None:
    req = plan.requirements
    if req.vpc_only:
        if req.vpc_subnet_ids and req.vpc_security_group_ids:
            plan.parameters["VpcSubnetIds"] = ",".join(req.vpc_subnet_ids)
            plan.parameters["VpcSecurityGroupIds"] = ",".join(req.vpc_security_group_ids)
            decision = f"{len(req.vpc_subnet_ids)} private subnets"
        else:
            decision = "needs subnet and security group ids"
            plan.warnings.append(
                "VPC-only is required but no --vpc-subnet-ids / --vpc-security-group-ids were given; the"
                " overrides leave VpcSubnetIds and VpcSecurityGroupIds empty, which deploys without a VPC."
            )
        plan.choose(
            "Networking",
            f"VPC only: {decision}",
            "Training, processing and endpoints run in your private subnets (with S3, SageMaker and KMS"
            " VPC endpoints); the Glue job needs a network connection in the same subnets.",
            SRC_VPC,
        )
    plan.choose(
        "Encryption",
        "customer managed KMS key (PipelineKey)",
        "The template encrypts the buckets, table, queues, topic, training volumes and endpoint storage"
        " with its own KMS key"
        + (", as required." if req.kms else "; it stays on: a key costs about 1 USD a month."),
        SRC_KMS,
    )


# --- Cost and budget -------------------------------------------------------------------------------
def _job_sizes(plan: _Plan) -> JobSizes:
    req = plan.requirements
    params = plan.parameters
    dpus = GLUE_DPU_PER_WORKER[params["GlueWorkerType"]] * int(params["GlueNumberOfWorkers"])
    test_images = req.images_total * (1 - plan.train_share) / 2
    inference_rate = next(t.rps_per_instance for t in ENDPOINT_TIERS if t.instance_type == "ml.m5.large")
    evaluation_rate = PROCESSING_IMAGES_PER_SECOND[params["ProcessingInstanceType"]]
    return JobSizes(
        glue_seconds=GLUE_STARTUP_SECONDS + req.images_total / (dpus * GLUE_IMAGES_PER_DPU_SECOND),
        training_seconds=_training_seconds(plan, params["TrainingInstanceType"]),
        evaluation_seconds=120 + test_images / evaluation_rate,
        transform_seconds=120 + req.images_per_day / inference_rate,
        images_per_run=int(req.images_per_day * 30.4 / max(plan.runs_per_month, 1)),
        images_stored=req.images_total,
        image_kb=req.image_kb,
        # No endpoint_mode: the cost model takes "no endpoint" from DeployEndpoint in the parameters.
        requests_per_month=req.requests_per_second * 730 * 3600,
    )


def _cost(plan: _Plan, prices: PriceTable) -> tuple[CostBreakdown, JobSizes]:
    sizes = _job_sizes(plan)
    settings = PipelineSettings.from_parameters(plan.parameters)
    return estimate(settings, sizes, runs_per_month=plan.runs_per_month, prices=prices), sizes


def _cheaper_tuning(plan: _Plan) -> str | None:
    jobs = int(plan.parameters.get("TuningMaxJobs", "1"))
    if plan.parameters.get("EnableTuning") != "true":
        return None
    if jobs > DAILY_TUNING_JOBS:
        _set_tuning(plan, DAILY_TUNING_JOBS, 2, "Cut to fit the budget: fewer trials per run.")
        return f"tuning cut from {jobs} to {DAILY_TUNING_JOBS} trials to fit the budget"
    _set_tuning(
        plan, 0, 0, "Turned off to fit the budget: each run trains once with the default hyperparameters."
    )
    return "tuning turned off to fit the budget"


def _daily_monitoring(plan: _Plan) -> str | None:
    if plan.parameters.get("MonitoringScheduleExpression") != MONITOR_HOURLY:
        return None
    plan.parameters["MonitoringScheduleExpression"] = MONITOR_DAILY
    old = plan.choices["Monitoring"]
    plan.choose(
        "Monitoring",
        old.decision.replace("hourly", "daily"),
        old.reason + " Daily to fit the budget.",
        old.source,
    )
    return "monitoring moved from hourly to daily to fit the budget"


def _fewer_endpoint_instances(plan: _Plan) -> str | None:
    count = int(plan.parameters["EndpointInstanceCount"])
    if plan.endpoint_mode == "none" or count <= plan.endpoint_min_instances:
        return None
    plan.parameters["EndpointInstanceCount"] = str(plan.endpoint_min_instances)
    old = plan.choices["Endpoint"]
    plan.choose(
        "Endpoint",
        old.decision.replace(f"{count} x", f"{plan.endpoint_min_instances} x"),
        old.reason + " Cut to the throughput minimum to fit the budget.",
        old.source,
    )
    return (
        f"endpoint cut from {count} to {plan.endpoint_min_instances} instance(s) to fit the budget:"
        " no Availability Zone redundancy"
    )


# In order: what costs least in quality first.
BUDGET_STEPS: tuple[Callable[[_Plan], str | None], ...] = (
    _cheaper_tuning,
    _cheaper_tuning,
    _daily_monitoring,
    _fewer_endpoint_instances,
)


def _fit_budget(
    plan: _Plan, prices: PriceTable, cost: CostBreakdown, sizes: JobSizes
) -> tuple[CostBreakdown, JobSizes, bool]:
    budget = plan.requirements.monthly_budget_usd
    assert budget is not None
    for step in BUDGET_STEPS:
        if cost.monthly_usd <= budget:
            return cost, sizes, True
        change = step(plan)
        if change:
            plan.warnings.append(change)
            cost, sizes = _cost(plan, prices)
    if cost.monthly_usd <= budget:
        return cost, sizes, True
    req = plan.requirements
    if plan.endpoint_mode == "realtime" and plan.prices is not None:
        batch_only = recommend(
            req.model_copy(update={"latency": "batch", "monthly_budget_usd": None}), prices=prices
        )
        if batch_only.cost is not None:
            plan.alternatives.append(
                "Batch-only inference (nightly batch transform) would cost about"
                f" {batch_only.cost.monthly_usd:,.2f} USD a month with the same retraining."
            )
    need = (
        f"real-time latency at {req.requests_per_second:g} requests/s"
        if plan.endpoint_mode == "realtime"
        else "batch inference"
    )
    plan.warnings.append(
        f"The monthly budget of {budget:,.2f} USD is below the {cost.monthly_usd:,.2f} USD this pipeline"
        f" needs for {need} with {req.retrain} retraining; the cheapest configuration found is shown."
        + (
            " Managed spot would cut training cost, but interruptions are not tolerated."
            if not req.interruption_tolerant
            else ""
        )
    )
    return cost, sizes, False


# --- Template constraints --------------------------------------------------------------------------
def load_template_parameters(template: Path = DEFAULT_TEMPLATE) -> dict[str, dict[str, Any]]:
    """The ``Parameters`` section of a CloudFormation/SAM template (short-form tags understood)."""
    from mlops_local.aws.template import read_template  # noqa: PLC0415 - pulls in the SAM translator

    parameters = read_template(template).get("Parameters") or {}
    return {name: dict(spec) for name, spec in parameters.items()}


def check_overrides(overrides: Mapping[str, str], parameters: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every way ``overrides`` break the template's declarations; empty when CloudFormation accepts them."""
    errors: list[str] = []
    for name, value in overrides.items():
        spec = parameters.get(name)
        if spec is None:
            errors.append(f"{name} is not a parameter of the template")
            continue
        allowed = spec.get("AllowedValues")
        if allowed is not None and value not in [str(a) for a in allowed]:
            errors.append(f"{name}={value!r} is not one of {allowed}")
        if spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                errors.append(f"{name}={value!r} is not a number")
                continue
            if "MinValue" in spec and number < float(spec["MinValue"]):
                errors.append(f"{name}={value} is below MinValue {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                errors.append(f"{name}={value} is above MaxValue {spec['MaxValue']}")
        pattern = spec.get("AllowedPattern")
        if pattern is not None and not re.fullmatch(str(pattern), value):
            errors.append(f"{name}={value!r} does not match AllowedPattern {pattern}")
        if "MinLength" in spec and len(value) < int(spec["MinLength"]):
            errors.append(f"{name}={value!r} is shorter than MinLength {spec['MinLength']}")
        if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
            errors.append(f"{name}={value!r} is longer than MaxLength {spec['MaxLength']}")
    return errors


def _fit_constraints(plan: _Plan, parameters: Mapping[str, Mapping[str, Any]]) -> None:
    """Clamp numeric choices into the template's MinValue/MaxValue, saying so."""
    for name, value in list(plan.parameters.items()):
        spec = parameters.get(name, {})
        if spec.get("Type") != "Number":
            continue
        number = float(value)
        low = float(spec.get("MinValue", -math.inf))
        high = float(spec.get("MaxValue", math.inf))
        clamped = min(max(number, low), high)
        if clamped != number:
            plan.parameters[name] = str(int(clamped)) if clamped.is_integer() else str(clamped)
            plan.warnings.append(
                f"{name} {value} is outside the template's range [{low:g}, {high:g}];"
                f" using {plan.parameters[name]}"
            )
    # MaxWaitSeconds must stay at least MaxRuntimeSeconds after clamping (a SageMaker rule).
    if "MaxWaitSeconds" in plan.parameters and int(plan.parameters["MaxWaitSeconds"]) < int(
        plan.parameters["MaxRuntimeSeconds"]
    ):
        plan.parameters["MaxWaitSeconds"] = plan.parameters["MaxRuntimeSeconds"]


# --- samconfig.toml ------------------------------------------------------------------------------
_OVERRIDE = re.compile(r'([A-Za-z0-9]+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))')
NEW_ENVIRONMENT_DEPLOY = {
    "capabilities": "CAPABILITY_IAM CAPABILITY_AUTO_EXPAND",
    "confirm_changeset": True,
    "region": "us-east-1",
    "resolve_s3": True,
}


def parse_parameter_overrides(value: str | Sequence[str]) -> dict[str, str]:
    """``Key="value" Key2=value2`` (or a list of ``Key=value``) as a dict, as SAM CLI reads it."""
    items = [value] if isinstance(value, str) else list(value)
    result: dict[str, str] = {}
    for item in items:
        for match in _OVERRIDE.finditer(item):
            quoted, bare = match.group(2), match.group(3)
            result[match.group(1)] = quoted.replace('\\"', '"') if quoted is not None else bare
    return result


def format_parameter_overrides(overrides: Mapping[str, str]) -> str:
    """The string form SAM CLI writes: ``Key="value"`` pairs separated by spaces."""
    for name, value in overrides.items():
        if '"' in value or "\n" in value:
            raise ValueError(
                f"parameter {name} has a quote or newline, which samconfig cannot carry: {value!r}"
            )
    return " ".join(f'{name}="{value}"' for name, value in overrides.items())


def merge_samconfig(
    document: Mapping[str, Any],
    config_env: str,
    overrides: Mapping[str, str],
    *,
    stack_name: str | None = None,
) -> dict[str, Any]:
    """``document`` with ``overrides`` merged into ``config_env``'s deploy parameter_overrides.

    Other environments, other commands and the environment's other settings are kept; existing
    overrides the recommendation does not decide (e.g. ``NotificationEmail``) are kept too. A new
    environment gets the deploy settings ``sam deploy`` needs.
    """
    merged: dict[str, Any] = json.loads(json.dumps(document))  # deep copy of plain TOML data
    merged.setdefault("version", 0.1)
    environment = merged.setdefault(config_env, {})
    deploy = environment.setdefault("deploy", {}).setdefault("parameters", {})
    if not deploy:
        deploy |= {"stack_name": stack_name or f"defect-mlops-{config_env}", **NEW_ENVIRONMENT_DEPLOY}
    elif stack_name:
        deploy["stack_name"] = stack_name
    current = parse_parameter_overrides(deploy.get("parameter_overrides", ""))
    deploy["parameter_overrides"] = format_parameter_overrides(current | dict(overrides))
    return merged


def dumps_samconfig(document: Mapping[str, Any]) -> str:
    """TOML for samconfig's structure: top-level keys, then ``[env.command.parameters]`` tables."""
    lines: list[str] = []
    scalars = {k: v for k, v in document.items() if not isinstance(v, Mapping)}
    lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in scalars.items())
    _dump_tables(document, [], lines)
    return "\n".join(lines).strip() + "\n"


def _dump_tables(table: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    for key, value in table.items():
        if not isinstance(value, Mapping):
            continue
        child = [*path, key]
        leaves = {k: v for k, v in value.items() if not isinstance(v, Mapping)}
        if leaves or not value:
            lines.extend(["", "[" + ".".join(_toml_key(p) for p in child) + "]"])
            lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in leaves.items())
        _dump_tables(value, child, lines)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON's escapes are all valid in a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"samconfig cannot hold {type(value).__name__}: {value!r}")


def write_samconfig(
    path: Path, config_env: str, overrides: Mapping[str, str], *, stack_name: str | None = None
) -> None:
    """Merge ``overrides`` into ``path``'s ``config_env`` (creating the file if needed), atomically."""
    document = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    text = dumps_samconfig(merge_samconfig(document, config_env, overrides, stack_name=stack_name))
    tomllib.loads(text)  # never write a file SAM cannot read
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


# --- Output ----------------------------------------------------------------------------------------
def render_text(recommendation: Recommendation) -> str:
    """The human-readable answer."""
    lines: list[str] = []
    if not recommendation.supported:
        lines.extend(recommendation.warnings)
        if recommendation.alternatives:
            lines.append("What would fit:")
            lines.extend(f"  - {a}" for a in recommendation.alternatives)
        return "\n".join(lines) + "\n"
    lines.append("Recommendation")
    for choice in recommendation.choices:
        lines.append(f"  {choice.topic}: {choice.decision}")
        lines.append(f"      why: {choice.reason}")
        lines.append(f"      source: {choice.source}")
    cost = recommendation.cost
    if cost is not None:
        lines.append("")
        lines.append(f"Estimated cost ({cost.region}, prices checked {cost.price_table_checked})")
        for item in cost.items:
            lines.append(
                f"  {item.name:<36} {item.usd_per_month:>10,.2f} USD/month  ({item.note or item.unit})"
            )
        lines.append(f"  {'per run':<36} {cost.per_run_usd:>10,.2f} USD")
        lines.append(f"  {'per month':<36} {cost.monthly_usd:>10,.2f} USD ({cost.runs_per_month:g} runs)")
    if recommendation.alternatives:
        lines.append("")
        lines.append("Considered and not chosen")
        lines.extend(f"  - {a}" for a in recommendation.alternatives)
    if recommendation.warnings:
        lines.append("")
        lines.append("Warnings")
        lines.extend(f"  ! {w}" for w in recommendation.warnings)
    lines.append("")
    lines.append("Template parameter overrides")
    lines.extend(f"  {k}={v}" for k, v in recommendation.parameters.items())
    return "\n".join(lines) + "\n"


def load_requirements(profile: Path | None, flags: Mapping[str, Any]) -> Requirements:
    """Requirements from a YAML profile, with command-line flags taking precedence."""
    values: dict[str, Any] = {}
    if profile is not None:
        loaded = yaml.safe_load(profile.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{profile} must hold a mapping of requirement names to values")
        values |= {str(k).replace("-", "_"): v for k, v in loaded.items()}
    values |= {k: v for k, v in flags.items() if v is not None}
    return Requirements.model_validate(values)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlops_local recommend",
        description="Recommend AWS services and settings for this pipeline from your requirements.",
    )
    parser.add_argument("--profile", type=Path, help="YAML file of requirements (flags override it)")
    parser.add_argument("--task", help=f"{SUPPORTED_TASK} (others get what would fit instead)")
    parser.add_argument("--images-per-day", type=float)
    parser.add_argument("--images-total", type=int)
    parser.add_argument("--image-size", type=int, help="model input edge in pixels")
    parser.add_argument("--retrain", choices=list(RETRAIN_SCHEDULES))
    parser.add_argument("--latency", choices=["realtime", "batch", "both"])
    parser.add_argument("--requests-per-second", type=float)
    parser.add_argument("--monthly-budget-usd", type=float)
    parser.add_argument(
        "--interruption-tolerant",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="allow spot training",
    )
    parser.add_argument("--data-sources", type=int)
    parser.add_argument("--vpc-only", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--kms", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--vpc-subnet-ids", type=lambda s: [x for x in s.split(",") if x])
    parser.add_argument("--vpc-security-group-ids", type=lambda s: [x for x in s.split(",") if x])
    parser.add_argument(
        "--template", type=Path, default=DEFAULT_TEMPLATE, help="checked for parameter constraints"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--write-samconfig", type=Path, metavar="PATH", help="merge the overrides into this file"
    )
    parser.add_argument("--config-env", default="dev", help="samconfig environment to write (default dev)")
    parser.add_argument("--stack-name", help="stack_name for the samconfig environment")
    return parser


_REQUIREMENT_FLAGS = tuple(Requirements.model_fields)


def main(argv: list[str] | None = None) -> int:
    """Entry point.

    Exit status: 0 answered (and written when asked), 1 nothing written (unsupported task or
    overrides the template rejects), 2 invalid requirements.
    """
    args = _parser().parse_args(argv)
    flags = {name: getattr(args, name, None) for name in _REQUIREMENT_FLAGS}
    try:
        requirements = load_requirements(args.profile, flags)
    except (ValidationError, ValueError, OSError) as error:
        print(f"invalid requirements: {error}", file=sys.stderr)
        return 2
    template_parameters = load_template_parameters(args.template) if args.template.is_file() else None
    recommendation = recommend(requirements, template_parameters=template_parameters)
    if template_parameters is None:
        recommendation.warnings.append(
            f"{args.template} not found: overrides not checked against its constraints"
        )
    print(
        json.dumps(recommendation.model_dump(mode="json"), indent=2)
        if args.json
        else render_text(recommendation)
    )
    if args.write_samconfig is None:
        return 0
    if not recommendation.supported:
        print("nothing written: the task is not supported by this pipeline", file=sys.stderr)
        return 1
    violations = (
        check_overrides(recommendation.parameters, template_parameters or {}) if template_parameters else []
    )
    if violations:
        print(
            "nothing written: the overrides break template constraints: " + "; ".join(violations),
            file=sys.stderr,
        )
        return 1
    write_samconfig(
        args.write_samconfig, args.config_env, recommendation.parameters, stack_name=args.stack_name
    )
    print(f"wrote [{args.config_env}] to {args.write_samconfig}", file=sys.stderr)
    return 0


def _ceil_to(value: float, step: int) -> int:
    return int(math.ceil(value / step) * step)


if __name__ == "__main__":
    raise SystemExit(main())
