"""``ListTrainingJobsForHyperParameterTuningJob``: the trials a tuning job ran.

As the API pages, filters and sorts them
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ListTrainingJobsForHyperParameterTuningJob.html):
``StatusEquals``; ``SortBy`` ``Name`` (the default), ``CreationTime``, ``Status`` or
``FinalObjectiveMetricValue`` (which leaves out the jobs without an objective value); ``SortOrder``
(``Ascending`` by default); ``MaxResults`` (10 by default) with a ``NextToken`` for the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

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
        return ActionResult(_page(response_self, summaries))

    return list_trials


_SORT_KEYS: Final[dict[str, Callable[[dict[str, Any]], Any]]] = {
    "Name": lambda summary: summary["TrainingJobName"],
    "CreationTime": lambda summary: (summary["CreationTime"], summary["TrainingJobName"]),
    "Status": lambda summary: (summary["TrainingJobStatus"], summary["TrainingJobName"]),
    "FinalObjectiveMetricValue": lambda summary: (
        summary["FinalHyperParameterTuningJobObjectiveMetric"]["Value"],
        summary["TrainingJobName"],
    ),
}
_DEFAULT_MAX_RESULTS: Final = 10


def _page(response_self: SageMakerResponse, summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """The request's page of ``summaries``: filtered by status, sorted, at most ``MaxResults``."""
    status = response_self._get_param("StatusEquals")
    if status:
        summaries = [s for s in summaries if s["TrainingJobStatus"] == status]
    sort_by = response_self._get_param("SortBy") or "Name"
    if sort_by == "FinalObjectiveMetricValue":
        summaries = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
    descending = response_self._get_param("SortOrder") == "Descending"
    summaries = sorted(summaries, key=_SORT_KEYS[sort_by], reverse=descending)
    start = int(response_self._get_param("NextToken") or 0)
    size = int(response_self._get_param("MaxResults") or _DEFAULT_MAX_RESULTS)
    page: dict[str, Any] = {"TrainingJobSummaries": summaries[start : start + size]}
    if start + size < len(summaries):
        page["NextToken"] = str(start + size)
    return page


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
    aws_does=(
        "lists the tuning job's training jobs with their tuned values, objective metric and "
        "FailureReason, filtered by StatusEquals, sorted and paged"
    ),
    patches=_patches,
)
