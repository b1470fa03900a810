"""model.pt and the forms a model arrives in (folder, folder with model.tar.gz, archive)."""

import tarfile

import pytest
import torch
from defect_model import build_model
from model_artifact import find_model_source, load_model, save_model_file


@pytest.fixture
def model_dir(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    torch.manual_seed(0)
    save_model_file(
        folder / "model.pt", network=build_model("small_cnn", 3), arch="small_cnn", labels=["a", "b", "ok"],
        normal_class="ok", image_size=32, mean=[0.5] * 3, std=[0.2] * 3, model_version="v1",
        hyperparameters={"epochs": 2},
    )  # fmt: skip
    return folder


def archive(model_dir, target):
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(target, "w:gz") as tar:
        tar.add(model_dir / "model.pt", arcname="model.pt")
    return target


def test_unpacked_model_loads_in_eval_mode(model_dir):
    model = load_model(model_dir)

    assert (model.labels, model.image_size, model.model_version) == (["a", "b", "ok"], 32, "v1")
    assert not model.network.training


def test_archive_in_a_nested_folder_loads_like_the_folder(model_dir, tmp_path):
    archive(model_dir, tmp_path / "input" / "job" / "output" / "model.tar.gz")
    x = torch.rand(1, 3, 32, 32)

    from_archive = load_model(tmp_path / "input")

    assert torch.equal(from_archive.network(x), load_model(model_dir).network(x))


def test_folder_without_a_model_has_no_source(tmp_path):
    assert find_model_source(tmp_path) is None
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path)


def test_archive_entries_escaping_the_folder_are_refused(model_dir, tmp_path):
    evil = tmp_path / "evil" / "model.tar.gz"
    evil.parent.mkdir()
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(model_dir / "model.pt", arcname="../model.pt")

    with pytest.raises(tarfile.FilterError):
        load_model(evil)
