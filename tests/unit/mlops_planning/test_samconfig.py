"""samconfig.toml: the parameter_overrides grammar (SAM CLI's), and merging without losing the file."""

from __future__ import annotations

import json
import subprocess
import tomllib
from collections.abc import Callable
from typing import Any

import pytest

from mlops_planning.planner import Recommendation
from mlops_planning.samconfig import (
    NEW_ENVIRONMENT_DEPLOY,
    SamconfigError,
    format_parameter_override,
    format_parameter_overrides,
    merge_samconfig,
    parameter_override_tokens,
    parse_parameter_overrides,
    read_parameter_overrides,
    write_samconfig,
)

from .conftest import ROOT

Recommend = Callable[[str], Recommendation]

EXISTING = """version = 0.1

[default.global.parameters]
stack_name = "defect-mlops"

[dev.deploy.parameters]
stack_name = "defect-mlops-dev"
capabilities = "CAPABILITY_IAM CAPABILITY_AUTO_EXPAND"
parameter_overrides = [
    "EnvironmentName=dev",
    "NotificationEmail=ops@example.com",
    "GlueNumberOfWorkers=3",
]

[prod.deploy.parameters]
stack_name = "defect-mlops-prod"
parameter_overrides = "EnvironmentName=\\"prod\\""
"""

COMMENTED = """# Deploy settings; `mlops-plan --write-samconfig` merges into them.
version = 0.1

[dev.deploy.parameters]
stack_name = "defect-mlops-dev"  # one stack per environment
# Overrides below are reviewed before each deploy.
parameter_overrides = "EnvironmentName=dev GlueNumberOfWorkers=3"  # keep EnvironmentName first
confirm_changeset = false

[prod.deploy.parameters]
parameter_overrides = [
    "EnvironmentName=prod",  # never change
    # sized for the plant's traffic
    "EndpointInstanceCount=2",
]
"""


# --- Reading: SAM CLI's grammar ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("A=1 B=two", {"A": "1", "B": "two"}),
        ('Expr="cron(0 3 * * ? *)"', {"Expr": "cron(0 3 * * ? *)"}),
        ("Name='x'", {"Name": "x"}),
        ("Name='a b' Other=\"c  d\"", {"Name": "a b", "Other": "c  d"}),
        ('Quoted="say \\"hi\\""', {"Quoted": 'say "hi"'}),
        ('Apostrophe="it\'s"', {"Apostrophe": "it's"}),
        ("Escaped=a\\ b", {"Escaped": "a b"}),
        ("Windows=C:\\path", {"Windows": "C:\\path"}),
        (
            "Email=ops@example.com Subnets=subnet-1,subnet-2",
            {"Email": "ops@example.com", "Subnets": "subnet-1,subnet-2"},
        ),
        ('Empty="" Other=1', {"Empty": "", "Other": "1"}),
        ("Equals=a=b", {"Equals": "a=b"}),
        ("  A=1    B=2  ", {"A": "1", "B": "2"}),
        ("A=1 A=2", {"A": "2"}),
        ("ParameterKey=A,ParameterValue=1 ParameterKey=B,ParameterValue='x y'", {"A": "1", "B": "x y"}),
        (["A=1", 'B="x y"'], {"A": "1", "B": "x y"}),
        (["A=1 B=2", "C=3"], {"A": "1", "B": "2", "C": "3"}),
        (["A=1", ["B=2", ["C=3"]]], {"A": "1", "B": "2", "C": "3"}),
        (["A=1", "A=2"], {"A": "2"}),
        ("", {}),
        (None, {}),
        ([], {}),
    ],
)
def test_overrides_are_read_as_sam_cli_reads_them(raw: Any, expected: dict[str, str]):
    assert parse_parameter_overrides(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("A=1 junk", "cannot read 'junk'"),
        ("A=cron(0 3 * * ? *)", "cannot read"),  # unquoted spaces: SAM CLI would keep only "cron(0"
        ('A="x"B=2', "not separated"),
        ("A=1\tB=2", "not separated"),
        ("A=1\nB=2", "not separated"),
        ('A="unclosed', "cannot read"),
        ("A=", "cannot read"),
        ('"A"=1', "cannot read"),
        ("My-Param=1", "cannot read"),
        ("A=1 ParameterKey=B,ParameterValue=2", "ParameterKey"),
        ('A="ParameterKey=B,ParameterValue=2"', "ParameterKey"),
        (["A=1", "  "], "blank"),
        ("file://overrides.json", "file://"),
    ],
)
def test_text_sam_cli_would_misread_is_refused(raw: Any, reason: str):
    with pytest.raises(SamconfigError, match=reason.replace("(", r"\(")):
        parse_parameter_overrides(raw)


