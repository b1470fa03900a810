"""The job code under SageMaker's own toolkits, as the pipeline's containers run it.

Training: ``train.py`` is started by the ``train`` entry point of sagemaker-training, the way the
default training image (AWS's PyTorch Deep Learning Container) starts it: that image sets
``SAGEMAKER_TRAINING_MODULE=sagemaker_pytorch_container.training:main``, so the toolkit hands over
to sagemaker-pytorch-training, which runs the user script and keeps its stderr for the failure
file. The job's folder tree stands for ``/opt/ml`` (``SAGEMAKER_BASE_DIR``, read by
sagemaker_training/environment.py), with the configuration files SageMaker writes for the
pipeline's training job request (statemachines/training_pipeline.asl.json, ``PrepareTraining``):
its hyperparameters, channels and content types, and the code bundle built by
scripts/package_code.py in the ``code`` channel, where ``sagemaker_submit_directory`` points.

Serving: the model directory training wrote, packed and unpacked as SageMaker does with
``model.tar.gz``, is served by sagemaker-pytorch-inference's ``HandlerService`` in a worker process
of its own (tests/contracts/torchserve_worker.py stands in for TorchServe), with the serving
container's environment from ``RegisterModel`` and the content types the pipeline sends: the
model package's supported types with batch transform's ``Accept``, and endpoint requests that
send only a ``Content-Type``.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from data_capture import InferenceRecord, capture_line
from model_artifact import load_model
from package_code import collect_bundle
from PIL import Image
from record_preprocessor import preprocess_handler
from train import SERVING_ENTRY_POINT, SOURCE_DIR, serving_modules

from mlops_common.domain.deployment import data_capture_config
from mlops_common.domain.run_plan import RunConfig, training_channels
from mlops_common.domain.training_failures import failure_kind
from mlops_local.synthetic_images import make_image, write_training_shards
from tests.asl import evaluate, jsonata, request
from tests.conftest import REPO_ROOT

# The toolkits run in the tests' subprocesses; a missing one fails here, never skips.
_TOOLKITS = ("sagemaker_training", "sagemaker_pytorch_container", "sagemaker_pytorch_serving_container")
if _missing := [name for name in _TOOLKITS if importlib.util.find_spec(name) is None]:
    raise ImportError(f"the contract tests need the toolkits extra (pip install '.[toolkits]'): {_missing}")

pytestmark = pytest.mark.slow  # trains a model and starts three Python processes that import torch

CONTAINER_ROOT = PurePosixPath("/opt/ml")
JOB_NAME = "contract-train-1"
INSTANCE_TYPE = "ml.m5.xlarge"  # the template's TrainingInstanceType default
# Set by the PyTorch training containers
# (https://github.com/aws/sagemaker-pytorch-training-toolkit, test/container/*/Dockerfile.dlc.cpu).
PYTORCH_TRAINING_MODULE = "sagemaker_pytorch_container.training:main"
WORKER = Path(__file__).with_name("torchserve_worker.py")
LABELS = ["crack", "dent", "ok", "scratch"]


def _states(name: str) -> dict[str, Any]:
    return json.loads((REPO_ROOT / "statemachines" / name).read_text(encoding="utf-8"))["States"]


def _find_state(states: Mapping[str, Any], resource: str) -> dict[str, Any]:
    for state in states.values():
        if resource in state.get("Resource", ""):
            return dict(state)
        for branch in state.get("Branches", []):
            try:
                return _find_state(branch["States"], resource)
            except LookupError:
                continue
    raise LookupError(resource)


TRAINING_STATES = _states("training_pipeline.asl.json")
PREPARE_TRAINING = TRAINING_STATES["PrepareTraining"]["Assign"]
TRAINING_DEFINITION = PREPARE_TRAINING["training"]
MODEL_PACKAGE = request(TRAINING_STATES["RegisterModel"])["InferenceSpecification"]
BATCH_ACCEPT = request(_find_state(_states("batch_inference.asl.json"), "createTransformJob"))[
    "TransformOutput"
]["Accept"]

# The run's settings PrepareTraining's hyperparameters come from (the template's defaults, for one
# epoch), and the execution input's overrides.hyperparameters, merged over them: one thread, as the
# machine running the tests is shared.
CONFIG_HYPERPARAMETERS = {
    "epochs": "1",
    "model": "small_cnn",
    "objective_metric": "validation:macro_f1",
    "normal_class": "ok",
}
RUN_CONFIG = {
    "epochs": 1,
    "model_architecture": "small_cnn",
    "objective_metric": "validation:macro_f1",
    "normal_class": "ok",
}
OVERRIDES = {"num_threads": "1"}


def in_tree(base: Path, container_path: str) -> Path:
    """Where ``container_path`` (under /opt/ml) lies in the tree that stands for /opt/ml."""
    return base / PurePosixPath(container_path).relative_to(CONTAINER_ROOT)


def pipeline_hyperparameters(base: Path, overrides: Mapping[str, str]) -> dict[str, str]:
    """The training job's ``HyperParameters`` as the pipeline sends them, paths moved into ``base``."""
    config = {**RUN_CONFIG, "hyperparameters": {**OVERRIDES, **overrides}}
    hyperparameters: dict[str, str] = evaluate(
        jsonata(PREPARE_TRAINING["hyperparameters"]) or "", {"plan": {"config": config}}
    )
    expected = {name: value for name, value in CONFIG_HYPERPARAMETERS.items() if name not in overrides}
    assert expected.items() <= hyperparameters.items(), "PrepareTraining computes other hyperparameters now"
    submit = hyperparameters["sagemaker_submit_directory"]
    hyperparameters["sagemaker_submit_directory"] = str(in_tree(base, submit))
    return hyperparameters


