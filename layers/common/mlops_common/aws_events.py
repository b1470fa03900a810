"""The events AWS sends to start_pipeline and handle_drift, typed on Powertools' parser models.

The handlers parse an event here first and hand the service the typed result, so services never
look inside raw dicts. The envelopes are Powertools' (``SqsModel``, ``EventBridgeModel``), the
``detail`` of each event kind is ours; each kind fixes ``detail-type`` and ``source`` to literals,
which makes handle_drift's two kinds a discriminated union.

Only those two functions import this module: importing Powertools' parser package costs ~0.1-0.2 s
of cold start that the pipeline's task functions (``models``) have no use for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser.models.event_bridge import EventBridgeModel
from aws_lambda_powertools.utilities.parser.models.sqs import SqsModel, SqsRecordModel
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, RootModel, ValidationError

from mlops_common.bounded_json import MAX_MESSAGE_BYTES, JsonLimitExceeded, check_depth, loads
from mlops_common.domain.errors import EventNotUnderstood
from mlops_common.models import AwsEvent

# AWS adds fields to its events over time: ignore unknown ones. Validators are built on first use.
_EVENT_CONFIG = ConfigDict(extra="ignore", populate_by_name=True, frozen=True, defer_build=True)


class _EventBridgeEvent(EventBridgeModel):
    model_config = _EVENT_CONFIG


# --- S3 "Object Created" through EventBridge and SQS (start_pipeline) ---------------------------


class S3ObjectDetail(AwsEvent):
    # AWS documents ``etag``; moto sends ``eTag``: accept both.
    key: str = Field(min_length=1)
    size: int | None = None
    etag: str | None = Field(default=None, validation_alias=AliasChoices("etag", "eTag"))
    version_id: str | None = Field(default=None, alias="version-id")
    sequencer: str | None = None


class S3BucketDetail(AwsEvent):
    name: str = Field(min_length=3)


class ObjectCreatedDetail(AwsEvent):
    bucket: S3BucketDetail
    object: S3ObjectDetail
    reason: str | None = None


class ObjectCreatedEvent(_EventBridgeEvent):
    """EventBridge ``Object Created`` from S3 (the key is URL-encoded: see domain.keys)."""

    detail_type: Literal["Object Created"] = Field(alias="detail-type")
    source: Literal["aws.s3"]
    detail: ObjectCreatedDetail


class _SqsRecord(SqsRecordModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    body: str


class _SqsBatch(SqsModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    Records: Sequence[_SqsRecord]


class UploadMessage(BaseModel):
    """One SQS message of a batch: the upload it announces, or why its body is not one."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    message_id: str
    upload: ObjectCreatedEvent | None = None
    problem: str | None = None


def parse_upload_batch(event: Any) -> list[UploadMessage]:
    """Every message of an SQS batch, parsed on its own.

    A body that is not an ``Object Created`` event, or is larger or more deeply nested than one
    (``bounded_json``), spoils only its own message (SQS redelivers it, then keeps it in the DLQ);
    an event that is not an SQS batch at all is ``EventNotUnderstood``.
    """
    _check_event_depth(event)
    try:
        batch = _SqsBatch.model_validate(event)
    except ValidationError as exc:
        raise EventNotUnderstood(f"not an SQS event: {exc.error_count()} problem(s)") from exc
    messages = []
    for record in batch.Records:
        try:
            upload = ObjectCreatedEvent.model_validate(loads(record.body, max_bytes=MAX_MESSAGE_BYTES))
        except ValueError as exc:
            # A ValidationError is a ValueError too: not JSON, too large or deep, or not the event.
            messages.append(UploadMessage(message_id=record.messageId, problem=str(exc)[:500]))
        else:
            messages.append(UploadMessage(message_id=record.messageId, upload=upload))
    return messages


def _check_event_depth(event: Any) -> None:
    try:
        check_depth(event)
    except JsonLimitExceeded as exc:
        raise EventNotUnderstood(f"event not understood: {exc}") from exc


# --- drift signals (handle_drift) ---------------------------------------------------------------


class S3OutputSpec(AwsEvent):
    s3_uri: str = Field(alias="S3Uri")


class ProcessingOutput(AwsEvent):
    output_name: str | None = Field(default=None, alias="OutputName")
    s3_output: S3OutputSpec | None = Field(default=None, alias="S3Output")


class ProcessingOutputConfig(AwsEvent):
    outputs: list[ProcessingOutput] = Field(default_factory=list, alias="Outputs")


