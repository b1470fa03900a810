"""Debugger's built-in rules answered from train.py's own diagnostics, in DescribeTrainingJob's shape."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from mlops_local.executors.debugger_rules import rule_evaluation_statuses

RULES_IMAGE = "503895931360.dkr.ecr.us-east-1.amazonaws.com/sagemaker-debugger-rules:latest"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
JOB = "upload-20261203T1200-1a2b3c4d-train-5e6f7a8b"
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DebugRuleEvaluationStatus.html
ARN = re.compile(
    r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:processing-job/[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
)


def _request(*rules: str) -> dict:
    return {
        "TrainingJobName": JOB,
        "DebugRuleConfigurations": [
            {
                "RuleConfigurationName": rule,
                "RuleEvaluatorImage": RULES_IMAGE,
                "RuleParameters": {"rule_to_invoke": rule},
            }
            for rule in rules
        ],
    }


def _diagnostics(tmp_path: Path, **statuses: str) -> Path:
    path = tmp_path / "diagnostics.json"
    checks = {name: {"status": status, "reason": f"{name} reason"} for name, status in statuses.items()}
    path.write_text(json.dumps({"status": "ok", "checks": checks}), encoding="utf-8")
    return path


def _statuses(request: dict, path: Path) -> list[dict]:
    return rule_evaluation_statuses(request, path, region="us-east-1", account="123456789012", now=NOW)


def test_each_configured_rule_is_answered_by_its_check(tmp_path: Path) -> None:
    path = _diagnostics(tmp_path, loss_not_decreasing="ok", overfitting="issues_found")
    statuses = _statuses(_request("LossNotDecreasing", "Overfit"), path)
    assert [
        (s["RuleConfigurationName"], s["RuleEvaluationStatus"], s["StatusDetails"]) for s in statuses
    ] == [
        ("LossNotDecreasing", "NoIssuesFound", "loss_not_decreasing reason"),
        ("Overfit", "IssuesFound", "overfitting reason"),
    ]
    assert all(s["LastModifiedTime"] == NOW for s in statuses)


def test_evaluation_jobs_are_named_as_processing_jobs_one_per_rule(tmp_path: Path) -> None:
    statuses = _statuses(_request("LossNotDecreasing", "Overfit"), _diagnostics(tmp_path))
    arns = [s["RuleEvaluationJobArn"] for s in statuses]
    assert all(ARN.match(arn) for arn in arns), arns
    assert len(set(arns)) == 2


def test_a_rule_without_a_check_is_an_error_never_a_pass(tmp_path: Path) -> None:
    statuses = _statuses(_request("PoorWeightInitialization"), _diagnostics(tmp_path))
    assert statuses[0]["RuleEvaluationStatus"] == "Error"
    assert "cannot be evaluated offline" in statuses[0]["StatusDetails"]


def test_without_diagnostics_every_rule_is_an_error(tmp_path: Path) -> None:
    statuses = _statuses(_request("LossNotDecreasing"), tmp_path / "missing.json")
    assert statuses[0]["RuleEvaluationStatus"] == "Error"
    assert "no diagnostics.json" in statuses[0]["StatusDetails"]


def test_a_job_without_rules_reports_none(tmp_path: Path) -> None:
    request = {"TrainingJobName": JOB}
    assert _statuses(request, _diagnostics(tmp_path)) == []