@pytest.mark.parametrize("raw", [{"A": "1"}, 5, ["A=1", 2]])
def test_other_types_are_refused(raw: Any):
    with pytest.raises(SamconfigError, match="string or a list"):
        parse_parameter_overrides(raw)


# --- Writing: pairs that read back as written -----------------------------------------------------
def test_simple_values_are_bare_and_others_double_quoted():
    overrides = {"GlueWorkerType": "G.1X", "Expr": "cron(0 3 * * ? *)", "Name": "it's", "Empty": ""}

    assert parameter_override_tokens(overrides) == [
        "GlueWorkerType=G.1X",
        'Expr="cron(0 3 * * ? *)"',
        'Name="it\'s"',
        'Empty=""',
    ]
    assert format_parameter_overrides(overrides) == " ".join(parameter_override_tokens(overrides))


VALUES = [
    "G.1X",
    "cron(0 * ? * * *)",
    "rate(1 day)",
    "a  b",
    " leading and trailing ",
    "'single'",
    "x'y",
    "",
    "subnet-0a1b2c3d,subnet-4e5f6a7b",
    "a=b",
    "tab\there",
    "$HOME `cmd` !x #y",
]


@pytest.mark.parametrize("value", VALUES)
def test_format_then_parse_round_trips(value: str):
    overrides = {"First": "1", "Value": value, "Last": "z"}

    assert parse_parameter_overrides(format_parameter_overrides(overrides)) == overrides
    assert parse_parameter_overrides(parameter_override_tokens(overrides)) == overrides


def test_overrides_with_spaces_round_trip():
    overrides = {"MonitoringScheduleExpression": "cron(0 * ? * * *)", "GlueWorkerType": "G.1X"}

    assert parse_parameter_overrides(format_parameter_overrides(overrides)) == overrides


def test_override_with_a_quote_is_refused():
    with pytest.raises(ValueError, match="quote"):
        format_parameter_overrides({"NotificationEmail": 'a"b'})


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("Path", "C:\\x", "backslash"),
        ("Text", "two\nlines", "newline"),
        ("My-Param", "1", "not alphanumeric"),
        ("Tricky", "ParameterKey=A,ParameterValue=1", "ParameterKey"),
    ],
)
def test_values_the_grammar_cannot_carry_are_refused(name: str, value: str, reason: str):
    with pytest.raises(ValueError, match=reason):
        format_parameter_override(name, value)


# --- Merging into samconfig.toml --------------------------------------------------------------------
def test_merge_keeps_other_environments_and_undecided_overrides():
    document = tomllib.loads(EXISTING)

    merged = tomllib.loads(
        merge_samconfig(
            EXISTING, "dev", {"GlueNumberOfWorkers": "5", "RetrainScheduleExpression": "cron(0 3 * * ? *)"}
        )
    )

    assert merged["prod"] == document["prod"]
    assert merged["default"] == document["default"]
    dev = merged["dev"]["deploy"]["parameters"]
    assert dev["stack_name"] == "defect-mlops-dev"
    assert parse_parameter_overrides(dev["parameter_overrides"]) == {
        "EnvironmentName": "dev",
        "NotificationEmail": "ops@example.com",
        "GlueNumberOfWorkers": "5",
        "RetrainScheduleExpression": "cron(0 3 * * ? *)",
    }


