"""Fixture start_pipeline: one execution per batch; fails the messages whose key contains 'reject'."""

import json
import os
import urllib.parse
import uuid

import boto3
from fixture_common import function_role

BATCH_SIZES: list[int] = []


def lambda_handler(event, context):
    assert function_role() == "start"
    failures = []
    keys = []
    for record in event["Records"]:
        detail = json.loads(record["body"])["detail"]
        key = urllib.parse.unquote_plus(detail["object"]["key"])
        if "reject" in key:
            failures.append({"itemIdentifier": record["messageId"]})
        else:
            keys.append(key)
    BATCH_SIZES.append(len(event["Records"]))
    if keys:
        boto3.client("stepfunctions").start_execution(
            stateMachineArn=os.environ["TRAINING_STATE_MACHINE_ARN"],
            name=f"upload-{uuid.uuid4().hex[:8]}",
            input=json.dumps({"trigger": "upload", "objects": len(keys)}),
        )
    return {"batchItemFailures": failures}
