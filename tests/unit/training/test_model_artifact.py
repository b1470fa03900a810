"""model.pt and the forms a model arrives in (folder, folder with model.tar.gz, archive), and the
diagnostics.json beside it."""

import io
import json
import tarfile

import pytest
import torch
from defect_model import build_model
from model_artifact import find_model_source, load_diagnostics, load_model, save_model_file


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


DIAGNOSTICS = {"status": "issues_found", "issues": ["overfitting: x"], "checks": {}}


def test_diagnostics_are_read_from_the_folder_or_the_archive(model_dir, tmp_path):
    (model_dir / "diagnostics.json").write_text(json.dumps(DIAGNOSTICS))
    packed = tmp_path / "input" / "model.tar.gz"
    packed.parent.mkdir()
    with tarfile.open(packed, "w:gz") as tar:
        tar.add(model_dir / "model.pt", arcname="./model.pt")
        tar.add(model_dir / "diagnostics.json", arcname="./diagnostics.json")

    assert load_diagnostics(model_dir) == DIAGNOSTICS
    assert load_diagnostics(tmp_path / "input") == DIAGNOSTICS


def test_a_model_without_diagnostics_has_none(model_dir, tmp_path):
    assert load_diagnostics(model_dir) is None
    assert load_diagnostics(archive(model_dir, tmp_path / "input" / "model.tar.gz")) is None


def test_diagnostics_that_are_not_a_json_object_are_refused(model_dir, tmp_path):
    (model_dir / "diagnostics.json").write_text("[1, 2]")
    linked = tmp_path / "linked" / "model.tar.gz"
    linked.parent.mkdir()
    with tarfile.open(linked, "w:gz") as tar:
        tar.add(model_dir / "model.pt", arcname="model.pt")
        link = tarfile.TarInfo("diagnostics.json")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link, io.BytesIO())

    with pytest.raises(ValueError, match="not a JSON object"):
        load_diagnostics(model_dir)
    with pytest.raises(ValueError, match="not a regular file"):
        load_diagnostics(linked)


@pytest.mark.parametrize("arch", ["resnet18", "mobilenet_v3_small"])
def test_a_backbone_model_is_rebuilt_from_its_arch_and_gives_the_same_outputs(arch, tmp_path):
    torch.manual_seed(4)
    network = build_model(arch, 3).eval()
    save_model_file(
        tmp_path / "model.pt", network=network, arch=arch, labels=["a", "b", "ok"], normal_class="ok",
        image_size=64, mean=[0.5] * 3, std=[0.2] * 3, model_version="v2", hyperparameters={},
    )  # fmt: skip
    x = torch.rand(2, 3, 64, 64)

    model = load_model(tmp_path, torch.device("cpu"))

    assert model.arch == arch
    with torch.no_grad():
        assert torch.equal(model.network(x), network(x))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_a_model_loads_onto_the_gpu_and_predicts_to_host_arrays(model_dir):
    from defect_model import predict_probabilities

    model = load_model(model_dir, torch.device("cuda"))
    images = torch.randint(0, 256, (3, 32, 32, 3), dtype=torch.uint8).numpy()

    probabilities = predict_probabilities(model.network, images, model.mean, model.std)

    assert next(model.network.parameters()).is_cuda
    assert probabilities.shape == (3, 3)
    assert probabilities.sum(axis=1) == pytest.approx([1.0] * 3)
