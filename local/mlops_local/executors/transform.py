"""SageMaker batch transform jobs, run locally with the model's own ``inference.py``.

Every object under ``TransformInput.DataSource.S3DataSource.S3Uri`` is one request (``SplitType``
None, the only mode image payloads need): it goes through ``input_fn`` / ``predict_fn`` /
``output_fn`` with the request's ``ContentType`` and ``TransformOutput.Accept``, and the answer is
written to ``<S3OutputPath>/<key relative to the input prefix>.out``, as SageMaker names outputs.
An object the model refuses is counted and listed (``LocalTransformSummary``) and gets no ``.out``;
it never fails the whole job, so one corrupt upload cannot block a night's batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_local.engine.jobs import model_container
from mlops_local.executors.base import ExecutionContext, JobResult, run_timed
from mlops_local.executors.s3_transfer import join_s3_uri, list_keys, split_s3_uri
from mlops_local.executors.serving import InvocationError, load_model_from_s3


def run_transform_job(request: Mapping[str, Any], ctx: ExecutionContext) -> JobResult:
    """Run one ``CreateTransformJob`` request; return what DescribeTransformJob shows."""
    # SageMaker bills the interval from TransformStartTime to TransformEndTime
    # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeTransformJob.html).
    return run_timed(
        _run_transform_job, request, ctx, start_field="TransformStartTime", end_field="TransformEndTime"
    )


def _run_transform_job(request: Mapping[str, Any], ctx: ExecutionContext) -> JobResult:
    job_name = request["TransformJobName"]
    model_data_url = model_container(ctx.client("sagemaker"), request["ModelName"])["ModelDataUrl"]
    try:
        handler = load_model_from_s3(ctx.s3, model_data_url, ctx.workdir)
    except Exception as error:
        # The model server's error goes to the job's log; SageMaker's FailureReason for a model
        # container that could not serve says only where to look (as reported in
        # https://github.com/aws/deep-learning-containers/issues/586).
        ctx.progress(f"{job_name}: cannot load {model_data_url}: {type(error).__name__}: {error}")
        return JobResult(status="Failed", failure_reason="AlgorithmError: See job logs for more information")

    transform_input = request["TransformInput"]
    input_uri = transform_input["DataSource"]["S3DataSource"]["S3Uri"]
    content_type = transform_input.get("ContentType", "application/json")
    output = request["TransformOutput"]
    accept = output.get("Accept", "application/json")
    input_bucket, input_prefix = split_s3_uri(input_uri)
    output_bucket, output_prefix = split_s3_uri(output["S3OutputPath"])

    succeeded = 0
    failed: list[dict[str, str]] = []
    keys = [key for key in list_keys(ctx.s3, input_uri) if not key.endswith("/")]
    ctx.progress(f"{job_name}: {len(keys)} objects with model {model_data_url}")
    for key in keys:
        body = ctx.s3.get_object(Bucket=input_bucket, Key=key)["Body"].read()
        try:
            payload, _ = handler.invoke(body, content_type, accept)
        except InvocationError as error:
            failed.append({"Key": key, "StatusCode": str(error.status_code), "Reason": error.reason})
            ctx.progress(f"{job_name}: {key}: {error}")
            continue
        relative = key[len(input_prefix) :].lstrip("/") or key.rsplit("/", 1)[-1]
        out_key = split_s3_uri(join_s3_uri(f"s3://{output_bucket}/{output_prefix}", f"{relative}.out"))[1]
        ctx.s3.put_object(Bucket=output_bucket, Key=out_key, Body=payload, ContentType=accept)
        succeeded += 1
    ctx.progress(f"{job_name}: {succeeded} transformed, {len(failed)} refused")
    return JobResult(
        status="Completed",
        describe_fields={
            "LocalTransformSummary": {"Objects": len(keys), "Succeeded": succeeded, "Failed": failed},
        },
    )
