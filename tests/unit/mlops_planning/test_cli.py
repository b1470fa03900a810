"""``mlops-plan`` / ``python -m mlops_planning``: output, exit status, and what it writes."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from mlops_planning.cli import main
from mlops_planning.planner import Recommendation
from mlops_planning.samconfig import parse_parameter_overrides


def test_main_writes_the_samconfig_environment(tmp_path, capsys, profiles: Path, template_path: Path):
    path = tmp_path / "samconfig.toml"

    status = main(
        [
            "--profile",
            str(profiles / "small_line.yaml"),
            "--template",
            str(template_path),
            "--write-samconfig",
            str(path),
            "--config-env",
            "line1",
        ]
    )

    assert status == 0
    written = tomllib.loads(path.read_text())["line1"]["deploy"]["parameters"]
    assert parse_parameter_overrides(written["parameter_overrides"])["EndpointInstanceType"] == "ml.m5.large"
    assert "Recommendation" in capsys.readouterr().out


def test_main_json_output_is_the_recommendation(capsys):
    status = main(["--images-total", "500", "--requests-per-second", "0.1", "--json"])

    payload = json.loads(capsys.readouterr().out)
    assert status == 0
    assert payload["supported"] is True
    assert payload["cost"]["monthly_usd"] > 0
    assert Recommendation.model_validate(payload).choice("Endpoint")


def test_main_refuses_to_write_for_an_unsupported_task(tmp_path, capsys):
    path = tmp_path / "samconfig.toml"

    status = main(["--task", "tabular", "--write-samconfig", str(path)])

    assert status == 1
    assert not path.exists()
    assert "Autopilot" in capsys.readouterr().out


def test_main_rejects_invalid_requirements(capsys):
    assert main(["--images-total", "0"]) == 2
    assert "invalid requirements" in capsys.readouterr().err


def test_write_samconfig_keeps_the_files_comments(tmp_path, profiles: Path):
    path = tmp_path / "samconfig.toml"
    path.write_text(
        "# Deploy settings, reviewed before each release.\n"
        "version = 0.1\n"
        "\n"
        "[prod.deploy.parameters]\n"
        'stack_name = "defect-mlops-prod"  # the production stack\n'
        "# NotificationEmail is set by the on-call rota.\n"
        'parameter_overrides = "EnvironmentName=prod NotificationEmail=ops@example.com"\n'
    )
    rules = tmp_path / "no-template.yaml"  # absent: the overrides go unchecked

    status = main(
        [
            "--profile",
            str(profiles / "small_line.yaml"),
            "--template",
            str(rules),
            "--write-samconfig",
            str(path),
            "--config-env",
            "prod",
        ]
    )

    text = path.read_text()
    assert status == 0
    assert text.startswith("# Deploy settings, reviewed before each release.\nversion = 0.1\n")
    assert 'stack_name = "defect-mlops-prod"  # the production stack\n' in text
    assert "# NotificationEmail is set by the on-call rota.\nparameter_overrides = " in text
    overrides = parse_parameter_overrides(
        tomllib.loads(text)["prod"]["deploy"]["parameters"]["parameter_overrides"]
    )
    assert overrides["NotificationEmail"] == "ops@example.com"
    assert overrides["EndpointInstanceType"] == "ml.m5.large"


def test_the_template_is_looked_up_in_the_working_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)

    assert main(["--images-total", "500"]) == 0

    assert "template.yaml not found: overrides not checked" in capsys.readouterr().out


def test_a_template_that_breaks_a_constraint_stops_the_write(tmp_path, capsys):
    template = tmp_path / "template.yaml"
    template.write_text("Parameters:\n  GlueNumberOfWorkers:\n    Type: Number\n    MaxValue: 1\n")
    path = tmp_path / "samconfig.toml"

    status = main(["--template", str(template), "--write-samconfig", str(path)])

    assert status == 1
    assert not path.exists()
    assert "break template constraints" in capsys.readouterr().err


def test_an_unreadable_template_is_an_error(tmp_path, capsys):
    template = tmp_path / "template.yaml"
    template.write_text("Parameters: [unclosed\n")

    assert main(["--template", str(template)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_a_samconfig_that_cannot_be_merged_is_left_alone(tmp_path, capsys):
    path = tmp_path / "samconfig.toml"
    original = '[dev.deploy.parameters]\nparameter_overrides = "A=1 junk"\n'
    path.write_text(original)

    status = main(["--template", str(tmp_path / "absent.yaml"), "--write-samconfig", str(path)])

    assert status == 1
    assert path.read_text() == original
    assert "nothing written" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--image-kb", "--images-per-day", "--data-sources"])
def test_every_requirement_has_a_flag(flag: str, capsys):
    assert main([flag, "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["supported"] is True


def test_python_dash_m_is_the_same_command(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mlops_planning", "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,  # outside the checkout: the installed package stands alone
    )

    assert result.returncode == 0, result.stderr
    assert "usage: mlops-plan" in result.stdout
    assert "--write-samconfig" in result.stdout
