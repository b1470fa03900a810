"""The cost-allocation tags of what the pipeline creates while it runs.

CloudFormation puts the stack's tags (``tags`` in samconfig.toml: ``project``, ``environment``) on the
resources of the stack. The SageMaker jobs, models, endpoint configs, the endpoint and the monitoring
schedule are created later, by the state machines and the functions, and carry only the tags their
create call names: each names these, with the same keys, so one cost-allocation tag groups the whole
bill (docs/cost.md). The state machines name the same tags in their ASL.
"""

from __future__ import annotations

# The project tag samconfig.toml puts on the stack; tests/unit/statemachines checks the ASL agrees.
PROJECT = "defect-mlops"
PROJECT_TAG = "project"
ENVIRONMENT_TAG = "environment"
# Only on what one run creates (its jobs, model, endpoint config): the endpoint and the monitoring
# schedule outlive the run that created them.
EXECUTION_TAG = "pipeline-execution"
REQUIRED_TAGS = frozenset({PROJECT_TAG, ENVIRONMENT_TAG})


def cost_allocation_tags(environment: str, execution_name: str | None = None) -> list[dict[str, str]]:
    """The ``Tags`` of a create call: project and environment, and the execution that owns it if any."""
    tags = [{"Key": PROJECT_TAG, "Value": PROJECT}, {"Key": ENVIRONMENT_TAG, "Value": environment}]
    if execution_name is not None:
        tags.append({"Key": EXECUTION_TAG, "Value": execution_name})
    return tags
