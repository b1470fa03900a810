"""Packaging of the job code: reproducible archives, content versions, deploy overrides."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import package_code
import pytest

from mlops_planning.samconfig import parse_parameter_overrides


def _write_repo(root: Path, train_source: bytes = b"print('train')\n") -> Path:
    for folder, files in {
        "training": {"train.py": train_source, "image_features.py": b"FEATURES = []\n"},
        "monitoring": {"record_preprocessor.py": b"def preprocess_handler(r): ...\n"},
        "glue": {"prepare_dataset.py": b"# the Glue job\n", "object_layout.py": b"# helper\n"},
    }.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (root / folder / name).write_bytes(content)
    return root


def test_sourcedir_is_flat_and_byte_for_byte_reproducible():
    modules = {"train.py": b"a", "record_preprocessor.py": b"b"}
    first, second = (
        package_code.build_sourcedir(modules),
        package_code.build_sourcedir(dict(reversed(modules.items()))),
    )
    assert first == second
    with tarfile.open(fileobj=io.BytesIO(first)) as archive:
        assert archive.getnames() == ["record_preprocessor.py", "train.py"]


def test_bundle_holds_every_object_the_template_points_at(tmp_path):
    bundle = package_code.collect_bundle(_write_repo(tmp_path))
    assert set(bundle.files) == {
        "sourcedir.tar.gz",
        "source/train.py",
        "source/image_features.py",
        "source/record_preprocessor.py",
        "glue/prepare_dataset.py",
        "glue/modules.zip",
        "monitoring/record_preprocessor.py",
    }
    template = (Path(package_code.REPO_ROOT) / "template.yaml").read_text()
    for key in ("glue/prepare_dataset.py", "glue/modules.zip", "monitoring/record_preprocessor.py"):
        assert f"code/${{CodeVersion}}/{key}" in template
    with zipfile.ZipFile(io.BytesIO(bundle.files["glue/modules.zip"])) as archive:
        assert sorted(archive.namelist()) == ["image_features.py", "object_layout.py", "train.py"]


def test_the_version_changes_with_the_code_and_only_with_it(tmp_path):
    same_a = package_code.collect_bundle(_write_repo(tmp_path / "a")).version
    same_b = package_code.collect_bundle(_write_repo(tmp_path / "b")).version
    changed = package_code.collect_bundle(_write_repo(tmp_path / "c", b"print('v2')\n")).version
    assert same_a == same_b
    assert changed != same_a
    assert len(same_a) == package_code.VERSION_LENGTH


def test_keys_live_under_the_version():
    bundle = package_code.CodeBundle({"glue/prepare_dataset.py": b"x"})
    assert bundle.keys() == {"glue/prepare_dataset.py": f"code/{bundle.version}/glue/prepare_dataset.py"}


def test_overrides_keep_the_environments_settings_and_set_the_code_version():
    settings = {"parameter_overrides": "EnvironmentName=prod CodeVersion=old TuningMaxJobs=16"}
    assert package_code.parameter_overrides(settings, "abc123") == [
        "EnvironmentName=prod",
        "TuningMaxJobs=16",
        "CodeVersion=abc123",
    ]


def test_every_samconfig_environment_has_deploy_settings():
    import tomllib

    samconfig = tomllib.loads((Path(package_code.REPO_ROOT) / "samconfig.toml").read_text())
    for environment in ("dev", "prod"):
        settings = package_code.deploy_settings(samconfig, environment)
        assert settings["resolve_s3"] is True
        assert "CAPABILITY_IAM" in str(settings["capabilities"])
        assert f"EnvironmentName={environment}" in package_code.parameter_overrides(settings, "v")


def test_an_unknown_environment_is_an_error():
    with pytest.raises(ValueError, match="staging"):
        package_code.deploy_settings({"dev": {}}, "staging")


# The same overrides in each form samconfig.toml allows, with quoting that only SAM CLI's grammar
# reads right; the planning package's parser (the one every reader shares) must give EXPECTED.
SAMCONFIG_FORMS = {
    "string": "EnvironmentName=dev Expr=\"cron(0 3 * * ? *)\" Name='a b' Email=ops@example.com",
    "list": ["EnvironmentName=dev", 'Expr="cron(0 3 * * ? *)"', "Name='a b' Email=ops@example.com"],
}
EXPECTED = {"EnvironmentName": "dev", "Expr": "cron(0 3 * * ? *)", "Name": "a b", "Email": "ops@example.com"}


@pytest.mark.parametrize("form", list(SAMCONFIG_FORMS))
def test_deploy_arguments_carry_the_overrides_as_sam_cli_reads_them(form: str):
    arguments = package_code.parameter_overrides({"parameter_overrides": SAMCONFIG_FORMS[form]}, "abc123")

    # sam deploy reads each argument after --parameter-overrides on its own: one pair each.
    assert [len(parse_parameter_overrides(argument)) for argument in arguments] == [1] * len(arguments)
    assert parse_parameter_overrides(arguments) == {**EXPECTED, "CodeVersion": "abc123"}
    assert arguments[-1] == "CodeVersion=abc123"


def test_an_environment_without_overrides_deploys_only_the_code_version():
    assert package_code.parameter_overrides({}, "abc123") == ["CodeVersion=abc123"]
