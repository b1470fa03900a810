"""moto's Fail state refuses to raise an error whose name begins with ``States.``.

A Fail state that re-raises a caught error (``ErrorPath: $.Error``, or in JSONata
``"Error": "{% $failure.Error %}"``) fails instead with ``States.Runtime`` and a ValueError ("Custom
Error Names MUST NOT begin with the prefix 'States.'") whenever the caught error is one of Step
Functions' own, such as a ``.sync`` job's ``States.TaskFailed``. The execution then reports moto's
ValueError rather than the job's error and cause.

AWS documents this very pattern: its Fail state example resolves ``"ErrorPath": "$.Error"`` and
``"CausePath": "$.Cause"`` from the state input, and names no check on the resolved value beyond
being a string ("Fail workflow state",
https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html). The prefix rule of the
error-handling page is about the names a state may report as its own. The workaround lets the Fail
state raise the name it resolved, as the page shows.
"""

from __future__ import annotations

from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.state.fail import state_fail

from mlops_local.engine.moto_compat.registry import Workaround
from mlops_local.engine.patching import Patches, replace


class RaisedErrorName(ErrorName):
    """The name a Fail state resolved, whatever its prefix."""


def _patches() -> Patches:
    yield replace(state_fail, "CustomErrorName", RaisedErrorName)


WORKAROUND = Workaround(
    name="fail_state_refuses_states_errors",
    moto_does=(
        "fails a Fail state whose Error resolves to a States.* name (re-raising a caught "
        "States.TaskFailed) with States.Runtime and a ValueError"
    ),
    aws_does="the Fail state raises the error and cause it resolved (ErrorPath: $.Error, as AWS's example)",
    applies_to="==5.2.5",
    patches=_patches,
)
