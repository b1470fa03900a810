"""Once the endpoint serves the new config: its data-quality monitoring schedule and its autoscaling."""

from __future__ import annotations

from typing import Any, Literal

from mlops_common.domain.cost_tags import cost_allocation_tags
from mlops_common.domain.deployment import monitoring_schedule_name
from mlops_common.models import MonitoringInput, MonitoringOutput
from mlops_common.ports import MonitoringSchedules, ScalableTargets
from mlops_common.services.autoscaling import ensure_autoscaling
from mlops_common.settings import MonitoringSettings

_ENDPOINT_INPUT_PATH = "/opt/ml/processing/input/endpoint"
_OUTPUT_PATH = "/opt/ml/processing/output"


def monitoring_schedule_config(request: MonitoringInput, settings: MonitoringSettings) -> dict[str, Any]:
    """The ``MonitoringScheduleConfig`` for the built-in analyzer with the image preprocessor."""
    baseline = request.baseline_uri.rstrip("/")
    output_config: dict[str, Any] = {
        "MonitoringOutputs": [
            {
                "S3Output": {
                    "S3Uri": f"s3://{settings.artifacts_bucket}/monitoring/reports/{request.endpoint_name}",
                    "LocalPath": _OUTPUT_PATH,
                    "S3UploadMode": "EndOfJob",
                }
            }
        ]
    }
    cluster: dict[str, Any] = {
        "InstanceCount": 1,
        "InstanceType": settings.monitoring_instance_type,
        "VolumeSizeInGB": 20,
    }
    if settings.kms_key_arn:
        output_config["KmsKeyId"] = settings.kms_key_arn
        cluster["VolumeKmsKeyId"] = settings.kms_key_arn
    return {
        "ScheduleConfig": {"ScheduleExpression": settings.monitoring_schedule_expression},
        "MonitoringType": "DataQuality",
        "MonitoringJobDefinition": {
            "BaselineConfig": {
                "ConstraintsResource": {"S3Uri": f"{baseline}/constraints.json"},
                "StatisticsResource": {"S3Uri": f"{baseline}/statistics.json"},
            },
            "MonitoringInputs": [
                {
                    "EndpointInput": {
                        "EndpointName": request.endpoint_name,
                        "LocalPath": _ENDPOINT_INPUT_PATH,
                        "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                }
            ],
            "MonitoringOutputConfig": output_config,
            "MonitoringResources": {"ClusterConfig": cluster},
            "MonitoringAppSpecification": {
                "ImageUri": settings.monitor_image_uri,
                "RecordPreprocessorSourceUri": settings.record_preprocessor_uri,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "Environment": {
                "publish_cloudwatch_metrics": "Enabled",
                "model_version": request.model_version,
            },
            "RoleArn": settings.sagemaker_role_arn,
        },
    }


def ensure_monitoring(
    request: MonitoringInput,
    *,
    sagemaker: MonitoringSchedules,
    scaling: ScalableTargets,
    settings: MonitoringSettings,
) -> MonitoringOutput:
    """Point the schedule at the new baseline (create it the first time), then register autoscaling.

    This step runs after CheckEndpointStatus saw the endpoint InService on the new config: the first
    moment the new variant can be registered as a scalable target, also after a deploy that had to
    deregister it (``services.autoscaling``).
    """
    name = monitoring_schedule_name(request.endpoint_name)
    config = monitoring_schedule_config(request, settings)
    if sagemaker.monitoring_schedule_exists(name):
        sagemaker.update_monitoring_schedule(name, config)
        action: Literal["create", "update"] = "update"
    else:
        # The schedule outlives this run: tagged by project and environment, not by execution.
        sagemaker.create_monitoring_schedule(name, config, cost_allocation_tags(settings.environment))
        action = "create"
    autoscaling = ensure_autoscaling(request.endpoint_name, settings.scaling, scaling=scaling)
    return MonitoringOutput(schedule_name=name, action=action, autoscaling=autoscaling)
