"""The cost-allocation tags of what the pipeline creates while it runs."""

from __future__ import annotations

from mlops_common.domain.cost_tags import cost_allocation_tags


def test_a_resource_of_one_run_is_tagged_with_project_environment_and_execution() -> None:
    assert cost_allocation_tags("prod", "upload-20261112T1000-1a2b3c4d") == [
        {"Key": "project", "Value": "defect-mlops"},
        {"Key": "environment", "Value": "prod"},
        {"Key": "pipeline-execution", "Value": "upload-20261112T1000-1a2b3c4d"},
    ]


def test_a_resource_that_outlives_runs_is_tagged_with_project_and_environment_only() -> None:
    assert cost_allocation_tags("dev") == [
        {"Key": "project", "Value": "defect-mlops"},
        {"Key": "environment", "Value": "dev"},
    ]
