"""Processing jobs: inputs in, container paths remapped, outputs out, script errors kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mlops_local.engine.jobs import JobLog
from mlops_local.executors.processing import PathMap, container_command, run_processing_job

from .conftest import BUCKET, STAND_INS


def processing_request(s3: Any) -> dict[str, Any]:
    s3.upload_file(str(STAND_INS / "processing" / "evaluate.py"), BUCKET, "code/abc/evaluate.py")
    return {
        "ProcessingJobName": "evaluate-1",
        "ProcessingInputs": [
            {"InputName": "code", "S3Input": {"S3Uri": f"s3://{BUCKET}/code/abc/evaluate.py",
             "LocalPath": "/opt/ml/processing/input/code", "S3DataType": "S3Prefix", "S3InputMode": "File"}},
            {"InputName": "test", "S3Input": {"S3Uri": f"s3://{BUCKET}/datasets/v1/test/",
             "LocalPath": "/opt/ml/processing/test", "S3DataType": "S3Prefix", "S3InputMode": "File"}},
        ],
        "ProcessingOutputConfig": {"Outputs": [
            {"OutputName": "evaluation", "S3Output": {"S3Uri": f"s3://{BUCKET}/evaluation/exec-1",
             "LocalPath": "/opt/ml/processing/evaluation", "S3UploadMode": "EndOfJob"}},
        ]},
        "AppSpecification": {
            "ImageUri": "pytorch-training",
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/evaluate.py"],
            "ContainerArguments": ["--test-data", "/opt/ml/processing/test",
                                   "--evaluation-dir=/opt/ml/processing/evaluation"],
        },
    }  # fmt: skip


def test_container_paths_are_remapped_and_python_replaced(tmp_path):
    paths = PathMap(tmp_path)

    command = container_command(
        ["python3", "/opt/ml/processing/code/x.py"], ["--out=/opt/ml/processing/o"], paths
    )

    assert command[1] == str(tmp_path / "opt/ml/processing/code/x.py")
    assert command[2] == f"--out={tmp_path / 'opt/ml/processing/o'}"
    assert Path(command[0]).name.startswith("python")


def test_processing_path_outside_container_root_is_refused(tmp_path):
    with pytest.raises(ValueError, match="escapes"):
        PathMap(tmp_path).local("/opt/ml/processing/../../etc")


def test_processing_job_uploads_its_outputs(s3, make_context):
    s3.put_object(Bucket=BUCKET, Key="datasets/v1/test/part-0.parquet", Body=b"x")

    result = run_processing_job(processing_request(s3), make_context())

    assert result.status == "Completed"
    body = s3.get_object(Bucket=BUCKET, Key="evaluation/exec-1/evaluation.json")["Body"].read()
    assert json.loads(body) == {"test_files": ["part-0.parquet"]}


def test_processing_failure_says_where_to_look_and_exits_with_the_script_error(s3, make_context):
    s3.put_object(Bucket=BUCKET, Key="datasets/v1/test/poison.parquet", Body=b"x")

    result = run_processing_job(processing_request(s3), make_context())

    assert result.status == "Failed"
    assert result.failure_reason == "AlgorithmError: See job logs for more information"
    assert result.describe_fields["ExitMessage"] == "ValueError: test split holds a poisoned shard"


def test_processing_job_logs_the_scripts_traceback(s3, make_context, tmp_path):
    s3.put_object(Bucket=BUCKET, Key="datasets/v1/test/poison.parquet", Body=b"x")
    log = JobLog(tmp_path / "job.log")

    run_processing_job(processing_request(s3), make_context(log=log))
    log.close()

    lines = [line[13:] for line in (tmp_path / "job.log").read_text().splitlines()]
    assert "Traceback (most recent call last):" in lines
    assert lines[-1] == "ValueError: test split holds a poisoned shard"


@pytest.mark.parametrize("shard", ["part-0.parquet", "poison.parquet"])
def test_a_processing_job_reports_the_interval_it_is_billed_for(s3, make_context, shard):
    s3.put_object(Bucket=BUCKET, Key=f"datasets/v1/test/{shard}", Body=b"x")
    before = datetime.now(UTC)

    fields = run_processing_job(processing_request(s3), make_context()).describe_fields

    assert before <= fields["ProcessingStartTime"] < fields["ProcessingEndTime"] <= datetime.now(UTC)
