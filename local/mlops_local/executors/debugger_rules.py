"""Debugger's built-in rules, evaluated offline from the training script's own diagnostics.

A training job created with ``DebugRuleConfigurations`` (the pipeline's ``EnableDebuggerRules``
option, for accounts that still have SageMaker Debugger) reports one ``DebugRuleEvaluationStatus``
per rule in DescribeTrainingJob. On AWS each rule runs as its own processing job beside the training
job; offline there is no rule container, but ``train.py`` already computes the same conditions
(``diagnostics.json`` in its model folder), so each built-in rule the pipeline configures is
answered from the matching check. A rule with no matching check is reported as ``Error`` with the
reason, never as passed.

Shape and values: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DebugRuleEvaluationStatus.html
(RuleEvaluationStatus: InProgress | NoIssuesFound | IssuesFound | Error | Stopping | Stopped; the
evaluation job's ARN is a processing-job ARN).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

# Debugger built-in rule (RuleParameters.rule_to_invoke) -> the check of training/diagnostics.py
# that tests the same condition.
# https://docs.aws.amazon.com/sagemaker/latest/dg/debugger-built-in-rules.html
RULE_CHECKS = {
    "LossNotDecreasing": "loss_not_decreasing",
    "Overfit": "overfitting",
    "VanishingGradient": "vanishing_gradients",
    "ExplodingTensor": "exploding_gradients",
    "ClassImbalance": "class_imbalance",
}
_STATUS_DETAILS_MAX = 1024  # StatusDetails' length constraint


def rule_evaluation_statuses(
    request: Mapping[str, Any],
    diagnostics_file: Path,
    *,
    region: str,
    account: str,
    now: datetime,
) -> list[dict[str, Any]]:
    """DescribeTrainingJob's ``DebugRuleEvaluationStatuses`` for a job that ended with a model."""
    checks = _checks(diagnostics_file)
    statuses = []
    for rule in request.get("DebugRuleConfigurations", []):
        name = rule["RuleConfigurationName"]
        invoked = rule.get("RuleParameters", {}).get("rule_to_invoke", name)
        check = (checks or {}).get(RULE_CHECKS.get(invoked, ""))
        if checks is None:
            status, details = (
                "Error",
                f"Rule {invoked} cannot be evaluated: the job wrote no diagnostics.json",
            )
        elif check is None:
            status, details = (
                "Error",
                f"Rule {invoked} cannot be evaluated offline: no check of train.py tests it",
            )
        elif check.get("status") == "issues_found":
            status, details = "IssuesFound", check.get("reason", "")
        else:
            status, details = "NoIssuesFound", check.get("reason", "")
        statuses.append(
            {
                "RuleConfigurationName": name,
                "RuleEvaluationJobArn": _evaluation_job_arn(
                    request["TrainingJobName"], name, region, account
                ),
                "RuleEvaluationStatus": status,
                "StatusDetails": details[:_STATUS_DETAILS_MAX],
                "LastModifiedTime": now,
            }
        )
    return statuses


def _checks(diagnostics_file: Path) -> dict[str, dict[str, str]] | None:
    """The run's final verdict per check (``diagnostics.json``'s ``checks``); None without the file."""
    if not diagnostics_file.is_file():
        return None
    document = json.loads(diagnostics_file.read_text(encoding="utf-8"))
    return dict(document.get("checks", {}))


def _evaluation_job_arn(training_job: str, rule: str, region: str, account: str) -> str:
    # A processing-job name: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}.
    digest = hashlib.sha256(f"{training_job}/{rule}".encode()).hexdigest()[:8]
    name = f"{training_job[:38].rstrip('-')}-{rule[:15]}-{digest}"
    return f"arn:aws:sagemaker:{region}:{account}:processing-job/{name}"
