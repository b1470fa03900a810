"""Template loading: parameters (defaults < samconfig < overrides) and offline SAM translation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_local.engine.template import TemplateError, load_template, samconfig_parameter_overrides
from mlops_planning.samconfig import write_samconfig

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


# The same overrides in each form samconfig.toml allows, with quoting that only SAM CLI's grammar
# reads right; the planning package's parser (the one every reader shares) must give EXPECTED.
SAMCONFIG_FORMS = {
    "string": "EnvironmentName=dev Expr=\"cron(0 3 * * ? *)\" Name='a b' Email=ops@example.com",
    "list": ["EnvironmentName=dev", 'Expr="cron(0 3 * * ? *)"', "Name='a b' Email=ops@example.com"],
}
EXPECTED = {"EnvironmentName": "dev", "Expr": "cron(0 3 * * ? *)", "Name": "a b", "Email": "ops@example.com"}


@pytest.mark.parametrize("form", list(SAMCONFIG_FORMS))
def test_samconfig_overrides_are_read_as_sam_cli_reads_them(tmp_path: Path, form: str) -> None:
    samconfig = tmp_path / "samconfig.toml"
    overrides = json.dumps(SAMCONFIG_FORMS[form])  # a JSON string or array is valid TOML
    samconfig.write_text(f"[dev.deploy.parameters]\nparameter_overrides = {overrides}\n")

    assert samconfig_parameter_overrides(samconfig, "dev") == EXPECTED


def test_unreadable_samconfig_overrides_are_a_template_error(tmp_path: Path) -> None:
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text('[dev.deploy.parameters]\nparameter_overrides = "EnvironmentName=dev junk"\n')

    with pytest.raises(TemplateError, match="junk"):
        samconfig_parameter_overrides(samconfig, "dev")
    with pytest.raises(TemplateError, match="no environment 'prod'"):
        samconfig_parameter_overrides(samconfig, "prod")


def test_what_planning_writes_is_what_the_local_runtime_reads(tmp_path: Path) -> None:
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text(
        "[dev.deploy.parameters]\n"
        'parameter_overrides = ["EnvironmentName=dev", "NotificationEmail=ops@example.com"]\n'
        "\n"
        "[prod.deploy.parameters]\n"
        'parameter_overrides = "EnvironmentName=\\"prod\\""\n'
    )
    overrides = {"MonitoringScheduleExpression": "cron(0 * ? * * *)", "VpcSubnetIds": "subnet-1,subnet-2"}

    write_samconfig(samconfig, "dev", overrides)

    read_back = samconfig_parameter_overrides(samconfig, "dev")
    assert {k: read_back[k] for k in overrides} == overrides
    assert read_back["NotificationEmail"] == "ops@example.com"
    assert samconfig_parameter_overrides(samconfig, "prod") == {"EnvironmentName": "prod"}
