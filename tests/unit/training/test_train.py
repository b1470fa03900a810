"""The training entry point: outputs, metric lines, accuracy, and spot-safe resume."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import diagnostics
import numpy as np
import pytest
import torch
import train
from checkpointing import CHECKPOINT_FILE, EXIT_TERMINATED, TerminationRequest, load_checkpoint
from classification_metrics import classification_report
from defect_model import predict_probabilities
from hyperparameters import Hyperparameters
from model_artifact import load_model
from parquet_dataset import load_split

TRAINING_DIR = Path(train.__file__).resolve().parent
METRIC_REGEXES = {
    name: re.compile(rf"{re.escape(name)}=([0-9.]+);")
    for name in ("train:loss", "validation:loss", "validation:accuracy", "validation:macro_f1",
                 "validation:min_defect_recall")
}  # fmt: skip

pytestmark = pytest.mark.slow


def without_timing(history: list[dict[str, float]]) -> list[dict[str, float]]:
    return [{key: value for key, value in entry.items() if key != "seconds"} for entry in history]


def approx_history(history: list[dict[str, float]]) -> list:
    """The history without wall-clock times, compared with a float tolerance."""
    return [pytest.approx(entry) for entry in without_timing(history)]


def test_short_training_run_reaches_the_accuracy_bar_on_the_test_split(trained_model_dir, small_dataset):
    model = load_model(trained_model_dir)
    test = load_split(small_dataset["test"])

    probabilities = predict_probabilities(model.network, test.images, model.mean, model.std)
    report = classification_report(
        test.labels, [model.labels[i] for i in probabilities.argmax(axis=1)], model.labels, "ok"
    )

    assert report["accuracy"] >= 0.9
    assert report["min_defect_recall"] >= 0.8


def test_default_hyperparameters_meet_the_bar_on_the_default_synthetic_dataset(
    tmp_path, job_environment, dataset_writer
):
    """The bar the defaults are tuned for: accuracy and every defect recall >= 0.95 on the test split."""
    dataset = dataset_writer(tmp_path / "dataset", images_per_class=200)

    assert train.main(["--num_threads", "1"], job_environment(dataset, tmp_path / "job")) == 0

    model = load_model(tmp_path / "job" / "model")
    test = load_split(dataset["test"])
    probabilities = predict_probabilities(model.network, test.images, model.mean, model.std)
    predicted = [model.labels[i] for i in probabilities.argmax(axis=1)]
    report = classification_report(test.labels, predicted, model.labels, "ok")
    assert report["accuracy"] >= 0.95
    assert report["min_defect_recall"] >= 0.95


def test_model_file_holds_the_contract_keys(trained_model_dir):
    saved = torch.load(trained_model_dir / "model.pt", weights_only=True)

    assert set(saved) == {
        "state_dict", "arch", "labels", "normal_class", "image_size", "mean", "std", "model_version",
        "hyperparameters",
    }  # fmt: skip
    assert saved["labels"] == ["crack", "dent", "ok", "scratch"]
    assert (saved["arch"], saved["image_size"], saved["model_version"]) == ("small_cnn", 64, "unit-test-job")


def test_metrics_file_reports_the_best_epoch_on_validation(trained_model_dir):
    metrics = json.loads((trained_model_dir / "metrics.json").read_text())

    best = next(entry for entry in metrics["history"] if entry["epoch"] == metrics["best_epoch"])
    assert metrics["labels"] == ["crack", "dent", "ok", "scratch"]
    assert metrics["accuracy"] == best["accuracy"]
    assert metrics["macro_f1"] == max(entry["macro_f1"] for entry in metrics["history"])
    assert set(metrics["per_class"]["dent"]) == {"precision", "recall", "f1", "support"}
    assert np.array(metrics["confusion_matrix"]).shape == (4, 4)


def test_diagnostics_file_judges_the_run_and_its_kept_epoch(trained_model_dir, small_dataset):
    metrics = json.loads((trained_model_dir / "metrics.json").read_text())
    document = json.loads((trained_model_dir / "diagnostics.json").read_text())

    assert document["status"] in {diagnostics.OK, diagnostics.ISSUES_FOUND}
    assert list(document["checks"]) == list(diagnostics.CHECKS)
    assert document["issues"] == [
        f"{name}: {check['reason']}"
        for name, check in document["checks"].items()
        if check["status"] == diagnostics.ISSUES_FOUND
    ]
    assert document["best_epoch"] == metrics["best_epoch"]
    assert [entry["epoch"] for entry in document["epochs"]] == [
        entry["epoch"] for entry in metrics["history"]
    ]
    assert [entry["train_loss"] for entry in document["epochs"]] == [
        e["train_loss"] for e in metrics["history"]
    ]
    train_labels = load_split(small_dataset["train"]).labels
    assert document["class_counts"] == {label: train_labels.count(label) for label in metrics["labels"]}
    first = document["epochs"][0]
    assert first["learning_rate"] == 0.002  # the rate epoch 1 trained with, before the schedule moved
    assert 0 < first["gradient_norm"] <= first["gradient_norm_max"]
    assert 0 <= first["train_accuracy"] <= 1
    assert first["nonfinite_gradient_steps"] == 0


def test_metric_lines_carry_the_diagnostics_and_the_last_one_the_verdict(
    small_dataset, tmp_path, job_environment, capsys
):
    env = job_environment(small_dataset, tmp_path)

    assert train.main(["--num_threads", "1", "--epochs", "2", "--batch_size", "32"], env) == 0

    lines = [line for line in capsys.readouterr().out.splitlines() if "epoch=" in line]
    document = json.loads((Path(env["SM_MODEL_DIR"]) / "diagnostics.json").read_text())
    assert [line.split(";")[0] for line in lines] == [
        "epoch=1",
        "epoch=2",
        f"best_epoch={document['best_epoch']}",
    ]
    for line in lines:
        assert re.search(r"diagnostics:gradient_norm=([0-9.eE+-]+);", line)
        assert re.search(r"diagnostics:issues=([0-9]+);", line)
    flags = dict(re.findall(r"diagnostics:(\w+)=([01]);", lines[-1]))
    assert {name: flags[name] for name in diagnostics.CHECKS} == {
        name: str(int(check["status"] == diagnostics.ISSUES_FOUND))
        for name, check in document["checks"].items()
    }
    assert re.search(r"diagnostics:issues=([0-9]+);", lines[-1]).group(1) == str(len(document["issues"]))


def test_training_curve_goes_to_the_output_data_dir(trained_model_dir):
    curve = (trained_model_dir.parent / "output" / "training_curve.csv").read_text().splitlines()

    assert curve[0].startswith("epoch,train_loss,validation_loss,accuracy")
    assert len(curve) == 1 + len(json.loads((trained_model_dir / "metrics.json").read_text())["history"])


def test_code_folder_serves_the_model_on_its_own(trained_model_dir, tmp_path):
    """The serving container sees only code/ on sys.path: every import must resolve from there."""
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import inference; "
        "model = inference.model_fn(sys.argv[2]); print(inference.__file__, model.labels)"
    )
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}

    result = subprocess.run(
        [sys.executable, "-c", script, str(trained_model_dir / "code"), str(trained_model_dir)],
        capture_output=True, text=True, cwd=tmp_path, env=env, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert str(trained_model_dir / "code") in result.stdout


def test_code_folder_holds_the_handler_and_only_its_imports(trained_model_dir):
    names = {path.name for path in (trained_model_dir / "code").iterdir()}

    assert {"inference.py", "defect_model.py", "image_features.py", "model_artifact.py"} <= names
    assert "train.py" not in names
    assert "evaluate.py" not in names
    assert "diagnostics.py" not in names


def test_metric_line_matches_the_metric_definitions():
    entry = {"epoch": 3, "train_loss": 0.21, "validation_loss": 0.12, "accuracy": 0.97, "macro_f1": 0.965,
             "min_defect_recall": 0.95}  # fmt: skip

    line = train.metric_line(entry)

    assert line == (
        "epoch=3; train:loss=0.2100; validation:loss=0.1200; validation:accuracy=0.9700; "
        "validation:macro_f1=0.9650; validation:min_defect_recall=0.9500;"
    )
    assert {name: float(regex.search(line).group(1)) for name, regex in METRIC_REGEXES.items()} == {
        "train:loss": 0.21, "validation:loss": 0.12, "validation:accuracy": 0.97,
        "validation:macro_f1": 0.965, "validation:min_defect_recall": 0.95,
    }  # fmt: skip


class TerminateAfter(TerminationRequest):
    """Reports SIGTERM after a given number of checks: a deterministic interruption mid-epoch."""

    def __init__(self, checks: int) -> None:
        super().__init__()
        self._checks_left = checks

    @property  # type: ignore[override]
    def requested(self) -> bool:
        self._checks_left -= 1
        return self._checks_left < 0

    @requested.setter
    def requested(self, value: bool) -> None:
        pass


def test_resume_in_the_middle_of_an_epoch_gives_the_uninterrupted_result(small_dataset, tmp_path):
    train_split, validation_split = (
        load_split(small_dataset["train"]),
        load_split(small_dataset["validation"]),
    )
    labels = sorted(set(train_split.labels))
    hp = Hyperparameters(epochs=2, num_threads=1)
    torch.set_num_threads(1)
    uninterrupted = train.Trainer(hp, train_split, validation_split, labels)
    uninterrupted.run(None, TerminationRequest())

    first = train.Trainer(hp, train_split, validation_split, labels)
    finished = first.run(tmp_path, TerminateAfter(checks=8))  # inside the second epoch
    resumed = train.Trainer(hp, train_split, validation_split, labels)
    restored = resumed.restore(load_checkpoint(tmp_path))
    resumed.run(tmp_path, TerminationRequest())

    assert (finished, restored) == (False, True)
    assert without_timing(resumed.state.history) == approx_history(uninterrupted.state.history)
    # The diagnostics' per-step sums (gradient norms, correct predictions) survive the interruption.
    assert resumed.state.diagnostic_signals == [
        pytest.approx(signals) for signals in uninterrupted.state.diagnostic_signals
    ]


def test_checkpoint_of_other_settings_is_not_resumed(small_dataset, tmp_path):
    train_split, validation_split = (
        load_split(small_dataset["train"]),
        load_split(small_dataset["validation"]),
    )
    labels = sorted(set(train_split.labels))
    first = train.Trainer(Hyperparameters(epochs=1, num_threads=1), train_split, validation_split, labels)
    first.run(tmp_path, TerminationRequest())

    other = train.Trainer(Hyperparameters(epochs=1, seed=1), train_split, validation_split, labels)

    assert other.restore(load_checkpoint(tmp_path)) is False
    assert other.state.epochs_done == 0


def run_training_process(env: dict[str, str], args: list[str]) -> subprocess.Popen[str]:
    full_env = {**os.environ, **env, "PYTHONPATH": str(TRAINING_DIR)}
    return subprocess.Popen(
        [sys.executable, str(TRAINING_DIR / "train.py"), *args],
        env=full_env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip


def test_sigterm_saves_a_checkpoint_and_the_restarted_job_matches_an_uninterrupted_one(
    small_dataset, tmp_path, job_environment, capsys
):
    args = ["--num_threads", "1", "--epochs", "4", "--patience", "10"]
    interrupted_env = job_environment(small_dataset, tmp_path / "interrupted")
    reference_env = job_environment(small_dataset, tmp_path / "reference")

    job = run_training_process(interrupted_env, args)
    assert job.stdout is not None
    for line in job.stdout:
        if line.startswith("epoch=1;"):
            job.send_signal(signal.SIGTERM)
            break
    job.stdout.read()
    interrupted_status = job.wait(timeout=300)
    checkpoint = load_checkpoint(Path(interrupted_env["SM_CHECKPOINT_DIR"]))
    model_written_when_interrupted = (Path(interrupted_env["SM_MODEL_DIR"]) / "model.pt").exists()
    restarted = run_training_process(interrupted_env, args)
    restarted_out, _ = restarted.communicate(timeout=300)
    # The uninterrupted reference needs no process of its own (the interrupted and restarted jobs do).
    capsys.readouterr()
    reference_status = train.main(args, reference_env)
    reference_out = capsys.readouterr().out

    assert interrupted_status == EXIT_TERMINATED
    assert checkpoint is not None
    assert not model_written_when_interrupted
    assert (restarted.returncode, reference_status) == (0, 0)
    resumed_metrics = json.loads((Path(interrupted_env["SM_MODEL_DIR"]) / "metrics.json").read_text())
    reference_metrics = json.loads((Path(reference_env["SM_MODEL_DIR"]) / "metrics.json").read_text())
    assert resumed_metrics["epochs_run"] == reference_metrics["epochs_run"] == 4
    assert without_timing(resumed_metrics["history"]) == approx_history(reference_metrics["history"])
    assert resumed_metrics["accuracy"] == reference_metrics["accuracy"]
    assert restarted_out.splitlines()[-1].startswith("best_epoch=")
    assert reference_out.count("epoch=") == 5


def test_checkpoint_file_is_replaced_atomically(small_dataset, tmp_path, job_environment):
    env = job_environment(small_dataset, tmp_path)

    assert train.main(["--num_threads", "1", "--epochs", "1"], env) == 0

    files = sorted(path.name for path in Path(env["SM_CHECKPOINT_DIR"]).iterdir())
    assert files == [CHECKPOINT_FILE]
