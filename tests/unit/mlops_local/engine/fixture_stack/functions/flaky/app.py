"""Fixture task function: raises the error named in the input, else echoes its role and input."""

from fixture_common import function_role


class DatasetNotUsable(Exception):
    pass


class TransientError(Exception):
    pass


CALLS: list[dict] = []


def lambda_handler(event, context):
    CALLS.append(event)
    if event.get("raise") == "DatasetNotUsable":
        raise DatasetNotUsable("too few images of class dent")
    if event.get("raise") == "TransientError" and sum(1 for c in CALLS if c.get("raise")) < 2:
        raise TransientError("try again")
    return {"role": function_role(), "input": event, "remaining_ms": context.get_remaining_time_in_millis()}
