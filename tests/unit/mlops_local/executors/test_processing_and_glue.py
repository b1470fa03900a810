"""Processing jobs and Glue job runs: inputs in, container paths remapped, outputs out, errors kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlops_local.executors.glue import run_job_run
from mlops_local.executors.processing import PathMap, container_command, run_processing_job

BUCKET = "artifacts"
STAND_INS = Path(__file__).resolve().parent / "stand_ins"
REPO_ROOT = Path(__file__).resolve().parents[4]


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


def test_processing_failure_reports_the_script_error(s3, make_context):
    s3.put_object(Bucket=BUCKET, Key="datasets/v1/test/poison.parquet", Body=b"x")

    result = run_processing_job(processing_request(s3), make_context())

    assert result.status == "Failed"
    assert result.failure_reason == "AlgorithmError: ValueError: test split holds a poisoned shard"


GLUE_MODULES = ("glue/object_layout.py", "glue/image_preparation.py", "training/image_decoding.py",
                "training/image_features.py")  # fmt: skip


def glue_job(s3: Any) -> dict[str, Any]:
    """GetJob's Job for the real prepare_dataset script and the modules it ships with, deployed to S3."""
    for path in ("glue/prepare_dataset.py", *GLUE_MODULES):
        s3.upload_file(str(REPO_ROOT / path), BUCKET, f"code/abc/{path}")
    extra_py_files = ",".join(f"s3://{BUCKET}/code/abc/{path}" for path in GLUE_MODULES)
    return {
        "Name": "prepare-dataset",
        "Command": {"Name": "glueetl", "ScriptLocation": f"s3://{BUCKET}/code/abc/glue/prepare_dataset.py"},
        "DefaultArguments": {"--output_path": f"s3://{BUCKET}/datasets", "--image_size": "32",
                             "--min_images_per_class": "2", "--job-bookmark-option": "job-bookmark-disable",
                             "--extra-py-files": extra_py_files},
        "Timeout": 10,
    }  # fmt: skip


@pytest.mark.slow
def test_glue_job_run_writes_dataset_with_aws_keys(s3, make_context, tmp_path):
    from mlops_local.synthetic_images import generate_dataset

    generated = generate_dataset(tmp_path / "incoming", images_per_class=4, image_size=48, seed=3)
    for path in generated.all_files:
        s3.upload_file(str(path), BUCKET, f"incoming/{path.relative_to(tmp_path / 'incoming').as_posix()}")
    arguments = {
        "--source_paths": f"s3://{BUCKET}/incoming/",
        "--dataset_version": "manual-20260101T0000-abcd1234",
    }

    result = run_job_run(glue_job(s3), arguments, make_context())

    assert result.status == "Completed", result.failure_reason
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="datasets/")["Contents"]}
    prefix = "datasets/manual-20260101T0000-abcd1234"
    assert f"{prefix}/manifest.json" in keys
    assert any(key.startswith(f"{prefix}/train/") and key.endswith(".parquet") for key in keys)
    assert not any(key.endswith(".crc") for key in keys)
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{prefix}/manifest.json")["Body"].read())
    uploaded = [f"incoming/{p.relative_to(tmp_path / 'incoming').as_posix()}" for p in generated.all_files]
    # Every object is keyed as on AWS (its S3 key), not by the local copy the job read.
    accounted = [row["key"] for row in manifest["objects"]]
    for listing in ("duplicates.jsonl", "quarantine.jsonl"):
        body = s3.get_object(Bucket=BUCKET, Key=f"{prefix}/{listing}")["Body"].read().decode()
        accounted += [json.loads(line)["key"] for line in body.splitlines()]
    assert sorted(accounted) == sorted(uploaded)


def test_glue_failure_reports_the_script_error(s3, make_context):
    arguments = {"--source_paths": f"s3://{BUCKET}/nothing-here/", "--dataset_version": "bad/version"}

    result = run_job_run(glue_job(s3), arguments, make_context())

    assert result.status == "Failed"
    assert "dataset_version" in (result.failure_reason or "")
