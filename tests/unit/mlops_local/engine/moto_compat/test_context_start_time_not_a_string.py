"""$$.Execution.StartTime: a datetime in moto's engine, an ISO 8601 string on AWS."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from mlops_local.engine.moto_compat.context_start_time_not_a_string import WORKAROUND
from tests.unit.mlops_local.engine.conftest import run_state_machine

DATE_OF_START = {
    "StartAt": "Date",
    "States": {
        "Date": {
            "Type": "Pass",
            "Parameters": {
                "started.$": "$$.Execution.StartTime",
                "date.$": "States.ArrayGetItem(States.StringSplit($$.Execution.StartTime, 'T'), 0)",
            },
            "End": True,
        }
    },
}


def test_stock_intrinsic_functions_cannot_read_the_start_time(stock: None) -> None:
    described = run_state_machine(DATE_OF_START)
    assert described["status"] == "FAILED"
    assert "TypeError" in described.get("cause", "")


def test_the_workaround_alone_gives_the_start_time_as_aws_writes_it(apply: Callable[..., None]) -> None:
    apply(WORKAROUND)
    described = run_state_machine(DATE_OF_START)
    assert described["status"] == "SUCCEEDED", described.get("cause")

    output = json.loads(described["output"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", output["started"])
    assert output["date"] == output["started"][:10]
