"""From requirements to a plan: the decision tables applied in order, then the budget and the template.

``recommend`` is the whole answer: a choice per service (Glue workers, training instance, spot,
tuning budget, endpoint, monitoring, schedules) with its reason and source, the template parameter
overrides, their monthly cost from ``cost_model``, and warnings where requirements conflict. Each
rule below reads a table of ``decisions`` and writes parameters and a ``Choice`` into the ``Plan``;
``budget`` then trades quality for cost when a budget is set.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from mlops_planning import budget
from mlops_planning.cost_model import (
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
from mlops_planning.decisions import (
    BATCH_DAILY,
    CAPTURE_PERCENT_TIERS,
    DAILY_TUNING_JOBS,
    DEFAULT_EPOCHS,
    ENDPOINT_TIERS,
    GLUE_IMAGES_PER_DPU_SECOND,
    GLUE_STARTUP_SECONDS,
    GLUE_TIERS,
    HA_MIN_RPS,
    MONITOR_DAILY,
    MONITOR_HOURLY,
    PROCESSING_IMAGES_PER_SECOND,
    PROCESSING_TIERS,
    RETRAIN_SCHEDULES,
    SERVERLESS_MAX_RPS,
    SRC_BATCH,
    SRC_CAPTURE,
    SRC_GLUE_PYTHON_SHELL,
    SRC_GLUE_WORKERS,
    SRC_HOSTING_HA,
    SRC_INSTANCE_SIZE,
    SRC_KMS,
    SRC_MONITOR,
    SRC_SCHEDULES,
    SRC_SERVERLESS,
    SRC_SPOT,
    SRC_TUNING,
    SRC_VPC,
    TARGET_UTILISATION,
    TRAIN_SHARE,
    TRAINING_IMAGES_PER_SECOND,
    TRAINING_STARTUP_SECONDS,
    TRAINING_TIERS,
    TUNING_TIERS,
    UNSUPPORTED_TASKS,
    Choice,
)
from mlops_planning.requirements import SUPPORTED_TASK, Requirements, normalise_task
from mlops_planning.template_parameters import check_overrides

# Where scripts/fetch_pretrained_weights.py puts torchvision's published ResNet-18 ImageNet weights.
RESNET18_WEIGHTS_KEY = "pretrained/resnet18-f37072fd.pth"


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


@dataclass
class Plan:
    """The mutable working state while rules are applied and the budget is fitted."""

    requirements: Requirements
    prices: PriceTable
    parameters: dict[str, str] = field(default_factory=dict)
    choices: dict[str, Choice] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    alternatives: list[str] = field(default_factory=list)
    runs_per_month: float = 4.0
    endpoint_min_instances: int = 1
    endpoint_mode: Literal["realtime", "none"] = "realtime"
    epochs: int = DEFAULT_EPOCHS
    train_share: float = TRAIN_SHARE
    trigger_max_delay_max: int | None = None

    def choose(self, topic: str, decision: str, reason: str, source: str) -> None:
        """Record (or replace) the decision on ``topic``."""
        self.choices[topic] = Choice(topic=topic, decision=decision, reason=reason, source=source)

    def set_tuning(self, jobs: int, parallel: int, reason: str) -> None:
        """Tuning with ``jobs`` trials, ``parallel`` at a time; 0 jobs turns tuning off."""
        if jobs:
            self.parameters |= {
                "EnableTuning": "true",
                "TuningMaxJobs": str(jobs),
                "TuningMaxParallelJobs": str(parallel),
            }
            decision = f"{jobs} trials, {parallel} in parallel"
        else:
            self.parameters |= {"EnableTuning": "false", "TuningMaxJobs": "1", "TuningMaxParallelJobs": "1"}
            decision = "off (one training job per run)"
        self.choose("Hyperparameter tuning", decision, reason, SRC_TUNING)

    def estimate(self) -> tuple[CostBreakdown, JobSizes]:
        """The monthly cost of the parameters chosen so far, and the job sizes it assumed."""
        sizes = _job_sizes(self)
        settings = PipelineSettings.from_parameters(self.parameters)
        return estimate(settings, sizes, runs_per_month=self.runs_per_month, prices=self.prices), sizes


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
    plan = Plan(requirements, prices)
    if template_parameters:
        _read_template_defaults(plan, template_parameters)
    rules = (_glue, _training, _evaluation, _spot, _tuning, _endpoint, _monitoring, _schedules, _compliance)
    for rule in rules:
        rule(plan)
    if template_parameters:
        _fit_constraints(plan, template_parameters)
    cost, sizes = plan.estimate()
    within_budget = None
    if requirements.monthly_budget_usd is not None:
        cost, sizes, within_budget = budget.fit_budget(plan, cost, sizes)
        if not within_budget and plan.endpoint_mode == "realtime":
            _price_batch_only(plan)
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


def _price_batch_only(plan: Plan) -> None:
    """When real-time latency breaks the budget, say what the same retraining costs batch-only."""
    batch_only = recommend(
        plan.requirements.model_copy(update={"latency": "batch", "monthly_budget_usd": None}),
        prices=plan.prices,
    )
    if batch_only.cost is not None:
        plan.alternatives.append(
            "Batch-only inference (nightly batch transform) would cost about"
            f" {batch_only.cost.monthly_usd:,.2f} USD a month with the same retraining."
        )


def _read_template_defaults(plan: Plan, parameters: Mapping[str, Mapping[str, Any]]) -> None:
    """Epochs, split fractions and the trigger's maximum delay ceiling as the template sets them."""
    defaults = {name: spec.get("Default") for name, spec in parameters.items()}
    epochs = defaults.get("TrainingEpochs")
    if epochs is not None:
        plan.epochs = int(epochs)
    fractions = [defaults.get("ValidationFraction"), defaults.get("TestFraction")]
    if all(f is not None for f in fractions):
        plan.train_share = 1.0 - sum(float(str(f)) for f in fractions)
    max_delay = parameters.get("TriggerMaxDelaySeconds", {})
    if "MaxValue" in max_delay:
        plan.trigger_max_delay_max = int(max_delay["MaxValue"])