def test_new_environment_gets_what_sam_deploy_needs():
    merged = tomllib.loads(merge_samconfig("", "plant-a", {"EndpointInstanceCount": "2"}))

    deploy = merged["plant-a"]["deploy"]["parameters"]
    assert deploy["stack_name"] == "defect-mlops-plant-a"
    assert "CAPABILITY_IAM" in deploy["capabilities"]
    assert merged["version"] == 0.1


def test_samconfig_text_round_trips_through_tomllib():
    text = merge_samconfig(EXISTING, "dev", {"RetrainScheduleExpression": "cron(0 3 ? * MON *)"})

    expected = tomllib.loads(EXISTING)
    expected["dev"]["deploy"]["parameters"]["parameter_overrides"].append(
        'RetrainScheduleExpression="cron(0 3 ? * MON *)"'
    )
    assert tomllib.loads(text) == expected


def test_merge_keeps_comments_and_layout():
    merged = merge_samconfig(COMMENTED, "dev", {"GlueNumberOfWorkers": "5", "EnableTuning": "false"})

    assert merged == COMMENTED.replace(
        '"EnvironmentName=dev GlueNumberOfWorkers=3"',
        '"EnvironmentName=dev GlueNumberOfWorkers=5 EnableTuning=false"',
    )


def test_merge_into_a_list_keeps_the_comments_between_its_items():
    merged = merge_samconfig(COMMENTED, "prod", {"EndpointInstanceCount": "3", "DataCapturePercent": "20"})

    assert merged == COMMENTED.replace(
        '    "EndpointInstanceCount=2",\n',
        '    "EndpointInstanceCount=3",\n    "DataCapturePercent=20",\n',
    )


def test_pairs_the_merge_does_not_decide_keep_their_spelling():
    text = "[dev.deploy.parameters]\nparameter_overrides = \"Email='ops@example.com' Workers=3\"\n"

    merged = merge_samconfig(text, "dev", {"Workers": "5"})

    assert "Email='ops@example.com' Workers=5" in merged


def test_merging_what_is_already_there_changes_nothing():
    assert merge_samconfig(COMMENTED, "dev", {"GlueNumberOfWorkers": "3"}) == COMMENTED


def test_a_parameter_key_string_is_rewritten_in_one_form():
    text = (
        "[dev.deploy.parameters]\n"
        'parameter_overrides = "ParameterKey=A,ParameterValue=1 ParameterKey=B,ParameterValue=2"\n'
    )

    merged = tomllib.loads(merge_samconfig(text, "dev", {"A": "3", "C": "x y"}))

    assert merged["dev"]["deploy"]["parameters"]["parameter_overrides"] == 'A=3 B=2 C="x y"'


def test_an_environment_without_deploy_settings_gets_them_beside_its_other_commands():
    text = "version = 0.1\n\n[staging.build.parameters]\ncached = true\n"

    merged = tomllib.loads(merge_samconfig(text, "staging", {"EnvironmentName": "dev"}, stack_name="s1"))

    assert merged["staging"]["build"] == {"parameters": {"cached": True}}
    deploy = merged["staging"]["deploy"]["parameters"]
    assert deploy == {
        "stack_name": "s1",
        **NEW_ENVIRONMENT_DEPLOY,
        "parameter_overrides": "EnvironmentName=dev",
    }


def test_stack_name_replaces_an_existing_one():
    merged = tomllib.loads(merge_samconfig(COMMENTED, "dev", {}, stack_name="line-1"))

    assert merged["dev"]["deploy"]["parameters"]["stack_name"] == "line-1"


def test_overrides_that_cannot_be_written_leave_the_text_unmerged():
    with pytest.raises(ValueError, match="quote"):
        merge_samconfig(COMMENTED, "dev", {"NotificationEmail": 'a"b'})


