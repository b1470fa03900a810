"""Template loading: parameters (defaults < samconfig < overrides) and offline SAM translation."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_local.aws.template import TemplateError, load_template, samconfig_parameter_overrides

from .conftest import FIXTURE_TEMPLATE


def test_defaults_apply_without_overrides() -> None:
    assert load_template(FIXTURE_TEMPLATE).parameters["EnvironmentName"] == "dev"


def test_samconfig_then_explicit_overrides_win(tmp_path: Path) -> None:
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text(
        '[prod.deploy.parameters]\nparameter_overrides = "EnvironmentName=prod TriggerBatchSize=50"\n'
    )
    loaded = load_template(
        FIXTURE_TEMPLATE, samconfig=samconfig, config_env="prod", overrides={"TriggerBatchSize": "5"}
    )
    assert loaded.parameters["EnvironmentName"] == "prod"
    assert loaded.parameters["TriggerBatchSize"] == "5"


def test_samconfig_list_form_is_read(tmp_path: Path) -> None:
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text(
        '[dev.deploy.parameters]\nparameter_overrides = ["EnvironmentName=dev", "NotificationEmail=a@b.c"]\n'
    )
    assert samconfig_parameter_overrides(samconfig, "dev") == {
        "EnvironmentName": "dev",
        "NotificationEmail": "a@b.c",
    }


def test_a_value_outside_allowed_values_is_rejected() -> None:
    with pytest.raises(TemplateError, match="EnvironmentName"):
        load_template(FIXTURE_TEMPLATE, overrides={"EnvironmentName": "staging"})


def test_an_undeclared_parameter_is_rejected() -> None:
    with pytest.raises(TemplateError, match="not declared"):
        load_template(FIXTURE_TEMPLATE, overrides={"Nope": "1"})


def test_translation_keeps_local_code_paths() -> None:
    loaded = load_template(FIXTURE_TEMPLATE)
    assert loaded.local_paths["StartPipelineFunction"] == FIXTURE_TEMPLATE.parent / "functions" / "start"
    assert (
        loaded.cfn["Resources"]["StartPipelineFunctionUploads"]["Type"] == "AWS::Lambda::EventSourceMapping"
    )