# --- Rules -----------------------------------------------------------------------------------------
def _glue(plan: Plan) -> None:
    images = plan.requirements.images_total
    tier = next(t for t in GLUE_TIERS if images <= t.max_images)
    plan.parameters["GlueWorkerType"] = tier.worker_type
    plan.parameters["GlueNumberOfWorkers"] = str(tier.workers)
    reason = f"{images:,} images: {tier.reason}."
    if images <= GLUE_TIERS[0].max_images:
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


def _train_images(plan: Plan) -> int:
    return int(plan.requirements.images_total * plan.train_share)


def _training_seconds(plan: Plan, instance_type: str) -> float:
    # Throughput scales with pixels per image, up to 8x for small images (then data loading limits).
    speedup = min((224.0 / plan.requirements.image_size) ** 2, 8.0)
    per_second = TRAINING_IMAGES_PER_SECOND[instance_type] * speedup
    return TRAINING_STARTUP_SECONDS + plan.epochs * _train_images(plan) / per_second


def _is_gpu(instance_type: str) -> bool:
    """An NVIDIA GPU family (ml.g*, ml.p*): the pipeline then runs the containers' GPU builds."""
    family = instance_type.split(".")[1] if instance_type.count(".") == 2 else ""
    return family[:1] in ("g", "p") and family[1:2].isdigit()


