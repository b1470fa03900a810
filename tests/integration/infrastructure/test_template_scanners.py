"""The template passes SAM validation, cfn-lint (with the serverless rules) and checkov."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.infra


@pytest.mark.scanners
def test_sam_validate_lint_passes(sam_cli, run_tool, template_path):
    result = run_tool(sam_cli, "validate", "--lint", "--template", template_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.scanners
def test_cfn_lint_with_serverless_rules_passes(cfn_lint_cli, run_tool, template_path):
    result = run_tool(cfn_lint_cli, template_path, "--append-rules", "cfn_lint_serverless.rules")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.scanners
def test_checkov_finds_no_failed_checks(checkov_cli, run_tool, template_path):
    result = run_tool(
        checkov_cli,
        "--framework",
        "cloudformation",
        "--skip-download",
        "-f",
        template_path,
        "--output",
        "json",
    )
    report = json.loads(result.stdout)
    failed = [(check["check_id"], check["resource"]) for check in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["passed"] > 0


def test_every_checkov_skip_is_justified_next_to_its_resource(template_path):
    skips = re.findall(r"- id: (CKV_\w+)\n\s+comment: (.+)", template_path.read_text())
    assert skips
    assert all(len(comment.strip()) > 20 for _, comment in skips)
    assert template_path.read_text().count("- id: CKV_") == len(skips)
