"""The decision tables: what each requirement selects, why, and where the rule comes from.

The planner applies these tables in order; ``docs/choosing-services.md`` explains them. To change a
decision, change its table here, not the rule that reads it. Figures marked "planning assumption"
are estimates to be replaced by measured ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel


class Choice(BaseModel):
    """One decision, why it was made, and where the rule comes from."""

    topic: str
    decision: str
    reason: str
    source: str


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
SRC_ASSUMPTION = (
    "planning assumption in mlops_planning/decisions.py; replace with measured bench/results figures"
)

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
    # frequency: (expression, state, runs a month, TriggerMaxDelaySeconds): a stream of uploads that
    # never pauses for the quiet period trains at most once per maximum delay, matched to the schedule.
    "daily": ("cron(0 3 * * ? *)", "ENABLED", 365.0 / 12.0, 86_400),
    "weekly": ("cron(0 3 ? * MON *)", "ENABLED", 365.0 / 12.0 / 7.0, 604_800),
    "monthly": ("cron(0 3 1 * ? *)", "ENABLED", 1.0, 2_592_000),
    # Drift and uploads start runs; two a month is a planning assumption.
    "on_drift": ("cron(0 3 ? * MON *)", "DISABLED", 2.0, 604_800),
}
MONITOR_HOURLY = "cron(0 * ? * * *)"
MONITOR_DAILY = "cron(0 0 ? * * *)"
BATCH_DAILY = "cron(0 2 * * ? *)"
# Share of requests captured for monitoring, by traffic (enough samples per hour, small S3 bill).
CAPTURE_PERCENT_TIERS = ((5.0, 100), (50.0, 20), (math.inf, 10))
