"""Template constraints: reading Parameters (short-form tags included) and checking overrides."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_planning.planner import Recommendation
from mlops_planning.template_parameters import (
    DEFAULT_TEMPLATE,
    check_overrides,
    load_template_parameters,
    read_template,
)

from .conftest import ROOT

Recommend = Callable[[str], Recommendation]
SUPPORTED_PROFILES = ("small_line", "large_plant", "batch_audit", "impossible_budget")
CONTRACTS = ROOT / "docs" / "contracts.md"


def _contract_parameter_names() -> set[str]:
    text = CONTRACTS.read_text()
    section = text.split("Parameters (all tunables", 1)[1].split("Lambda environment", 1)[0]
    return set(re.findall(r"`([A-Z][A-Za-z]+)`", section))


@pytest.mark.parametrize("profile", SUPPORTED_PROFILES)
def test_profile_overrides_pass_the_template_constraints(
    recommend_profile: Recommend, template_parameters: dict[str, dict[str, Any]] | None, profile: str
):
    overrides = recommend_profile(profile).parameters

    if template_parameters is None:
        # Until template.yaml exists, the names must at least be the contract's.
        assert set(overrides) <= _contract_parameter_names()
    else:
        assert check_overrides(overrides, template_parameters) == []


def test_constraint_check_reports_each_kind_of_violation():
    parameters = {
        "Workers": {"Type": "Number", "MinValue": 2, "MaxValue": 10},
        "Spot": {"Type": "String", "AllowedValues": ["true", "false"]},
        "Expr": {"Type": "String", "AllowedPattern": r"^(rate|cron)\(.*\)$"},
    }
    overrides = {"Workers": "11", "Spot": "yes", "Expr": "daily", "Nope": "1"}

    errors = check_overrides(overrides, parameters)

    assert len(errors) == 4
    assert any("above MaxValue 10" in e for e in errors)
    assert any("not one of" in e for e in errors)
    assert any("AllowedPattern" in e for e in errors)
    assert any("Nope is not a parameter" in e for e in errors)


def test_lengths_and_non_numbers_are_violations():
    parameters = {
        "Count": {"Type": "Number", "MinValue": 1},
        "Email": {"Type": "String", "MinLength": 3, "MaxLength": 5},
    }

    errors = check_overrides({"Count": "many", "Email": "ab"}, parameters)
    too_long = check_overrides({"Email": "abcdef"}, parameters)

    assert errors == ["Count='many' is not a number", "Email='ab' is shorter than MinLength 3"]
    assert too_long == ["Email='abcdef' is longer than MaxLength 5"]


def test_short_form_tags_are_read_in_their_long_form(tmp_path):
    template = tmp_path / "template.yaml"
    template.write_text(
        "Parameters:\n"
        "  Size:\n"
        "    Type: Number\n"
        "    Default: 2\n"
        "    MaxValue: 4\n"
        "Resources:\n"
        "  Bucket:\n"
        "    Type: AWS::S3::Bucket\n"
        "    Properties:\n"
        "      BucketName: !Sub '${AWS::StackName}-data'\n"
        "      Tags:\n"
        "        - Key: size\n"
        "          Value: !Ref Size\n"
        "        - Key: arn\n"
        "          Value: !GetAtt Role.Arn\n"
        "        - Key: maybe\n"
        "          Value: !If [HasSize, !Ref Size, !Ref AWS::NoValue]\n"
    )

    document = read_template(template)

    tags = document["Resources"]["Bucket"]["Properties"]["Tags"]
    assert document["Resources"]["Bucket"]["Properties"]["BucketName"] == {
        "Fn::Sub": "${AWS::StackName}-data"
    }
    assert tags[0]["Value"] == {"Ref": "Size"}
    assert tags[1]["Value"] == {"Fn::GetAtt": ["Role", "Arn"]}
    assert tags[2]["Value"] == {"Fn::If": ["HasSize", {"Ref": "Size"}, {"Ref": "AWS::NoValue"}]}
    assert load_template_parameters(template) == {"Size": {"Type": "Number", "Default": 2, "MaxValue": 4}}


def test_the_default_template_is_looked_up_in_the_working_directory():
    # An installed package has no checkout around it: the template is the project's, not its own.
    assert DEFAULT_TEMPLATE.as_posix() == "template.yaml"
    assert not DEFAULT_TEMPLATE.is_absolute()


def test_a_document_that_is_not_a_mapping_is_refused(tmp_path):
    template = tmp_path / "template.yaml"
    template.write_text("- just\n- a list\n")

    with pytest.raises(ValueError, match="not a CloudFormation template"):
        read_template(template)


@pytest.mark.infra
def test_template_with_each_profiles_defaults_passes_cfn_lint(
    recommend_profile: Recommend, template_path: Path, tmp_path
):
    paths = []
    for profile in SUPPORTED_PROFILES:
        template = read_template(template_path)
        for name, value in recommend_profile(profile).parameters.items():
            template["Parameters"][name]["Default"] = value
        path = tmp_path / f"{profile}.yaml"
        path.write_text(yaml.safe_dump(template, sort_keys=False))
        paths.append(str(path))

    # One cfn-lint run over every profile's template: loading its rules is most of its time.
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "cfn-lint"), *paths], capture_output=True, text=True, check=False
    )

    # cfn-lint: 0 clean, 4 warnings only, 8 informational; 2 (errors) fails.
    assert result.returncode & 2 == 0, result.stdout + result.stderr
