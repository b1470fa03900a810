"""A Fail state re-raising a caught States.* error: refused by stock moto, raised by the workaround."""

from __future__ import annotations

import json
from collections.abc import Callable

from mlops_local.engine.moto_compat.fail_state_refuses_states_errors import WORKAROUND
from tests.unit.mlops_local.engine.conftest import run_state_machine

CAUGHT = {"Error": "States.TaskFailed", "Cause": json.dumps({"TrainingJobStatus": "Failed"})}
RERAISE = {
    "StartAt": "Failed",
    "States": {"Failed": {"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "$.Cause"}},
}


def test_stock_moto_refuses_to_reraise_a_states_error(stock: None) -> None:
    described = run_state_machine(RERAISE, CAUGHT)
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"
    assert "MUST NOT begin with the prefix 'States.'" in described["cause"]


def test_the_workaround_alone_reraises_the_caught_error_and_cause(apply: Callable[..., None]) -> None:
    apply(WORKAROUND)
    described = run_state_machine(RERAISE, CAUGHT)
    assert described["status"] == "FAILED"
    assert (described["error"], described["cause"]) == (CAUGHT["Error"], CAUGHT["Cause"])
