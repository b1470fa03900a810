"""``recommend`` over requirement profiles: choices, reasons, template constraints, samconfig."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_local.aws.template import read_template, samconfig_parameter_overrides
from mlops_local.recommend import (
    Recommendation,
    Requirements,
    check_overrides,
    dumps_samconfig,
    format_parameter_overrides,
    load_requirements,
    load_template_parameters,
    main,
    merge_samconfig,
    parse_parameter_overrides,
    recommend,
    write_samconfig,
)

ROOT = Path(__file__).resolve().parents[3]
PROFILES = Path(__file__).parent / "recommend_profiles"
TEMPLATE = ROOT / "template.yaml"
CONTRACTS = ROOT / "docs" / "contracts.md"


def _recommend(profile: str) -> Recommendation:
    return recommend(
        load_requirements(PROFILES / f"{profile}.yaml", {}), template_parameters=_template_parameters()
    )


def _template_parameters() -> dict[str, dict[str, Any]] | None:
    return load_template_parameters(TEMPLATE) if TEMPLATE.is_file() else None


# profile -> {topic: (text in the decision, text in the reason)}
EXPECTED_CHOICES: dict[str, dict[str, tuple[str, str]]] = {
    "small_line": {
        "Glue data preparation": ("2 x G.1X", "Python shell"),
        "Training instance": ("ml.m5.xlarge", "a CPU trains in minutes"),
        "Spot or on-demand": ("managed spot", "checkpoints every epoch"),
        "Hyperparameter tuning": ("off", "too few validation images"),
        "Endpoint": ("1 x ml.m5.large", "one instance is enough"),
        "Monitoring": ("daily", "too few requests"),
        "Retraining schedule": ("weekly", "TriggerWindowMinutes"),
    },
    "large_plant": {
        "Glue data preparation": ("10 x G.2X", "millions of images"),
        "Training instance": ("ml.g5.xlarge", "A10G"),
        "Spot or on-demand": ("managed spot", "MaxWaitSeconds"),
        "Hyperparameter tuning": ("4 trials, 2 in parallel", "daily retraining"),
        "Endpoint": ("2 x ml.c5.xlarge", "20 requests/s"),
        "Monitoring": ("hourly, capturing 20%", "stable statistics"),
        "Retraining schedule": ("daily", "30.4 runs a month"),
        "Networking": ("VPC only: 2 private subnets", "Glue job needs a network connection"),
        "Encryption": ("PipelineKey", "as required"),
    },
    "batch_audit": {
        "Glue data preparation": ("5 x G.1X", "up to 1M images"),
        "Training instance": ("ml.g4dn.xlarge", "T4"),
        "Spot or on-demand": ("on-demand", "not tolerated"),
        "Endpoint": ("batch only", "batch transform"),
        "Batch schedule": ("ENABLED", "Nightly transform"),
        "Retraining schedule": ("monthly", "daily uploads add runs beyond the schedule"),
    },
    "impossible_budget": {
        "Endpoint": ("1 x ml.g4dn.xlarge", "fit the budget"),
        "Hyperparameter tuning": ("off", "fit the budget"),
        "Monitoring": ("daily", "fit the budget"),
    },
}


@pytest.mark.parametrize(
    ("profile", "topic", "decision", "reason"),
    [(p, topic, d, r) for p, choices in EXPECTED_CHOICES.items() for topic, (d, r) in choices.items()],
)
def test_profile_choice_and_its_reason(profile: str, topic: str, decision: str, reason: str):
    choice = _recommend(profile).choice(topic)

    assert decision in choice.decision
    assert reason in choice.reason
    assert choice.source


@pytest.mark.parametrize("profile", list(EXPECTED_CHOICES))
def test_every_choice_names_a_source(profile: str):
    for choice in _recommend(profile).choices:
        assert "https://" in choice.source or "Well-Architected" in choice.source, choice.topic


def test_small_line_fits_its_budget_and_explains_why_not_serverless():
    recommendation = _recommend("small_line")

    assert recommendation.within_budget is True
    assert recommendation.cost is not None
    assert recommendation.cost.monthly_usd <= 150
    assert any("Serverless inference" in a and "Model Monitor" in a for a in recommendation.alternatives)


def test_large_plant_writes_its_vpc_and_stays_within_budget():
    recommendation = _recommend("large_plant")

    assert recommendation.parameters["VpcSubnetIds"] == "subnet-0a1b2c3d,subnet-4e5f6a7b"
    assert recommendation.parameters["VpcSecurityGroupIds"] == "sg-0123abcd"
    assert recommendation.within_budget is True
    assert int(recommendation.parameters["MaxWaitSeconds"]) >= int(
        recommendation.parameters["MaxRuntimeSeconds"]
    )


def test_large_plant_warns_that_training_outlasts_a_day():
    recommendation = _recommend("large_plant")

    assert any("longer than the 24 h between runs" in w for w in recommendation.warnings)


def test_batch_audit_turns_the_endpoint_off_and_pays_only_for_the_transform():
    recommendation = _recommend("batch_audit")

    assert recommendation.endpoint_mode == "none"
    assert recommendation.parameters["DeployEndpoint"] == "false"
    assert recommendation.parameters["UseSpotTraining"] == "false"
    assert recommendation.cost is not None
    names = {item.name for item in recommendation.cost.items}
    assert not names & {"Real-time endpoint", "Model Monitor executions"}
    assert recommendation.cost.item("Batch transform").usd > 0
    assert any("cannot flag drift" in w for w in recommendation.warnings)


def test_real_time_profiles_keep_the_endpoint():
    assert _recommend("small_line").parameters["DeployEndpoint"] == "true"


def test_daily_uploads_under_a_capped_trigger_window_are_counted_as_runs():
    recommendation = _recommend("batch_audit")  # monthly retraining, 5,000 uploads a day

    assert recommendation.cost is not None
    if TEMPLATE.is_file() and _template_parameters()["TriggerWindowMinutes"].get("MaxValue", 43200) < 43200:
        assert recommendation.cost.runs_per_month == pytest.approx(365 / 12, rel=1e-3)
        assert any("TriggerWindowMinutes" in w for w in recommendation.warnings)
    else:
        assert recommendation.cost.runs_per_month == pytest.approx(1.0)


def test_budget_that_cannot_be_met_is_a_warning_with_the_minimum():
    recommendation = _recommend("impossible_budget")

    assert recommendation.within_budget is False
    assert recommendation.cost is not None
    warning = next(w for w in recommendation.warnings if "below the" in w)
    assert "100.00 USD" in warning
    assert f"{recommendation.cost.monthly_usd:,.2f} USD" in warning
    assert "real-time latency at 50 requests/s" in warning
    assert any(a.startswith("Batch-only inference") for a in recommendation.alternatives)


def test_unsupported_task_says_so_and_what_would_fit():
    recommendation = _recommend("object_detection")

    assert recommendation.supported is False
    assert recommendation.parameters == {}
    assert "not supported by this pipeline" in recommendation.warnings[0]
    assert any("Rekognition Custom Labels" in a for a in recommendation.alternatives)
    assert any("Object Detection" in a for a in recommendation.alternatives)


@pytest.mark.parametrize(
    ("task", "fits"), [("tabular", "Autopilot"), ("text", "Comprehend"), ("Object Detection", "Rekognition")]
)
def test_other_tasks_point_to_a_service_that_fits(task: str, fits: str):
    recommendation = recommend(Requirements(task=task))

    assert not recommendation.supported
    assert any(fits in a for a in recommendation.alternatives)


def test_interruption_intolerance_means_on_demand():
    recommendation = recommend(Requirements(interruption_tolerant=False))

    assert recommendation.parameters["UseSpotTraining"] == "false"


def test_requirements_reject_unknown_fields(tmp_path):
    profile = tmp_path / "typo.yaml"
    profile.write_text("images_per_dya: 10\n")

    with pytest.raises(ValueError, match="images_per_dya"):
        load_requirements(profile, {})


def test_flags_override_the_profile():
    requirements = load_requirements(
        PROFILES / "small_line.yaml", {"requests_per_second": 3.0, "retrain": None}
    )

    assert requirements.requests_per_second == 3.0
    assert requirements.retrain == "weekly"


# --- Template constraints -------------------------------------------------------------------------
def _contract_parameter_names() -> set[str]:
    text = CONTRACTS.read_text()
    section = text.split("Parameters (all tunables", 1)[1].split("Lambda environment", 1)[0]
    return set(re.findall(r"`([A-Z][A-Za-z]+)`", section))


@pytest.mark.parametrize("profile", list(EXPECTED_CHOICES))
def test_profile_overrides_pass_the_template_constraints(profile: str):
    overrides = _recommend(profile).parameters
    template_parameters = _template_parameters()

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


def test_out_of_range_numbers_are_clamped_to_the_template():
    parameters = {"MaxRuntimeSeconds": {"Type": "Number", "MinValue": 600, "MaxValue": 7200}}

    recommendation = recommend(
        Requirements(images_total=5_000_000, retrain="weekly"), template_parameters=parameters
    )

    assert recommendation.parameters["MaxRuntimeSeconds"] == "7200"
    assert any("outside the template's range" in w for w in recommendation.warnings)


@pytest.mark.infra
@pytest.mark.parametrize("profile", list(EXPECTED_CHOICES))
def test_template_with_profile_defaults_passes_cfn_lint(profile: str, tmp_path):
    template = read_template(TEMPLATE)
    for name, value in _recommend(profile).parameters.items():
        template["Parameters"][name]["Default"] = value
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(template, sort_keys=False))

    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "cfn-lint"), str(path)], capture_output=True, text=True, check=False
    )

    # cfn-lint: 0 clean, 4 warnings only, 8 informational; 2 (errors) fails.
    assert result.returncode & 2 == 0, result.stdout + result.stderr


# --- samconfig.toml --------------------------------------------------------------------------------
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


def test_merge_keeps_other_environments_and_undecided_overrides():
    document = tomllib.loads(EXISTING)

    merged = merge_samconfig(
        document, "dev", {"GlueNumberOfWorkers": "5", "RetrainScheduleExpression": "cron(0 3 * * ? *)"}
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
    merged = merge_samconfig({}, "plant-a", {"EndpointInstanceCount": "2"})

    deploy = merged["plant-a"]["deploy"]["parameters"]
    assert deploy["stack_name"] == "defect-mlops-plant-a"
    assert "CAPABILITY_IAM" in deploy["capabilities"]
    assert merged["version"] == 0.1


def test_samconfig_text_round_trips_through_tomllib():
    document = merge_samconfig(
        tomllib.loads(EXISTING), "dev", {"RetrainScheduleExpression": "cron(0 3 ? * MON *)"}
    )

    assert tomllib.loads(dumps_samconfig(document)) == document


def test_overrides_with_spaces_round_trip():
    overrides = {"MonitoringScheduleExpression": "cron(0 * ? * * *)", "GlueWorkerType": "G.1X"}

    assert parse_parameter_overrides(format_parameter_overrides(overrides)) == overrides


def test_override_with_a_quote_is_refused():
    with pytest.raises(ValueError, match="quote"):
        format_parameter_overrides({"NotificationEmail": 'a"b'})


def test_written_environment_is_what_the_local_runtime_reads(tmp_path):
    path = tmp_path / "samconfig.toml"
    path.write_text(EXISTING)
    overrides = _recommend("large_plant").parameters

    write_samconfig(path, "dev", overrides)

    read_back = samconfig_parameter_overrides(path, "dev")
    assert {k: read_back[k] for k in overrides} == overrides
    assert read_back["NotificationEmail"] == "ops@example.com"
    assert samconfig_parameter_overrides(path, "prod") == {"EnvironmentName": "prod"}


# --- Command line ------------------------------------------------------------------------------------
def test_main_writes_the_samconfig_environment(tmp_path, capsys):
    path = tmp_path / "samconfig.toml"

    status = main(
        [
            "--profile",
            str(PROFILES / "small_line.yaml"),
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