def input_data_config() -> dict[str, dict[str, str]]:
    """``inputdataconfig.json`` for the pipeline's channels, in the layout SageMaker writes
    (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html)."""
    mode = TRAINING_DEFINITION["AlgorithmSpecification"]["TrainingInputMode"]
    # The channels are the planner's (PlanRun): the splits and the code of a small_cnn run.
    assert TRAINING_DEFINITION["InputDataConfig"] == "{% $plan.config.training_channels %}"
    run = RunConfig.model_construct(
        model_architecture="small_cnn", hyperparameters={}, pretrained_weights_key=""
    )
    channels = training_channels(
        run, dataset="s3://data/datasets/v/", code_uri="s3://a/c.tar.gz", artifacts_bucket="a"
    )
    config = {}
    for channel in channels:
        entry = {
            "TrainingInputMode": mode,
            "S3DistributionType": channel["DataSource"]["S3DataSource"]["S3DataDistributionType"],
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
        }
        if "ContentType" in channel:
            entry["ContentType"] = channel["ContentType"]
        config[channel["ChannelName"]] = entry
    return config


def resource_config() -> dict[str, Any]:
    """``resourceconfig.json`` of a one-instance job (same page as ``input_data_config``)."""
    group = "homogeneousCluster"
    return {
        "current_host": "algo-1",
        "current_instance_type": INSTANCE_TYPE,
        "current_group_name": group,
        "hosts": ["algo-1"],
        "instance_groups": [
            {"instance_group_name": group, "instance_type": INSTANCE_TYPE, "hosts": ["algo-1"]}
        ],
        "network_interface_name": "eth0",
    }


