"""Model Monitor schedule executions, started on demand in the local runtime.

On AWS a monitoring schedule starts a processing job every period; when it ends, SageMaker emits a
``SageMaker Processing Job State Change`` event that the template's ``MonitoringViolationRule``
routes to ``handle_drift``, and the analyzer publishes its CloudWatch metrics. Locally nothing
waits an hour: ``run_monitoring_now`` runs one execution of the schedule with the local analyzer
(``mlops_local.executors.monitoring``) and then does what AWS does after it: publish the metrics and
emit the event, through the same rules and handler.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlops_local.engine.template import ACCOUNT_ID, REGION

if TYPE_CHECKING:
    from mlops_local.runtime import LocalRuntime


@dataclass
class MonitoringRun:
    """One monitoring execution: its processing job name, end state and what the analyzer found."""

    processing_job_name: str
    status: str
    exit_message: str
    report_uri: str | None
    distances: dict[str, float]


def processing_job_name(schedule_name: str, now: datetime) -> str:
    """A name shaped like the ones Model Monitor gives its executions (<= 63 characters)."""
    digest = hashlib.sha256(f"{schedule_name}{now.isoformat()}".encode()).hexdigest()[:24]
    return f"model-monitoring-{now:%Y%m%d%H%M}-{digest}"


def run_monitoring_now(runtime: LocalRuntime, schedule_name: str) -> MonitoringRun:
    """Run one execution of ``schedule_name`` now, publish its metrics and emit its state change."""
    schedule = runtime.client("sagemaker").describe_monitoring_schedule(MonitoringScheduleName=schedule_name)
    job_name = processing_job_name(schedule_name, datetime.now(UTC))
    if runtime.jobs is None:
        raise RuntimeError("the runtime is not started")
    # The hour's capture is in S3 before its monitoring run reads it.
    runtime.endpoint_host.flush_captures()
    # A job like any other: its own workdir, progress in `status`, the executor in a worker thread.
    record = runtime.jobs.start("monitoring", job_name, schedule)
    record.done.wait()
    fields: dict[str, Any] = dict(record.describe_fields)
    metric_data = fields.get("LocalMetricData") or {}
    if metric_data.get("MetricData"):
        runtime.client("cloudwatch").put_metric_data(**metric_data)
    report_uri = fields.get("LocalReportUri")
    exit_message = fields.get("ExitMessage") or record.failure_reason or record.status
    detail: dict[str, Any] = {
        "ProcessingJobName": job_name,
        "ProcessingJobStatus": record.status,
        "ExitMessage": exit_message,
        "MonitoringScheduleArn": schedule["MonitoringScheduleArn"],
    }
    if report_uri:
        # Where the analyzer wrote constraint_violations.json, as the real event carries it.
        detail["ProcessingOutputConfig"] = {
            "Outputs": [
                {
                    "OutputName": "result",
                    "S3Output": {
                        "S3Uri": report_uri,
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                    "AppManaged": False,
                }
            ]
        }
    runtime.emit_event(
        "aws.sagemaker",
        "SageMaker Processing Job State Change",
        detail,
        [f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:processing-job/{job_name}"],
    )
    return MonitoringRun(job_name, record.status, exit_message, report_uri, drift_distances(metric_data))


def drift_distances(metric_data: dict[str, Any]) -> dict[str, float]:
    """Per-feature distance to the baseline, from the analyzer's ``feature_baseline_drift_*`` metrics."""
    prefix = "feature_baseline_drift_"
    return {
        datum["MetricName"].removeprefix(prefix): float(datum["Value"])
        for datum in metric_data.get("MetricData", [])
        if datum.get("MetricName", "").startswith(prefix)
    }