def _training(plan: Plan) -> None:
    train_images = _train_images(plan)
    tier = next(t for t in TRAINING_TIERS if train_images <= t.max_train_images)
    plan.parameters["TrainingInstanceType"] = tier.instance_type
    plan.parameters["ImageSize"] = str(plan.requirements.image_size)
    gpu = _is_gpu(tier.instance_type)
    if gpu:
        # Fine-tuning: ImageNet features need a gentler learning rate and fewer epochs than training
        # from scratch; train.py gives the backbone a tenth of the head's rate (docs/training.md).
        plan.parameters |= {
            "ModelArchitecture": "resnet18",
            "PretrainedWeightsKey": RESNET18_WEIGHTS_KEY,
            "TuningLearningRateRange": "0.0001,0.001",
            "TuningBatchSizes": "32,64",
        }
        plan.warnings.append(
            "Upload the backbone's ImageNet weights once before the first run (network isolation keeps"
            " training jobs offline): python scripts/fetch_pretrained_weights.py --arch resnet18"
            " --bucket <ArtifactsBucket> --kms-key-id <PipelineKey>; it prints the PretrainedWeightsKey"
            f" ({RESNET18_WEIGHTS_KEY})."
        )
    else:
        plan.parameters["ModelArchitecture"] = "small_cnn"
    plan.choose(
        "Model",
        plan.parameters["ModelArchitecture"],
        "Fine-tuning ResNet-18 from ImageNet weights (delivered through the training job's pretrained"
        " channel from PretrainedWeightsKey) earns its cost once a GPU trains; the GPU build of the"
        " PyTorch container follows the instance type."
        if gpu
        else "Few images on a CPU: the small CNN trains in minutes and overfits less; ResNet-18 fine-tuning"
        " pays off on a GPU.",
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


def _evaluation(plan: Plan) -> None:
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


def _spot(plan: Plan) -> None:
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


def _tuning(plan: Plan) -> None:
    train_images = _train_images(plan)
    tier = next(t for t in TUNING_TIERS if train_images <= t.max_train_images)
    jobs, parallel, reason = tier.max_jobs, tier.parallel_jobs, tier.reason
    if jobs and plan.requirements.retrain == "daily" and jobs > DAILY_TUNING_JOBS:
        jobs, parallel = DAILY_TUNING_JOBS, 2
        reason = f"daily retraining repeats the search every day: {jobs} trials, 2 at a time"
    plan.set_tuning(jobs, parallel, f"{train_images:,} training images: {reason}.")


def _endpoint(plan: Plan) -> None:
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
    if _is_gpu(tier.instance_type):
        # The registered model package holds one serving image (GPU build here), which batch
        # transform serves too: the transform must run on a GPU instance as well.
        plan.parameters["TransformInstanceType"] = tier.instance_type
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


def _monitoring(plan: Plan) -> None:
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


def _schedules(plan: Plan) -> None:
    req = plan.requirements
    expression, state, runs, max_delay = RETRAIN_SCHEDULES[req.retrain]
    if plan.trigger_max_delay_max is not None and max_delay > plan.trigger_max_delay_max:
        max_delay = plan.trigger_max_delay_max
        upload_runs = 365.0 / 12.0 * 86_400 / max_delay if req.images_per_day > 0 else 0.0
        if upload_runs > runs:
            plan.warnings.append(
                f"Uploads arrive every day and, without a quiet period, start a run at least once per"
                f" TriggerMaxDelaySeconds, whose template maximum is {max_delay}: about"
                f" {upload_runs:.0f} runs a month, not the {runs:.1f} of {req.retrain} retraining. The"
                f" cost counts {upload_runs:.0f}; raising TriggerMaxDelaySeconds' MaxValue in"
                " template.yaml would let uploads follow the schedule."
            )
            runs = upload_runs
    plan.runs_per_month = runs
    plan.parameters |= {
        "RetrainScheduleExpression": expression,
        "RetrainScheduleState": state,
        "TriggerMaxDelaySeconds": str(max_delay),
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
    capped = max_delay < RETRAIN_SCHEDULES[req.retrain][3]
    plan.choose(
        "Retraining schedule",
        f"{req.retrain}: {expression} ({state})",
        f"About {runs:.1f} runs a month. A steady stream of uploads starts at most one run per"
        f" TriggerMaxDelaySeconds ({max_delay})"
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


def _compliance(plan: Plan) -> None:
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


# --- Cost -----------------------------------------------------------------------------------------
def _job_sizes(plan: Plan) -> JobSizes:
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


# --- Template constraints -------------------------------------------------------------------------
def _fit_constraints(plan: Plan, parameters: Mapping[str, Mapping[str, Any]]) -> None:
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


def _ceil_to(value: float, step: int) -> int:
    return int(math.ceil(value / step) * step)