def test_written_environment_reads_back(tmp_path, recommend_profile: Recommend):
    path = tmp_path / "samconfig.toml"
    path.write_text(EXISTING)
    overrides = recommend_profile("large_plant").parameters

    write_samconfig(path, "dev", overrides)

    read_back = read_parameter_overrides(path, "dev")
    assert {k: read_back[k] for k in overrides} == overrides
    assert read_back["NotificationEmail"] == "ops@example.com"
    assert read_parameter_overrides(path, "prod") == {"EnvironmentName": "prod"}
    assert [p.name for p in tmp_path.iterdir()] == ["samconfig.toml"]


def test_writing_creates_the_file(tmp_path):
    path = tmp_path / "samconfig.toml"

    write_samconfig(path, "dev", {"EnvironmentName": "dev"})

    assert read_parameter_overrides(path, "dev") == {"EnvironmentName": "dev"}


def test_reading_an_environment_the_file_lacks_is_an_error(tmp_path):
    path = tmp_path / "samconfig.toml"
    path.write_text(COMMENTED)

    with pytest.raises(SamconfigError, match="staging"):
        read_parameter_overrides(path, "staging")


# The same overrides in each form samconfig.toml allows, with quoting that only SAM CLI's grammar
# reads right; the local runtime and scripts/package_code.py are tested against the same table.
SAMCONFIG_FORMS = {
    "string": "EnvironmentName=dev Expr=\"cron(0 3 * * ? *)\" Name='a b' Email=ops@example.com",
    "list": ["EnvironmentName=dev", 'Expr="cron(0 3 * * ? *)"', "Name='a b' Email=ops@example.com"],
}
EXPECTED = {"EnvironmentName": "dev", "Expr": "cron(0 3 * * ? *)", "Name": "a b", "Email": "ops@example.com"}


@pytest.mark.parametrize("form", list(SAMCONFIG_FORMS))
def test_the_planner_reads_and_keeps_each_form(tmp_path, form: str):
    path = tmp_path / "samconfig.toml"
    path.write_text(f"[dev.deploy.parameters]\nparameter_overrides = {json.dumps(SAMCONFIG_FORMS[form])}\n")

    before = read_parameter_overrides(path, "dev")
    write_samconfig(path, "dev", {"GlueNumberOfWorkers": "5"})

    assert before == EXPECTED
    assert read_parameter_overrides(path, "dev") == {**EXPECTED, "GlueNumberOfWorkers": "5"}


# --- Against SAM CLI itself ----------------------------------------------------------------------------
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
# Run in SAM CLI's own virtualenv: its parameter type, fed each case, prints what it reads.
SAM_READS = """
import json, sys
from samcli.cli.types import CfnParameterOverridesType
reader = CfnParameterOverridesType()
print(json.dumps([reader.convert(case, None, None) for case in json.load(sys.stdin)]))
"""
SAM_CASES: list[Any] = [
    "A=1 B=two",
    "Expr=\"cron(0 3 * * ? *)\" Name='a b'",
    'Quoted="say \\"hi\\"" Escaped=a\\ b Windows=C:\\path',
    'Apostrophe="it\'s" Equals=a=b',
    "  A=1    B=2  A=3 ",
    "ParameterKey=A,ParameterValue=1 ParameterKey=B,ParameterValue='x y'",
    ["A=1", 'B="x y"', ["C=3 D=4"]],
    format_parameter_overrides({f"P{i}": v for i, v in enumerate(VALUES)}),
    parameter_override_tokens({f"P{i}": v for i, v in enumerate(VALUES)}),
]


@pytest.mark.infra
@pytest.mark.skipif(not SAM_PYTHON.is_file(), reason="SAM CLI's virtualenv (.venv-sam) is not set up")
def test_sam_cli_reads_what_the_parser_reads():
    result = subprocess.run(
        [str(SAM_PYTHON), "-c", SAM_READS],
        input=json.dumps(SAM_CASES),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    assert json.loads(result.stdout) == [parse_parameter_overrides(case) for case in SAM_CASES]