def write_training_job(base: Path, dataset: Mapping[str, Path], overrides: Mapping[str, str]) -> None:
    """Lay out /opt/ml as SageMaker does before it starts the training container."""
    hyperparameters = pipeline_hyperparameters(base, overrides)
    config = base / "input" / "config"
    config.mkdir(parents=True)
    # SageMaker writes the request's HyperParameters map (string to string) as it is.
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters), encoding="utf-8")
    (config / "inputdataconfig.json").write_text(json.dumps(input_data_config()), encoding="utf-8")
    (config / "resourceconfig.json").write_text(json.dumps(resource_config()), encoding="utf-8")
    bundle = Path(hyperparameters["sagemaker_submit_directory"])
    code_channel = bundle.parent.name
    data_channels = set(input_data_config()) - {code_channel}
    assert data_channels == {"train", "validation"}, "the pipeline's data channels changed"
    for channel in data_channels:
        # The Glue job's Parquet shards, as the channel's S3 prefix is downloaded.
        shutil.copytree(dataset[channel], base / "input" / "data" / channel)
    bundle.parent.mkdir(parents=True)
    bundle.write_bytes(collect_bundle(REPO_ROOT).files["sourcedir.tar.gz"])
    # The model and output folders exist when the container starts; the toolkit writes
    # output/success or output/failure there
    # (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-output.html).
    (base / "model").mkdir()
    (base / "output" / "data").mkdir(parents=True)


