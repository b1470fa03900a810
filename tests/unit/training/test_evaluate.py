"""The evaluation job: challenger and champion on one test split, and the monitoring baseline."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import evaluate
import pytest
from defect_model import build_model
from image_features import FEATURE_NAMES
from model_artifact import save_model_file

pytestmark = pytest.mark.slow  # needs the session's trained model


def pack(model_dir: Path, folder: Path) -> Path:
    """A processing input: a folder holding model.tar.gz, as SageMaker's training output is."""
    folder.mkdir(parents=True)
    with tarfile.open(folder / "model.tar.gz", "w:gz") as archive:
        for path in model_dir.iterdir():
            archive.add(path, arcname=path.name)
    return folder


def champion_with_other_labels(folder: Path) -> Path:
    """An (untrained) champion that knows 'rust' but not 'crack'."""
    folder.mkdir(parents=True)
    save_model_file(
        folder / "model.pt", network=build_model("small_cnn", 4), arch="small_cnn",
        labels=["dent", "ok", "rust", "scratch"], normal_class="ok", image_size=64,
        mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25], model_version="old-champion", hyperparameters={},
    )  # fmt: skip
    return folder


def run(tmp_path: Path, challenger: Path, champion: Path, test_data: Path) -> dict:
    status = evaluate.main([
        "--challenger-model", str(challenger), "--champion-model", str(champion),
        "--test-data", str(test_data), "--evaluation-dir", str(tmp_path / "evaluation"),
        "--baseline-dir", str(tmp_path / "baseline"), "--drift-threshold", "0.2",
    ])  # fmt: skip
    assert status == 0
    return json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())


@pytest.fixture(scope="module")
def evaluation_with_champion(trained_model_dir, small_dataset, tmp_path_factory):
    work = tmp_path_factory.mktemp("evaluation")
    challenger = pack(trained_model_dir, work / "challenger")
    champion = champion_with_other_labels(work / "champion")
    return run(work, challenger, champion, small_dataset["test"]), work


def test_evaluation_scores_both_models_on_the_same_test_split(evaluation_with_champion, small_dataset):
    document, _ = evaluation_with_champion

    assert document["labels"] == ["crack", "dent", "ok", "scratch"]
    assert document["normal_class"] == "ok"
    assert document["test_samples"] == sum(
        document["challenger"]["per_class"][k]["support"] for k in document["labels"]
    )
    assert document["challenger"]["model_version"] == "unit-test-job"
    assert document["champion"]["model_version"] == "old-champion"
    assert document["challenger"]["accuracy"] >= 0.9
    for entry in (document["challenger"], document["champion"]):
        assert set(entry) >= {"model_version", "accuracy", "macro_f1", "min_defect_recall", "per_class",
                              "confusion_matrix"}  # fmt: skip


def test_champion_with_another_label_set_is_scored_by_label_name(evaluation_with_champion):
    champion = evaluation_with_champion[0]["champion"]

    assert champion["label_mismatch"]["missing_labels"] == ["crack"]
    assert champion["label_mismatch"]["unknown_labels"] == ["rust"]
    assert champion["per_class"]["crack"]["recall"] == 0.0
    assert champion["min_defect_recall"] == 0.0
    assert "label_mismatch" not in evaluation_with_champion[0]["challenger"]


def test_baseline_covers_every_monitoring_feature_with_the_drift_threshold(evaluation_with_champion):
    _, work = evaluation_with_champion
    statistics = json.loads((work / "baseline" / "statistics.json").read_text())
    constraints = json.loads((work / "baseline" / "constraints.json").read_text())

    assert [feature["name"] for feature in statistics["features"]] == list(FEATURE_NAMES)
    assert statistics["dataset"]["item_count"] == evaluation_with_champion[0]["test_samples"]
    assert constraints["monitoring_config"]["distribution_constraints"]["comparison_threshold"] == 0.2


def test_baseline_reports_the_original_upload_size(evaluation_with_champion):
    statistics = json.loads((evaluation_with_champion[1] / "baseline" / "statistics.json").read_text())
    width = next(feature for feature in statistics["features"] if feature["name"] == "width")

    assert width["numerical_statistics"]["min"] == width["numerical_statistics"]["max"] == 96


def test_missing_champion_gives_null(trained_model_dir, small_dataset, tmp_path):
    (tmp_path / "no-champion").mkdir()

    document = run(tmp_path, trained_model_dir, tmp_path / "no-champion", small_dataset["test"])

    assert document["champion"] is None
    assert "champion_error" not in document


def test_unreadable_champion_gives_null_with_the_reason(trained_model_dir, small_dataset, tmp_path):
    (tmp_path / "champion").mkdir()
    (tmp_path / "champion" / "model.tar.gz").write_bytes(b"not an archive")

    document = run(tmp_path, trained_model_dir, tmp_path / "champion", small_dataset["test"])

    assert document["champion"] is None
    assert "could not be loaded" in document["champion_error"]


def test_the_challengers_training_diagnostics_are_carried_into_the_evaluation(
    evaluation_with_champion, trained_model_dir
):
    document, _ = evaluation_with_champion
    trained = json.loads((trained_model_dir / "diagnostics.json").read_text())

    assert document["challenger"]["diagnostics"] == {
        "status": trained["status"],
        "issues": trained["issues"],
        "checks": trained["checks"],
    }
    assert "diagnostics" not in document["champion"]


def test_a_challenger_without_readable_diagnostics_is_still_evaluated(
    trained_model_dir, small_dataset, tmp_path
):
    challenger = tmp_path / "challenger"
    challenger.mkdir()
    for name in ("model.pt", "metrics.json"):
        (challenger / name).write_bytes((trained_model_dir / name).read_bytes())
    (tmp_path / "no-champion").mkdir()
    without = run(tmp_path / "without", challenger, tmp_path / "no-champion", small_dataset["test"])
    (challenger / "diagnostics.json").write_text("not json")
    unreadable = run(tmp_path / "unreadable", challenger, tmp_path / "no-champion", small_dataset["test"])

    assert without["challenger"]["diagnostics"] is None
    assert unreadable["challenger"]["diagnostics"] is None
    assert unreadable["challenger"]["accuracy"] == without["challenger"]["accuracy"]
