"""Glue job runs: the real prepare_dataset script from S3, AWS keys kept, script errors kept."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlops_local.engine.jobs import JobLog
from mlops_local.executors.glue import run_job_run
from tests.conftest import REPO_ROOT

from .conftest import BUCKET

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


ECHO_SCRIPT = """
import sys
print("arguments: " + " ".join(sys.argv[1:]), flush=True)
print("py4j: the driver warned", file=sys.stderr, flush=True)
raise SystemExit("AnalysisException: path does not exist")
"""


def test_glue_job_run_logs_its_script_output_under_the_api_run_id(s3, make_context, tmp_path):
    s3.put_object(Bucket=BUCKET, Key="code/echo.py", Body=ECHO_SCRIPT.encode())
    job = {"Name": "prepare-dataset", "Command": {"ScriptLocation": f"s3://{BUCKET}/code/echo.py"}}
    log = JobLog(tmp_path / "job.log")

    result = run_job_run(job, {}, make_context(log=log, job_id="jr_0123abcd"))
    log.close()

    text = (tmp_path / "job.log").read_text()
    assert result.status == "Failed"
    assert "arguments: --JOB_NAME prepare-dataset --JOB_RUN_ID jr_0123abcd" in text
    assert "py4j: the driver warned" in text
    assert "AnalysisException: path does not exist" in text


MISSING_PATH_SCRIPT = """
import sys
source = sys.argv[sys.argv.index("--source_paths") + 1]
raise SystemExit(f"AnalysisException: [PATH_NOT_FOUND] Path does not exist: file:{source}/line-a.")
"""


def test_glue_error_message_names_s3_not_the_local_copy(s3, make_context):
    s3.put_object(Bucket=BUCKET, Key="code/missing.py", Body=MISSING_PATH_SCRIPT.encode())
    job = {"Name": "prepare-dataset", "Command": {"ScriptLocation": f"s3://{BUCKET}/code/missing.py"}}

    result = run_job_run(job, {"--source_paths": f"s3://{BUCKET}/incoming"}, make_context())

    assert result.describe_fields["ErrorMessage"] == (
        f"AnalysisException: [PATH_NOT_FOUND] Path does not exist: s3://{BUCKET}/incoming/line-a."
    )
