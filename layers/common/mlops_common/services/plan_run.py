"""The PlanRun task: settle the run's configuration once, before any job starts."""

from __future__ import annotations

from mlops_common.domain import run_plan
from mlops_common.models import PlanRunInput, PlanRunOutput
from mlops_common.observability import logger
from mlops_common.settings import PlanRunSettings


def plan_run(request: PlanRunInput, *, settings: PlanRunSettings) -> PlanRunOutput:
    """The resolved ``config`` and ``network``; ``InvalidConfiguration`` names what is wrong."""
    planned = run_plan.plan_run(
        request, data_bucket=settings.data_bucket, artifacts_bucket=settings.artifacts_bucket
    )
    config = planned.config
    logger.info(
        "run planned",
        overrides=sorted((request.input.get("overrides") or {}).keys()),
        training_instance_type=config["training_instance_type"],
        images=config["images"],
        model_architecture=config["model_architecture"],
        channels=[channel["ChannelName"] for channel in config["training_channels"]],
    )
    return planned