def run_training_toolkit(base: Path) -> subprocess.CompletedProcess[str]:
    """Run the toolkit's ``train`` entry point, as SageMaker starts the training image."""
    train = shutil.which("train", path=str(Path(sys.executable).parent))
    assert train is not None, "sagemaker-training's `train` console script is not installed"
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    environment |= {
        "SAGEMAKER_BASE_DIR": str(base),
        "SAGEMAKER_TRAINING_MODULE": PYTORCH_TRAINING_MODULE,
        # Set by SageMaker in every training container (the toolkit reads it too:
        # sagemaker_training/environment.py, Environment.job_name); train.py names the model after it.
        "TRAINING_JOB_NAME": JOB_NAME,
        # The toolkits wait (up to 15 minutes) until every host name resolves; "algo-1" resolves only
        # on SageMaker's network. This switch skips that wait and nothing else
        # (sagemaker_training/entry_point.py, sagemaker_pytorch_container/training.py).
        "SM_STUDIO_LOCAL_MODE": "true",
        # SageMaker mounts CheckpointConfig.LocalPath (/opt/ml/checkpoints, train.py's default); the
        # toolkit knows nothing of checkpoints and SAGEMAKER_BASE_DIR does not move them.
        "SM_CHECKPOINT_DIR": str(in_tree(base, PREPARE_TRAINING["checkpoints"]["train"]["LocalPath"])),
    }
    return subprocess.run(
        [train], env=environment, cwd=base, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny dataset in the Glue job's format (10 photos per class)."""
    return write_training_shards(tmp_path_factory.mktemp("dataset"), images_per_class=10)


@pytest.fixture(scope="module")
def training_job(
    dataset: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The /opt/ml tree of a training job the toolkit ran, and the toolkit's process."""
    base = tmp_path_factory.mktemp("training") / "opt-ml"
    write_training_job(base, dataset, {})
    return base, run_training_toolkit(base)


def test_the_toolkit_runs_train_py_from_the_bundle_and_reports_success(training_job):
    base, process = training_job

    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    assert (base / "output" / "success").is_file()
    assert not (base / "output" / "failure").exists()
    # The script ran from the code bundle the toolkit unpacked, not from the checkout.
    assert (base / "code" / "train.py").read_bytes() == (SOURCE_DIR / "train.py").read_bytes()


def test_train_py_writes_the_model_artefacts_to_the_toolkits_model_dir(training_job):
    base, _ = training_job
    model_dir = base / "model"

    assert {"model.pt", "metrics.json", "diagnostics.json", "code"} <= {p.name for p in model_dir.iterdir()}
    expected_code = {module.name for module in serving_modules(SOURCE_DIR / SERVING_ENTRY_POINT)}
    assert {p.name for p in (model_dir / "code").iterdir()} == expected_code
    model = load_model(model_dir)
    assert (model.model_version, model.labels, model.arch) == (JOB_NAME, LABELS, "small_cnn")
    # The pipeline's hyperparameters reached the script through the toolkit.
    assert model.hyperparameters["epochs"] == 1
    assert model.hyperparameters["num_threads"] == 1
    metrics = json.loads((model_dir / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["epochs_run"] == 1
    assert {p.name for p in (base / "output" / "data").iterdir()} == {"history.json", "training_curve.csv"}


def test_every_metric_definition_matches_the_toolkits_output_and_the_last_value_is_the_kept_epochs(
    training_job,
):
    base, process = training_job
    output = process.stdout + process.stderr
    metrics = json.loads((base / "model" / "metrics.json").read_text(encoding="utf-8"))

    definitions = TRAINING_DEFINITION["AlgorithmSpecification"]["MetricDefinitions"]
    unmatched = [item["Name"] for item in definitions if not re.search(item["Regex"], output)]
    assert unmatched == []
    objective = next(d for d in definitions if d["Name"] == CONFIG_HYPERPARAMETERS["objective_metric"])
    # SageMaker reports the last value a definition matched as the job's final metric.
    assert float(re.findall(objective["Regex"], output)[-1]) == pytest.approx(metrics["macro_f1"], abs=1e-4)


def test_a_failing_script_leaves_its_error_in_the_failure_file_and_the_toolkit_exits_non_zero(
    dataset, tmp_path
):
    base = tmp_path / "opt-ml"
    # An override train.py refuses (PrepareTraining passes overrides through unchecked).
    write_training_job(base, dataset, {"dropout": "1.5"})

    process = run_training_toolkit(base)

    assert process.returncode != 0
    assert not (base / "output" / "success").exists()
    assert list((base / "model").iterdir()) == []
    failure = (base / "output" / "failure").read_text(encoding="utf-8")
    # SageMaker reports the first 1024 characters of this file as the job's FailureReason
    # (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-output.html).
    reason = failure[:1024]
    assert reason.startswith("ExecuteUserScriptError:\nExitCode 1\nErrorMessage ")
    # The toolkit reads stderr in chunks as they arrive and joins fragments with "\n ": the exception's
    # type and its message, written one after the other, may arrive in two reads and stand apart.
    assert re.search(r"ValueError[\s:]*invalid hyperparameters: dropout must be in \[0, 1\)", reason)
    assert re.search(r'\nCommand ".*train\.py .*--dropout 1\.5', reason)
    # The on-demand fallback reads it as the job's own failure, not a capacity error.
    assert failure_kind("AlgorithmError: " + reason) == "own"


# Serving ---------------------------------------------------------------------------------------


def _encoded(img: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt)
    return buffer.getvalue()


PHOTO = make_image("scratch", size=96, seed=3)
JPEG = _encoded(PHOTO, "JPEG")
PNG = _encoded(PHOTO, "PNG")
# A body of each content type the model package declares, and how many images it holds.
BODIES = {
    "image/jpeg": (JPEG, 1),
    "image/png": (PNG, 1),
    "application/json": (
        json.dumps({"images": [base64.b64encode(data).decode() for data in (JPEG, PNG)]}).encode(),
        2,
    ),
}
assert set(MODEL_PACKAGE["SupportedContentTypes"]) == set(BODIES), "the model package's content types changed"


def _request(content_type: str, accept: str | None) -> dict[str, Any]:
    headers = {"Content-Type": content_type} | ({"Accept": accept} if accept is not None else {})
    body, images = BODIES.get(content_type, (b"1,2,3\n", 0))
    return {"headers": headers, "body": body, "images": images}


# Batch transform sends each object with the job's ContentType and TransformOutput's Accept; the
# pipeline's endpoint clients (tests/e2e, the local runtime's traffic) send only a Content-Type.
REQUESTS = {
    **{f"batch {ct}": _request(ct, BATCH_ACCEPT) for ct in MODEL_PACKAGE["SupportedContentTypes"]},
    "endpoint image/png without Accept": _request("image/png", None),
    "endpoint image/jpeg accepting */*": _request("image/jpeg", "*/*"),
    "unsupported content type": _request("text/csv", BATCH_ACCEPT),
    "unsupported Accept": _request("image/png", "text/csv"),
}
SERVED = [name for name, request in REQUESTS.items() if request["images"] and "unsupported" not in name]


@pytest.fixture(scope="module")
def serving_container(training_job, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The serving container's /opt/ml: the training's model dir packed as model.tar.gz and unpacked."""
    training_base, process = training_job
    assert process.returncode == 0, "training failed; see the training tests"
    base = tmp_path_factory.mktemp("serving") / "opt-ml"
    archive = base.parent / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as packed:
        packed.add(training_base / "model", arcname=".")
    (base / "model").mkdir(parents=True)
    with tarfile.open(archive, "r:gz") as packed:
        packed.extractall(base / "model", filter="data")
    return base


@pytest.fixture(scope="module")
def served(serving_container: Path) -> dict[str, Any]:
    """Every request of ``REQUESTS`` through the toolkit's handler service, in one worker process."""
    base = serving_container
    requests_file = base.parent / "requests.json"
    responses_file = base.parent / "responses.json"
    requests_file.write_text(
        json.dumps({
            "model_dir": str(base / "model"),
            "requests": [
                {"headers": r["headers"], "body_base64": base64.b64encode(r["body"]).decode()}
                for r in REQUESTS.values()
            ],
        }),
        encoding="utf-8",
    )  # fmt: skip
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    # The model's container Environment as the model package defines it, paths moved into ``base``.
    [container] = MODEL_PACKAGE["Containers"]
    environment |= {
        name: str(in_tree(base, value)) if value.startswith(str(CONTAINER_ROOT)) else value
        for name, value in container["Environment"].items()
    }
    environment |= {
        "SAGEMAKER_BASE_DIR": str(base),
        # The serving container puts /opt/ml/model/code on the workers' path and nothing else of the
        # model (sagemaker_pytorch_serving_container/torchserve.py, _set_python_path).
        "PYTHONPATH": str(base / "model" / "code"),
    }
    process = subprocess.run(
        [sys.executable, str(WORKER), str(requests_file), str(responses_file)],
        env=environment,
        cwd=base,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    document = json.loads(responses_file.read_text(encoding="utf-8"))
    return {"module_file": document["module_file"], **dict(zip(REQUESTS, document["responses"], strict=True))}


def test_the_handler_service_imports_the_serving_code_packed_with_the_model(served, serving_container):
    assert Path(served["module_file"]) == serving_container / "model" / "code" / "inference.py"


@pytest.mark.parametrize("name", SERVED)
def test_the_pipelines_requests_get_json_predictions_its_clients_parse(served, name):
    request, response = REQUESTS[name], served[name]

    assert (response["status"], response["content_type"]) == (200, "application/json")
    assert response["content_type"] in MODEL_PACKAGE["SupportedResponseMIMETypes"]
    document = json.loads(response["body"])
    assert document["model_version"] == JOB_NAME
    assert len(document["predictions"]) == request["images"]
    for prediction in document["predictions"]:
        assert prediction["label"] in LABELS
        assert set(prediction["probabilities"]) == set(LABELS)
    # Data capture keeps a response of this type inline as JSON, and Model Monitor's record
    # preprocessor finds one row of features per image in it.
    capture = data_capture_config("bucket", 100, "")["CaptureContentTypeHeader"]
    assert response["content_type"] in capture["JsonContentTypes"]
    line = capture_line(
        request_body=request["body"],
        request_content_type=request["headers"]["Content-Type"],
        response_body=response["body"].encode(),
        response_content_type=response["content_type"],
        inference_time=datetime(2026, 12, 1, tzinfo=UTC),
        event_id=name,
    )
    rows = preprocess_handler(InferenceRecord.from_dict(json.loads(line)))
    assert [row["predicted_class"] for row in rows] == [
        LABELS.index(prediction["label"]) for prediction in document["predictions"]
    ]


@pytest.mark.parametrize(
    ("name", "status", "words"),
    [
        ("unsupported content type", 415, "unsupported content type 'text/csv'"),
        ("unsupported Accept", 406, "cannot answer with 'text/csv'"),
    ],
)
def test_a_request_the_handler_refuses_gets_its_status_from_the_toolkit(served, name, status, words):
    response = served[name]

    assert response["status"] == status
    assert words in response["phrase"]
    assert response["body"].startswith(response["phrase"])
