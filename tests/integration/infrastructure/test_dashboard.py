"""The pipeline's CloudWatch dashboard: a valid body that shows both state machines by outcome, every
dead-letter queue and the gate decisions where the functions publish them, in any region and account.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from mlops_local.engine.dead_letters import dead_letter_queues

STATE_MACHINE_TYPES = {"AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"}
OUTCOMES = {"ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}
_PLACEHOLDER = re.compile(r"\$\{([^}!][^}]*)\}")


def substituted(body: str, parameters: dict[str, Any]) -> str:
    """The body as ``Fn::Sub`` renders it: a parameter becomes its default, anything else ``<name>``."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(parameters[name]["Default"]) if name in parameters else f"<{name}>"

    return _PLACEHOLDER.sub(value, body)


@pytest.fixture(scope="module")
def raw_body(template: dict[str, Any]) -> str:
    (dashboard,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    assert isinstance(body, str)
    return body


@pytest.fixture(scope="module")
def widgets(template: dict[str, Any], raw_body: str) -> list[dict[str, Any]]:
    return list(json.loads(substituted(raw_body, template["Parameters"]))["widgets"])


def metrics(widgets: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, str]]]:
    """Every plain metric of the dashboard: (namespace, name, dimensions)."""
    found = []
    for widget in widgets:
        for metric in widget.get("properties", {}).get("metrics", []):
            plain = [part for part in metric if isinstance(part, str)]
            if len(plain) >= 2:
                namespace, name, *pairs = plain
                found.append((namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True))))
    return found


def test_the_body_is_a_json_document_of_widgets(widgets) -> None:
    assert widgets
    assert all({"type", "x", "y", "width", "height", "properties"} <= set(w) for w in widgets)


def test_every_dead_letter_queue_depth_is_shown(template, widgets) -> None:
    shown = {
        dimensions.get("QueueName")
        for namespace, name, dimensions in metrics(widgets)
        if (namespace, name) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    }

    assert {f"<{queue}.QueueName>" for queue in dead_letter_queues(template["Resources"])} <= shown


def test_both_state_machines_are_shown_by_every_outcome(template, widgets) -> None:
    machines = {k for k, v in template["Resources"].items() if v["Type"] in STATE_MACHINE_TYPES}
    shown = {
        (dimensions.get("StateMachineArn"), name)
        for namespace, name, dimensions in metrics(widgets)
        if namespace == "AWS/States"
    }

    assert len(machines) == 2
    assert {(f"<{machine}>", outcome) for machine in machines for outcome in OUTCOMES} <= shown


def test_gate_decisions_are_read_where_the_functions_publish_them(template, widgets) -> None:
    environment = template["Globals"]["Function"]["Environment"]["Variables"]
    gate = {(ns, name, dims.get("service")) for ns, name, dims in metrics(widgets) if name.startswith("Gate")}

    assert gate == {
        (environment["POWERTOOLS_METRICS_NAMESPACE"], name, environment["POWERTOOLS_SERVICE_NAME"])
        for name in ("GatePassed", "GateFailed")
    }


def test_no_region_or_account_is_written_into_the_body(raw_body, widgets) -> None:
    regions = {w["properties"]["region"] for w in widgets if "region" in w["properties"]}

    assert regions == {"<AWS::Region>"}
    assert re.search(r"\b\d{12}\b", raw_body) is None
