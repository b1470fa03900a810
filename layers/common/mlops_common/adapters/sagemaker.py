"""SageMaker calls: model registry, endpoints, training and processing jobs, monitoring schedules."""

from __future__ import annotations

from typing import Any

from mlops_common.adapters import aws

# SageMaker reports a missing resource as ValidationException ("Could not find ...") or
# ResourceNotFound, depending on the API.
_NOT_FOUND_CODES = {"ValidationException", "ResourceNotFound"}


def _is_not_found(exc: BaseException) -> bool:
    code = aws.error_code(exc)
    if code == "ResourceNotFound":
        return True
    message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", "")).lower()
    return code in _NOT_FOUND_CODES and ("could not find" in message or "not found" in message)


class SageMaker:
    """Implements ``ports.ChampionLookup``, ``Endpoints``, ``MonitoringSchedules``, ``ProcessingJobs``,
    ``TrainingJobs``."""

    def __init__(self, sagemaker_client: Any | None = None) -> None:
        self._client = sagemaker_client

    @property
    def client(self) -> Any:
        return self._client or aws.client("sagemaker")

    # --- registry -------------------------------------------------------------------------

    def latest_approved_package(self, group_name: str) -> dict[str, Any] | None:
        """DescribeModelPackage of the newest Approved package in the group, or None."""
        try:
            response = self.client.list_model_packages(
                ModelPackageGroupName=group_name,
                ModelApprovalStatus="Approved",
                SortBy="CreationTime",
                SortOrder="Descending",
                MaxResults=1,
            )
        except Exception as exc:
            if _is_not_found(exc):
                return None
            raise
        summaries = response.get("ModelPackageSummaryList", [])
        if not summaries:
            return None
        described: dict[str, Any] = self.client.describe_model_package(
            ModelPackageName=summaries[0]["ModelPackageArn"]
        )
        return described

    # --- endpoints -----------------------------------------------------------------------

    def describe_endpoint(self, endpoint_name: str) -> dict[str, Any] | None:
        try:
            described: dict[str, Any] = self.client.describe_endpoint(EndpointName=endpoint_name)
        except Exception as exc:
            if _is_not_found(exc):
                return None
            raise
        return described

    def endpoint_config_exists(self, config_name: str) -> bool:
        try:
            self.client.describe_endpoint_config(EndpointConfigName=config_name)
        except Exception as exc:
            if _is_not_found(exc):
                return False
            raise
        return True

    def describe_endpoint_config(self, config_name: str) -> dict[str, Any] | None:
        try:
            described: dict[str, Any] = self.client.describe_endpoint_config(EndpointConfigName=config_name)
        except Exception as exc:
            if _is_not_found(exc):
                return None
            raise
        return described

    def create_endpoint_config(self, request: dict[str, Any]) -> None:
        self.client.create_endpoint_config(**request)

    def create_endpoint(self, endpoint_name: str, config_name: str, tags: list[dict[str, str]]) -> None:
        self.client.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name, Tags=tags)

    def update_endpoint(
        self, endpoint_name: str, config_name: str, deployment_config: dict[str, Any]
    ) -> None:
        # RetainAllVariantProperties is left at its default, false: the new config states every
        # retainable property (DesiredInstanceCount, DesiredWeight, DataCaptureConfig) from the
        # current settings, and retaining them would keep the first deploy's count and capture
        # forever. Listing all three in ExcludeRetainedVariantProperties would mean the same, only
        # longer. With autoscaling on, the new config itself carries the count the policy holds the
        # variant at (``ScalingRange.fleet_for_update``), which is what retention would protect.
        # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html
        self.client.update_endpoint(
            EndpointName=endpoint_name,
            EndpointConfigName=config_name,
            DeploymentConfig=deployment_config,
        )

    # --- training and tuning jobs -------------------------------------------------------

    def failed_training_jobs(self, tuning_job_name: str) -> list[dict[str, Any]]:
        # Each summary carries its FailureReason
        # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_HyperParameterTrainingJobSummary.html);
        # a page holds at most 100 (MaxResults, default 10).
        pages = self.client.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job").paginate(
            HyperParameterTuningJobName=tuning_job_name,
            StatusEquals="Failed",
            PaginationConfig={"PageSize": 100},
        )
        return [summary for page in pages for summary in page.get("TrainingJobSummaries", [])]

    def describe_training_job(self, job_name: str) -> dict[str, Any]:
        described: dict[str, Any] = self.client.describe_training_job(TrainingJobName=job_name)
        return described

    # --- processing jobs and monitoring --------------------------------------------------

    def describe_processing_job(self, job_name: str) -> dict[str, Any]:
        described: dict[str, Any] = self.client.describe_processing_job(ProcessingJobName=job_name)
        return described

    def monitoring_schedule_exists(self, schedule_name: str) -> bool:
        try:
            self.client.describe_monitoring_schedule(MonitoringScheduleName=schedule_name)
        except Exception as exc:
            if _is_not_found(exc):
                return False
            raise
        return True

    def create_monitoring_schedule(
        self, schedule_name: str, config: dict[str, Any], tags: list[dict[str, str]]
    ) -> None:
        self.client.create_monitoring_schedule(
            MonitoringScheduleName=schedule_name, MonitoringScheduleConfig=config, Tags=tags
        )

    def update_monitoring_schedule(self, schedule_name: str, config: dict[str, Any]) -> None:
        self.client.update_monitoring_schedule(
            MonitoringScheduleName=schedule_name, MonitoringScheduleConfig=config
        )
