"""The largest SQS batch the template lets start_pipeline receive fits within its timeout.

Per message start_pipeline parses the body, applies the key rules and makes two DynamoDB writes one
after the other (record the upload, then mark which run covers it). Measured on one core of the
development machine: ~0.3 ms of parsing and rules and ~2.5-4 ms of boto3 client work for the two
writes; 15-28 ms per message in all under moto. On Lambda at the template's 512 MB a function has
~0.29 vCPU (one vCPU at 1,769 MB, https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html),
so the CPU part is ~10-14 ms, and DynamoDB's single-digit-millisecond writes
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Introduction.html) add up to
~20 ms: ~35 ms per message.
"""

from __future__ import annotations

from typing import Any

SECONDS_PER_MESSAGE = 0.035
# The rest of the timeout is for throttling retries with backoff and a cold start.
SHARE_OF_TIMEOUT_FOR_THE_BATCH = 0.6


def _start_pipeline(template: dict[str, Any]) -> dict[str, Any]:
    (function,) = [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
        and resource["Properties"].get("CodeUri") == "functions/start_pipeline/"
    ]
    return dict(function)


def test_the_largest_batch_fits_in_the_functions_timeout(template: dict[str, Any]) -> None:
    function = _start_pipeline(template)
    timeout = function.get("Timeout", template["Globals"]["Function"]["Timeout"])
    (source,) = function["Events"].values()
    assert source["Properties"]["BatchSize"] == {"Ref": "TriggerBatchSize"}
    largest = template["Parameters"]["TriggerBatchSize"]["MaxValue"]

    assert largest * SECONDS_PER_MESSAGE <= SHARE_OF_TIMEOUT_FOR_THE_BATCH * timeout


def test_the_memory_the_estimate_assumes_is_the_functions(template: dict[str, Any]) -> None:
    function = _start_pipeline(template)
    assert function.get("MemorySize", template["Globals"]["Function"]["MemorySize"]) >= 512