class ProcessingJobDetail(AwsEvent):
    """The detail of ``SageMaker Processing Job State Change``: a DescribeProcessingJob response."""

    processing_job_name: str = Field(alias="ProcessingJobName")
    processing_job_status: str = Field(alias="ProcessingJobStatus")
    exit_message: str | None = Field(default=None, alias="ExitMessage")
    monitoring_schedule_arn: str | None = Field(default=None, alias="MonitoringScheduleArn")
    processing_output_config: ProcessingOutputConfig | None = Field(
        default=None, alias="ProcessingOutputConfig"
    )


class ProcessingJobStateChange(_EventBridgeEvent):
    detail_type: Literal["SageMaker Processing Job State Change"] = Field(alias="detail-type")
    source: Literal["aws.sagemaker"]
    detail: ProcessingJobDetail


class AlarmState(AwsEvent):
    value: Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
    reason: str = ""
    timestamp: str | None = None


class AlarmDetail(AwsEvent):
    alarm_name: str = Field(alias="alarmName")
    state: AlarmState
    previous_state: AlarmState | None = Field(default=None, alias="previousState")


class AlarmStateChange(_EventBridgeEvent):
    detail_type: Literal["CloudWatch Alarm State Change"] = Field(alias="detail-type")
    source: Literal["aws.cloudwatch"]
    detail: AlarmDetail


DriftEvent = ProcessingJobStateChange | AlarmStateChange


class _DriftEventRoot(RootModel[Annotated[DriftEvent, Field(discriminator="detail_type")]]):
    model_config = ConfigDict(defer_build=True)


_NOT_ONE_OF_THE_KINDS = {"union_tag_invalid", "union_tag_not_found"}


def parse_drift_event(event: Any) -> DriftEvent:
    """A Model Monitor job's or a CloudWatch alarm's state change; ``EventNotUnderstood`` otherwise."""
    _check_event_depth(event)
    try:
        return _DriftEventRoot.model_validate(event).root
    except ValidationError as exc:
        detail_type = event.get("detail-type") if isinstance(event, dict) else None
        if any(error["type"] in _NOT_ONE_OF_THE_KINDS for error in exc.errors()):
            raise EventNotUnderstood(f"handle_drift does not handle detail-type {detail_type!r}") from exc
        raise EventNotUnderstood(f"malformed {detail_type} event: {exc}") from exc


# --- the end of a training run (run_ended) -------------------------------------------------------


class ExecutionStatusDetail(AwsEvent):
    execution_arn: str = Field(alias="executionArn")
    state_machine_arn: str = Field(alias="stateMachineArn")
    name: str
    status: Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]
    input: str | None = None
    # How often the execution was redriven: a RUNNING event with a count above 0 is a redrive.
    redrive_count: int | None = Field(default=None, alias="redriveCount")


class ExecutionStatusChange(_EventBridgeEvent):
    """``Step Functions Execution Status Change`` (delivered best effort, so see ReconcileTick)."""

    detail_type: Literal["Step Functions Execution Status Change"] = Field(alias="detail-type")
    source: Literal["aws.states"]
    detail: ExecutionStatusDetail


class ReconcileTick(_EventBridgeEvent):
    """The EventBridge schedule rule's ``Scheduled Event``: look for a run that ended unseen."""

    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")
    source: Literal["aws.events"]


RunEndedEvent = ExecutionStatusChange | ReconcileTick


class _RunEndedEventRoot(RootModel[Annotated[RunEndedEvent, Field(discriminator="detail_type")]]):
    model_config = ConfigDict(defer_build=True)


def parse_run_ended_event(event: Any) -> RunEndedEvent:
    """An execution's status change or a reconcile tick; ``EventNotUnderstood`` otherwise."""
    _check_event_depth(event)
    try:
        return _RunEndedEventRoot.model_validate(event).root
    except ValidationError as exc:
        detail_type = event.get("detail-type") if isinstance(event, dict) else None
        if any(error["type"] in _NOT_ONE_OF_THE_KINDS for error in exc.errors()):
            raise EventNotUnderstood(f"run_ended does not handle detail-type {detail_type!r}") from exc
        raise EventNotUnderstood(f"malformed {detail_type} event: {exc}") from exc


def parse_execution_status_change(event: Any) -> ExecutionStatusChange:
    """An execution's status change; ``EventNotUnderstood`` otherwise."""
    _check_event_depth(event)
    try:
        return ExecutionStatusChange.model_validate(event)
    except ValidationError as exc:
        detail_type = event.get("detail-type") if isinstance(event, dict) else None
        raise EventNotUnderstood(f"not an execution status change ({detail_type!r}): {exc}") from exc
