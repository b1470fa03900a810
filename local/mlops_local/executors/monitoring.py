"""Model Monitor schedule executions, run locally with the project's local analyzer.

One execution of a data-quality schedule: the endpoint's capture files for the window are read from
S3 (where the endpoint's ``DataCaptureConfig`` puts them), the schedule's record preprocessor
(``RecordPreprocessorSourceUri``, else the checkout's ``monitoring/record_preprocessor.py``) turns
each record into feature rows, ``monitoring/local_analyzer.py`` compares them with the baseline
``statistics.json`` / ``constraints.json``, and the reports land where the built-in analyzer writes
them: ``<output S3Uri>/<endpoint>/<schedule>/<yyyy>/<mm>/<dd>/<hh>/``.

The window is the hour up to the execution (an hourly schedule on AWS analyses the previous hour);
the hour folders of the capture decide what is in it, as on AWS. The CloudWatch metrics the built-in
container would publish are returned in ``describe_fields["LocalMetricData"]`` as
``{"Namespace", "MetricData"}`` for the embedded AWS layer to publish.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mlops_local.executors.base import ExecutionContext, JobResult
from mlops_local.executors.s3_transfer import (
    download_object,
    download_prefix,
    join_s3_uri,
    upload_folder,
)
from mlops_local.project import flat_module

WINDOW = timedelta(hours=1)


def run_monitoring_execution(
    schedule: Mapping[str, Any], ctx: ExecutionContext, *, now: datetime | None = None
) -> JobResult:
    """Run one execution of a data-quality monitoring schedule (DescribeMonitoringSchedule's answer)."""
    analyzer = flat_module("local_analyzer", ctx.project_root)
    data_capture = flat_module("data_capture", ctx.project_root)
    schedule_name = schedule["MonitoringScheduleName"]
    definition = _job_definition(schedule, ctx)
    endpoint_name = definition["endpoint_name"] or schedule.get("EndpointName", "")
    end = now or datetime.now(UTC)
    start = end - WINDOW

    baseline_dir = ctx.workdir / "baseline"
    statistics = download_object(ctx.s3, definition["statistics_uri"], baseline_dir / "statistics.json")
    constraints = download_object(ctx.s3, definition["constraints_uri"], baseline_dir / "constraints.json")
    capture_root = _capture_uri(ctx, endpoint_name)
    capture_dir = ctx.workdir / "capture"
    download_prefix(ctx.s3, join_s3_uri(capture_root, endpoint_name) + "/", capture_dir)
    variant_dirs = sorted(path for path in capture_dir.iterdir() if path.is_dir())
    capture_files = [
        path for folder in variant_dirs for path in data_capture.window_files(folder, start, end)
    ]
    ctx.progress(f"{schedule_name}: {len(capture_files)} capture files of {endpoint_name} in the window")

    preprocessor = _preprocessor(definition["preprocessor_uri"], ctx)
    output_dir = ctx.workdir / "output"
    kwargs: dict[str, Any] = {"preprocessor": preprocessor} if preprocessor is not None else {}
    result = analyzer.analyze_capture_files(
        capture_files,
        baseline_statistics=statistics,
        baseline_constraints=constraints,
        output_dir=output_dir,
        endpoint_name=endpoint_name,
        schedule_name=schedule_name,
        timestamp=end,
        **kwargs,
    )
    report_uri = join_s3_uri(
        definition["output_uri"], endpoint_name, schedule_name, end.strftime("%Y/%m/%d/%H")
    )
    upload_folder(ctx.s3, output_dir, report_uri)
    ctx.progress(f"{schedule_name}: {result.exit_message}")
    describe: dict[str, Any] = {
        "ExitMessage": result.exit_message,
        "MonitoringExecutionStatus": result.status,
        "LocalReportUri": report_uri,
        "LocalMetricData": {"Namespace": analyzer.METRICS_NAMESPACE, "MetricData": result.metrics},
        "LocalRecords": {"Read": result.records_read, "Skipped": result.records_skipped},
    }
    if result.status == "Failed":
        return JobResult(status="Failed", failure_reason=result.failure_reason, describe_fields=describe)
    return JobResult(status="Completed", describe_fields=describe)


def _job_definition(schedule: Mapping[str, Any], ctx: ExecutionContext) -> dict[str, str]:
    """The parts of the schedule's job definition an execution needs, inline or by name."""
    config = schedule["MonitoringScheduleConfig"]
    inline = config.get("MonitoringJobDefinition")
    if inline is not None:
        baseline = inline["BaselineConfig"]
        inputs = inline["MonitoringInputs"][0]
        outputs = inline["MonitoringOutputConfig"]["MonitoringOutputs"]
        app = inline["MonitoringAppSpecification"]
    else:
        named = ctx.client("sagemaker").describe_data_quality_job_definition(
            JobDefinitionName=config["MonitoringJobDefinitionName"]
        )
        baseline = named["DataQualityBaselineConfig"]
        inputs = named["DataQualityJobInput"]
        outputs = named["DataQualityJobOutputConfig"]["MonitoringOutputs"]
        app = named["DataQualityAppSpecification"]
    return {
        "statistics_uri": baseline["StatisticsResource"]["S3Uri"],
        "constraints_uri": baseline["ConstraintsResource"]["S3Uri"],
        "endpoint_name": inputs.get("EndpointInput", {}).get("EndpointName", ""),
        "output_uri": outputs[0]["S3Output"]["S3Uri"],
        "preprocessor_uri": app.get("RecordPreprocessorSourceUri", ""),
    }


def _capture_uri(ctx: ExecutionContext, endpoint_name: str) -> str:
    """Where the endpoint captures: DescribeEndpoint's DataCaptureConfig, else its endpoint config's."""
    sagemaker = ctx.client("sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    destination = endpoint.get("DataCaptureConfig", {}).get("DestinationS3Uri")
    if not destination:
        config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        destination = config["DataCaptureConfig"]["DestinationS3Uri"]
    return str(destination)


def _preprocessor(uri: str, ctx: ExecutionContext) -> Callable[[Any], Any] | None:
    """The schedule's record preprocessor from S3, in a module of its own; None for the default."""
    if not uri:
        return None
    path = download_object(ctx.s3, uri, ctx.workdir / "preprocessor" / Path(uri).name)
    name = "mlops_preprocessor_" + hashlib.sha256(uri.encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import the record preprocessor {uri}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Callable[[Any], Any] = module.preprocess_handler
    return handler
