"""``ListTrainingJobsForHyperParameterTuningJob``: the trials a tuning job ran."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ResourceNotFound
from moto.sagemaker.responses import SageMakerResponse

from mlops_local.engine.emulation.registry import Emulation, LocalServices
from mlops_local.engine.jobs import JobLifecycle
from mlops_local.engine.patching import Patches, replace
from mlops_local.engine.template import ACCOUNT_ID, REGION


def _list_tuning_trials(jobs: JobLifecycle) -> Callable[..., Any]:
    def list_trials(response_self: SageMakerResponse) -> Any:
        tuning_name = response_self._get_param("HyperParameterTuningJobName")
        tuning = jobs.get("tuning", tuning_name)
        if tuning is None:
            raise ResourceNotFound(
                message=f"Amazon SageMaker can't find a tuning job with name {tuning_name}"
            )
        config = tuning.request["HyperParameterTuningJobConfig"]
        objective = config["HyperParameterTuningJobObjective"]
        tuned = {spec["Name"] for ranges in config.get("ParameterRanges", {}).values() for spec in ranges}
        summaries = []
        for record in jobs.records("training"):
            if not record.name.startswith(f"{tuning_name}-"):
                continue
            metrics = record.describe_fields.get("FinalMetricDataList", [])
            value = next((m["Value"] for m in metrics if m["MetricName"] == objective["MetricName"]), None)
            summary: dict[str, Any] = {
                "TrainingJobName": record.name,
                "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:training-job/{record.name}",
                "TuningJobName": tuning_name,
                "CreationTime": record.started_at,
                "TrainingStartTime": record.started_at,
                "TrainingJobStatus": record.status,
                "TunedHyperParameters": {
                    k: v for k, v in record.request.get("HyperParameters", {}).items() if k in tuned
                },
                "ObjectiveStatus": "Succeeded" if value is not None else "Failed",
            }
            if record.ended_at is not None:
                summary["TrainingEndTime"] = record.ended_at
            if value is not None:
                summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
                    "Type": objective["Type"],
                    "MetricName": objective["MetricName"],
                    "Value": value,
                }
            if record.failure_reason:
                summary["FailureReason"] = record.failure_reason
            summaries.append(summary)
        return ActionResult({"TrainingJobSummaries": sorted(summaries, key=lambda s: s["TrainingJobName"])})

    return list_trials


def _patches(services: LocalServices) -> Patches:
    yield replace(
        SageMakerResponse,
        "list_training_jobs_for_hyper_parameter_tuning_job",
        _list_tuning_trials(services.jobs),
        create=True,
    )


EMULATION = Emulation(
    name="sagemaker_tuning_trials",
    moto_does="has no ListTrainingJobsForHyperParameterTuningJob (NotImplementedError)",
    aws_does="lists the tuning job's training jobs with their tuned values and objective metric",
    patches=_patches,
)
