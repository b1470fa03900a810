"""Every place where moto 5.2.5 differs from AWS in a way the local runtime depends on.

Each workaround says what moto does and what AWS does. ``tests/unit/mlops_local/aws/
test_moto_patches.py`` shows for each one that stock moto still behaves that way (so an upgrade
that changes it fails loudly) and that the patched behaviour matches AWS.

``MotoPatches.apply()`` must run after ``mock_aws`` has started: moto replaces boto3's default
session when it starts, and the Lambda and throttling hooks live on that session.
"""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final
from unittest import mock

import boto3
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from moto.core.responses import ActionResult, EmptyResult
from moto.events.models import EventsBackend
from moto.glue.responses import GlueResponse
from moto.s3 import notifications as s3_notifications
from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound, ValidationError
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback as callback_service,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_factory,
    state_task_service_glue,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

from mlops_local.aws.events import EventRouter, object_created_event
from mlops_local.aws.jobs import LOCAL_CHILD_TAG, EndpointLifecycle, JobLifecycle
from mlops_local.aws.lambdas import LambdaRegistry
from mlops_local.aws.template import ACCOUNT_ID, REGION

# -- 1. IAM policy documents without a Version -------------------------------------------------
# moto: PutRolePolicy rejects a document without "Version" (MalformedPolicyDocument).
# AWS: "Version" is optional; SAM's generated policies omit it.


def versioned_policy(document: dict[str, Any]) -> dict[str, Any]:
    """The policy document with ``Version: 2012-10-17`` when it has none, so moto accepts it."""
    return document if "Version" in document else {"Version": "2012-10-17", **document}


# -- 2. Timestamps in .sync task outputs ---------------------------------------------------------
# moto: the Glue .sync resolver puts GetJobRun's datetime objects into the state output, and
#   DescribeExecution then fails with "datetime is not JSON serializable".
# AWS: Step Functions serialises the service's timestamps as epoch milliseconds (numbers).


def json_safe(value: Any) -> Any:
    """``value`` with every datetime turned into epoch milliseconds, as Step Functions outputs them."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


# Both patterns are listed so the engine creates the callback endpoint its finally block needs.
_SYNC_AND_TOKEN: Final[set[Any]] = {ResourceCondition.Sync, ResourceCondition.WaitForTaskToken}

# -- 3. glue:startJobRun.sync ---------------------------------------------------------------------
# moto: the Glue service lists only the Sync pattern, so no callback endpoint exists, and the
#   engine's finally block calls ``callback_endpoint.interrupt_all()`` on None: every .sync run
#   fails with States.Runtime "'NoneType' object has no attribute 'interrupt_all'".
# AWS: the task waits for the job run and outputs GetJobRun's JobRun (States.TaskFailed on failure).


class StopSafeSync(callback_service.StateTaskServiceCallback):
    """A .sync task whose execution is stopped while the task starts ends quietly.

    moto: evaluating the task's timeout on a stopped execution pushes nothing, so the engine pops the
    state's input in its place and the token-wait thread dies on ``dict > int`` (a TypeError printed
    as an unhandled thread exception). AWS: the stopped task simply ends. Nothing waits here then.
    """

    def _eval_sync(
        self,
        env: Any,
        sync_resolver: Any,
        timeout_seconds: Any,
        callback_endpoint: Any,
        heartbeat_endpoint: Any,
    ) -> Any:
        if not isinstance(timeout_seconds, int):
            return None
        return super()._eval_sync(
            env=env,
            sync_resolver=sync_resolver,
            timeout_seconds=timeout_seconds,
            callback_endpoint=callback_endpoint,
            heartbeat_endpoint=heartbeat_endpoint,
        )


class GlueSyncService(StopSafeSync, state_task_service_glue.StateTaskServiceGlue):
    """moto's Glue integration with a callback endpoint and JSON-safe outputs."""

    def __init__(self) -> None:
        callback_service.StateTaskServiceCallback.__init__(
            self, supported_integration_patterns=_SYNC_AND_TOKEN
        )

    @staticmethod
    def _get_glue_client(resource_runtime_part: Any, state_credentials: Any) -> Any:
        client = boto_client_for(
            region=resource_runtime_part.region, service="glue", state_credentials=state_credentials
        )
        return _JsonSafeGlueClient(client)


class _JsonSafeGlueClient:
    """A Glue client whose GetJobRun answers carry epoch-millisecond timestamps."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def get_job_run(self, **kwargs: Any) -> Any:
        return json_safe(self._client.get_job_run(**kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


# -- 4. sagemaker:create*Job.sync ---------------------------------------------------------------
# moto: "sagemaker" is in the engine's unsupported set: non-.sync calls are forwarded, .sync ones
#   fail with "Unsupported .sync callback procedure", and a rejected Create call surfaces as
#   States.Runtime.
# AWS: the .sync task waits for the job and outputs its Describe response; a job that ends Failed
#   or Stopped fails the task with States.TaskFailed and the Describe response as Cause; a rejected
#   API call fails it with "SageMaker.<ExceptionName>" (modelled errors, e.g.
#   SageMaker.ResourceLimitExceededException) or "SageMaker.AmazonSageMakerException" (others,
#   throttling and validation included).

# Create action -> (Describe action, name parameter, status field).
_SAGEMAKER_SYNC: Final[dict[str, tuple[str, str, str]]] = {
    "create_training_job": ("describe_training_job", "TrainingJobName", "TrainingJobStatus"),
    "create_hyper_parameter_tuning_job": (
        "describe_hyper_parameter_tuning_job",
        "HyperParameterTuningJobName",
        "HyperParameterTuningJobStatus",
    ),
    "create_processing_job": ("describe_processing_job", "ProcessingJobName", "ProcessingJobStatus"),
    "create_transform_job": ("describe_transform_job", "TransformJobName", "TransformJobStatus"),
}
_SAGEMAKER_ACTIONS: Final[set[str]] = {
    *_SAGEMAKER_SYNC,
    "create_model",
    "create_endpoint_config",
    "create_endpoint",
    "update_endpoint",
    "create_labeling_job",
}
# The errors SageMaker's API models (the SDKs have an exception class for each).
_SAGEMAKER_MODELLED_ERRORS: Final[set[str]] = {
    "ResourceLimitExceeded",
    "ResourceInUse",
    "ResourceNotFound",
    "ConflictException",
}


def sagemaker_error_name(error_code: str) -> str:
    """The Step Functions error name for a rejected SageMaker API call."""
    if error_code in _SAGEMAKER_MODELLED_ERRORS:
        return f"SageMaker.{error_code}" + ("" if error_code.endswith("Exception") else "Exception")
    return "SageMaker.AmazonSageMakerException"


class SageMakerSyncService(StopSafeSync):
    """The SageMaker optimised integration: request-response and .sync, errors named as on AWS."""

    def __init__(self) -> None:
        super().__init__(supported_integration_patterns=_SYNC_AND_TOKEN)

    def _get_supported_parameters(self) -> set[str] | None:
        return set() if self._get_boto_service_action() in _SAGEMAKER_ACTIONS else None

    def _client(self, resource_runtime_part: Any, state_credentials: Any) -> Any:
        return boto_client_for(
            region=resource_runtime_part.region, service="sagemaker", state_credentials=state_credentials
        )

    def _eval_service_task(
        self, env: Any, resource_runtime_part: Any, normalised_parameters: dict, state_credentials: Any
    ) -> None:
        action = self._get_boto_service_action()
        response = getattr(self._client(resource_runtime_part, state_credentials), action)(
            **normalised_parameters
        )
        response.pop("ResponseMetadata", None)
        env.stack.append(json_safe(response))

    def _build_sync_resolver(
        self, env: Any, resource_runtime_part: Any, normalised_parameters: dict, state_credentials: Any
    ) -> Callable[[], Any]:
        action = self._get_boto_service_action()
        if action not in _SAGEMAKER_SYNC:
            raise RuntimeError(
                f"Unsupported .sync callback procedure in resource {self.resource.resource_arn}"
            )
        env.stack.pop()  # the Create response; the task's output is the final Describe
        describe_action, name_parameter, status_field = _SAGEMAKER_SYNC[action]
        client = self._client(resource_runtime_part, state_credentials)
        name = normalised_parameters[name_parameter]

        def resolve() -> Any:
            described = getattr(client, describe_action)(**{name_parameter: name})
            described.pop("ResponseMetadata", None)
            status = described[status_field]
            if status in ("InProgress", "Stopping"):
                return None
            if status == "Completed":
                return json_safe(described)
            raise FailureEventException(self._task_failed(env, to_json_str(json_safe(described))))

        return resolve

    def _task_failed(self, env: Any, cause: str) -> FailureEvent:
        return FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(  # type: ignore[typeddict-item]
                taskFailedEventDetails=TaskFailedEventDetails(
                    resource=self._get_sfn_resource(),
                    resourceType=self._get_sfn_resource_type(),
                    error=StatesErrorNameType.StatesTaskFailed.to_name(),
                    cause=cause,
                )
            ),
        )

    def _from_error(self, env: Any, ex: Exception) -> FailureEvent:
        if isinstance(ex, ClientError):
            code = ex.response["Error"]["Code"]
            name = sagemaker_error_name(code)
            status = ex.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            request_id = ex.response.get("ResponseMetadata", {}).get("RequestId", "")
            message = ex.response["Error"].get("Message", "")
            cause = (
                f"{message} (Service: AmazonSageMaker; Status Code: {status}; "
                f"Error Code: {code}; Request ID: {request_id}; Proxy: null)"
            )
            return FailureEvent(
                env=env,
                error_name=CustomErrorName(name),
                event_type=HistoryEventType.TaskFailed,
                event_details=EventDetails(  # type: ignore[typeddict-item]
                    taskFailedEventDetails=TaskFailedEventDetails(
                        error=name,
                        cause=cause,
                        resource=self._get_sfn_resource(),
                        resourceType=self._get_sfn_resource_type(),
                    )
                ),
            )
        return super()._from_error(env=env, ex=ex)


_stock_state_task_service_for = state_task_service_factory.state_task_service_for


def patched_state_task_service_for(service_name: str) -> Any:
    """The engine's service factory with the SageMaker and Glue integrations replaced."""
    if service_name == "sagemaker":
        return SageMakerSyncService()
    if service_name == "glue":
        return GlueSyncService()
    return _stock_state_task_service_for(service_name)


# -- 5. lambda:invoke served by the real handler ---------------------------------------------------
# moto: Invoke needs Docker; with use_docker False it only echoes the payload back.
# AWS: runs the handler; an exception gives HTTP 200 with FunctionError "Unhandled" and the error
#   payload, which Step Functions turns into the error named by errorType (Catch by name works).


def lambda_invoke_hook(registry: LambdaRegistry) -> Callable[..., Any]:
    """A ``before-call.lambda.Invoke`` handler that runs the function in process."""

    def handle(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        function_name = _function_name_from_path(params["url_path"])
        try:
            function = registry.find(function_name)
        except KeyError:
            return _error_response(404, "ResourceNotFoundException", f"Function not found: {function_name}")
        body = params.get("body") or b"{}"
        event = json.loads(body.decode() if isinstance(body, bytes) else body or "{}")
        invocation_type = params.get("headers", {}).get("X-Amz-Invocation-Type", "RequestResponse")
        outcome = registry.invoke(function.logical_id, event)
        payload = outcome.payload_bytes
        parsed: dict[str, Any] = {
            "StatusCode": 202 if invocation_type == "Event" else 200,
            "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(payload), len(payload)),
            "ResponseMetadata": {"HTTPStatusCode": 200, "RequestId": str(uuid.uuid4())},
        }
        if outcome.function_error:
            parsed["FunctionError"] = outcome.function_error
        return _HttpResponse(200), parsed

    return handle


def _function_name_from_path(url_path: str) -> str:
    from urllib.parse import unquote  # noqa: PLC0415

    # /2015-03-31/functions/<name or ARN>/invocations
    return unquote(url_path.split("/functions/", 1)[1].split("/", 1)[0])


class _HttpResponse:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.headers: dict[str, str] = {}
        self.content = b""


def _error_response(status: int, code: str, message: str) -> tuple[Any, dict[str, Any]]:
    return _HttpResponse(status), {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": str(uuid.uuid4())},
    }


# -- 6. API throttling injection -----------------------------------------------------------------
# moto never throttles. AWS throttles bursts with ThrottlingException (HTTP 400), which the ASL's
# Retry must absorb; the fault plan decides which calls are throttled.


def throttling_hook(should_throttle: Callable[[str, str], bool]) -> Callable[..., Any]:
    """A ``before-call`` handler answering ThrottlingException for the calls the plan picks."""

    def handle(event_name: str, **kwargs: Any) -> tuple[Any, dict[str, Any]] | None:
        _, service, operation = event_name.split(".", 2)
        if should_throttle(service, operation):
            return _error_response(400, "ThrottlingException", "Rate exceeded")
        return None

    return handle


# -- 7. SageMaker jobs run by the local executors ---------------------------------------------------
# moto: Create*Job stores the job as Completed at once, with placeholder results (a fake
#   BestTrainingJob, MetricDefinitions replaced by "test:dcg"); duplicate training job names are
#   accepted; Stop*/UpdateEndpoint/monitoring schedules are not implemented.
# AWS: jobs are InProgress until they end; Describe echoes the request; names must be unique
#   (ResourceInUse); UpdateEndpoint swaps the config with rollback; schedules exist.

# -- 8. S3 -> EventBridge events --------------------------------------------------------------------
# moto: the "Object Created" event says "eTag" (AWS: "etag"), carries the key raw (AWS: form-encoded
#   as in every S3 event), repeats one constant "sequencer" (AWS: grows per event; duplicates share
#   it), puts "version-id": null for unversioned buckets and a number in "time" (AWS: ISO-8601).
# The local runtime sends events.object_created_event instead, to the same rules moto would.


def s3_eventbridge_sender(router: Callable[[], EventRouter | None]) -> Callable[..., None]:
    """A replacement for moto's S3 EventBridge sender that emits AWS's ``Object Created`` shape."""
    stock_sender = s3_notifications._send_event_bridge_message

    def send(account_id: str, bucket: Any, event_name: Any, key: Any) -> None:
        from moto.events.models import events_backends  # noqa: PLC0415

        event_name = str(getattr(event_name, "value", event_name))  # moto passes an Enum
        if "ObjectCreated" not in str(event_name):
            stock_sender(account_id, bucket, event_name, key)  # the pipeline reacts to creations only
            return

        event = object_created_event(
            bucket=bucket.name,
            key=key.name,
            size=key.size,
            etag=key.etag,
            version_id=key.version_id if bucket.is_versioned else None,
            event_name=event_name,
            account=account_id,
            region=bucket.region_name,
        )
        # moto's targets take the time as a number and write it out in ISO-8601 themselves.
        moto_event = {**event, "time": datetime.now(UTC).timestamp()}
        for event_bus in events_backends[account_id][bucket.region_name].event_buses.values():
            for rule in event_bus.rules.values():
                rule.send_to_targets(moto_event, transform_input=False)  # type: ignore[arg-type]
        current = router()
        if current is not None:
            current.dispatch(event)

    return send


_CREATE_KINDS: Final[dict[str, tuple[str, str, str]]] = {
    # response method -> (job kind, name parameter, backend collection)
    "create_training_job": ("training", "TrainingJobName", "training_jobs"),
    "create_hyper_parameter_tuning_job": (
        "tuning",
        "HyperParameterTuningJobName",
        "hyper_parameter_tuning_jobs",
    ),
    "create_processing_job": ("processing", "ProcessingJobName", "processing_jobs"),
    "create_transform_job": ("transform", "TransformJobName", "transform_jobs"),
}
_DESCRIBE_KINDS: Final[dict[str, str]] = {
    "describe_training_job": "training",
    "describe_hyper_parameter_tuning_job": "tuning",
    "describe_processing_job": "processing",
    "describe_transform_job": "transform",
}
_STOP_KINDS: Final[dict[str, tuple[str, str]]] = {
    "stop_training_job": ("training", "TrainingJobName"),
    "stop_hyper_parameter_tuning_job": ("tuning", "HyperParameterTuningJobName"),
    "stop_processing_job": ("processing", "ProcessingJobName"),
    "stop_transform_job": ("transform", "TransformJobName"),
}


# -- 9. UpdateModelPackage ------------------------------------------------------------------------
# moto: an update without CustomerMetadataProperties sets them to None (the metrics and job names a
#   package was registered with are gone after the pipeline revokes its approval).
# AWS: properties the request leaves out are kept.


def update_model_package_keeping_metadata(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``SageMakerModelBackend.update_model_package`` so omitted metadata is kept."""

    def update(backend_self: SageMakerModelBackend, model_package_arn: str, *args: Any, **kwargs: Any) -> Any:
        name = backend_self.model_package_name_mapping.get(model_package_arn, model_package_arn)
        package = backend_self.model_packages.get(name)
        kept = dict(package.customer_metadata_properties or {}) if package is not None else None
        arn = original(backend_self, model_package_arn, *args, **kwargs)
        if package is not None and package.customer_metadata_properties is None:
            package.customer_metadata_properties = kept
        return arn

    return update


class MotoPatches:
    """Applies every workaround above; ``undo()`` restores stock moto."""

    def __init__(
        self,
        *,
        lambdas: LambdaRegistry,
        jobs: JobLifecycle,
        endpoints: EndpointLifecycle,
        should_throttle: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.lambdas = lambdas
        self.jobs = jobs
        self.endpoints = endpoints
        self.should_throttle = should_throttle
        self.monitoring_schedules: dict[str, dict[str, Any]] = {}
        # Set once the stack's rules are known: routes events to Lambda / state machine targets.
        self.event_router: EventRouter | None = None
        self._stack = contextlib.ExitStack()

    def apply(self) -> None:
        """Install the patches (call after ``mock_aws`` has started)."""
        patch = self._stack.enter_context
        patch(mock.patch.object(state_task_factory, "state_task_service_for", patched_state_task_service_for))
        patch(
            mock.patch.object(
                state_task_service_factory, "state_task_service_for", patched_state_task_service_for
            )
        )
        for method, (kind, name_parameter, collection) in _CREATE_KINDS.items():
            patch(
                mock.patch.object(
                    SageMakerResponse,
                    method,
                    self._create_job(getattr(SageMakerResponse, method), kind, name_parameter, collection),
                )
            )
        for method, kind in _DESCRIBE_KINDS.items():
            patch(
                mock.patch.object(
                    SageMakerModelBackend,
                    method,
                    self._describe_job(getattr(SageMakerModelBackend, method), kind),
                )
            )
        for method, (kind, name_parameter) in _STOP_KINDS.items():
            patch(
                mock.patch.object(
                    SageMakerResponse, method, self._stop_job(kind, name_parameter), create=True
                )
            )
        patch(
            mock.patch.object(
                SageMakerModelBackend,
                "update_model_package",
                update_model_package_keeping_metadata(SageMakerModelBackend.update_model_package),
            )
        )
        patch(mock.patch.object(SageMakerResponse, "create_endpoint", self._create_endpoint()))
        patch(mock.patch.object(SageMakerResponse, "update_endpoint", self._update_endpoint(), create=True))
        patch(
            mock.patch.object(
                SageMakerModelBackend,
                "describe_endpoint",
                self._describe_endpoint(SageMakerModelBackend.describe_endpoint),
            )
        )
        for action, handler in self._monitoring_methods().items():
            patch(mock.patch.object(SageMakerResponse, action, handler, create=True))
        patch(
            mock.patch.object(
                SageMakerResponse,
                "list_training_jobs_for_hyper_parameter_tuning_job",
                self._list_tuning_trials(),
                create=True,
            )
        )
        patch(
            mock.patch.object(GlueResponse, "start_job_run", self._start_job_run(GlueResponse.start_job_run))
        )
        patch(mock.patch.object(GlueResponse, "get_job_run", self._get_job_run(GlueResponse.get_job_run)))
        patch(
            mock.patch.object(
                s3_notifications,
                "_send_event_bridge_message",
                s3_eventbridge_sender(lambda: self.event_router),
            )
        )
        patch(mock.patch.object(EventsBackend, "put_events", self._put_events(EventsBackend.put_events)))
        self._register_session_hooks()

    def undo(self) -> None:
        self._stack.close()

    # -- session hooks ----------------------------------------------------------------------

    def _register_session_hooks(self) -> None:
        events = boto3._get_default_session().events
        lambda_hook = lambda_invoke_hook(self.lambdas)
        events.register("before-call.lambda.Invoke", lambda_hook)
        self._stack.callback(events.unregister, "before-call.lambda.Invoke", lambda_hook)
        if self.should_throttle is not None:
            throttle = throttling_hook(self.should_throttle)
            # Registered first so a throttled call never reaches the Lambda hook.
            events.register_first("before-call", throttle)
            self._stack.callback(events.unregister, "before-call", throttle)

    # -- SageMaker jobs ---------------------------------------------------------------------

    def _create_job(
        self, original: Callable[..., Any], kind: str, name_parameter: str, collection: str
    ) -> Callable[..., Any]:
        jobs = self.jobs

        def create(response_self: SageMakerResponse) -> Any:
            request = json.loads(response_self.body)
            name = request[name_parameter]
            if name in getattr(response_self.sagemaker_backend, collection):
                raise ResourceInUseException(
                    f"{name_parameter} {name} already exists: names must be unique "
                    "within an AWS account and region"
                )
            result = original(response_self)
            tags = {t.get("Key"): t.get("Value") for t in request.get("Tags") or []}
            if LOCAL_CHILD_TAG not in tags:
                jobs.start(kind, name, request)
            return result

        return create

    def _describe_job(self, original: Callable[..., Any], kind: str) -> Callable[..., Any]:
        jobs = self.jobs

        def describe(backend_self: SageMakerModelBackend, *args: Any, **kwargs: Any) -> dict[str, Any]:
            # moto's responses pass the name positionally for some jobs and by keyword for others
            # (``hyper_parameter_tuning_job_name=``).
            name = args[0] if args else next(iter(kwargs.values()))
            return jobs.describe(kind, name, original(backend_self, *args, **kwargs))

        return describe

    def _stop_job(self, kind: str, name_parameter: str) -> Callable[..., Any]:
        jobs = self.jobs

        def stop(response_self: SageMakerResponse) -> Any:
            name = response_self._get_param(name_parameter)
            if not jobs.stop(kind, name):
                raise ValidationError(message=f"Could not find job {name}")
            return EmptyResult()

        return stop

    # -- endpoints --------------------------------------------------------------------------

    def _create_endpoint(self) -> Callable[..., Any]:
        endpoints = self.endpoints

        def create(response_self: SageMakerResponse) -> Any:
            name = response_self._get_param("EndpointName")
            config = response_self._get_param("EndpointConfigName")
            if name in response_self.sagemaker_backend.endpoints:
                raise ValidationError(message=f"Cannot create already existing endpoint {name}")
            endpoint = response_self.sagemaker_backend.create_endpoint(
                endpoint_name=name, endpoint_config_name=config, tags=response_self._get_param("Tags")
            )
            endpoints.create(name, config)
            return ActionResult({"EndpointArn": endpoint.arn})

        return create

    def _update_endpoint(self) -> Callable[..., Any]:
        endpoints = self.endpoints

        def update(response_self: SageMakerResponse) -> Any:
            name = response_self._get_param("EndpointName")
            config = response_self._get_param("EndpointConfigName")
            backend = response_self.sagemaker_backend
            if name not in backend.endpoints:
                raise ValidationError(message=f"Could not find endpoint {name}")
            if config not in backend.endpoint_configs:
                raise ValidationError(message=f"Could not find endpoint configuration {config}")
            record = endpoints.get(name)
            if record is not None and record.status in ("Creating", "Updating"):
                raise ValidationError(message=f"Cannot update in-progress endpoint {name}")
            endpoints.update(name, config)
            return ActionResult({"EndpointArn": backend.endpoints[name].arn})

        return update

    def _describe_endpoint(self, original: Callable[..., Any]) -> Callable[..., Any]:
        endpoints = self.endpoints

        def describe(backend_self: SageMakerModelBackend, name: str) -> dict[str, Any]:
            response = original(backend_self, name)
            record = endpoints.get(name)
            if record is None:
                return response
            response["EndpointStatus"] = record.status
            if record.config_name is not None:
                response["EndpointConfigName"] = record.config_name
            if record.failure_reason:
                response["FailureReason"] = record.failure_reason
            else:
                response.pop("FailureReason", None)
            return response

        return describe

    # -- monitoring schedules ---------------------------------------------------------------

    def _monitoring_methods(self) -> dict[str, Callable[..., Any]]:
        schedules = self.monitoring_schedules

        def create_monitoring_schedule(response_self: SageMakerResponse) -> Any:
            request = json.loads(response_self.body)
            name = request["MonitoringScheduleName"]
            if name in schedules:
                raise ResourceInUseException(f"Monitoring schedule {name} already exists")
            now = datetime.now(UTC)
            arn = f"arn:aws:sagemaker:us-east-1:123456789012:monitoring-schedule/{name.lower()}"
            config = request["MonitoringScheduleConfig"]
            schedules[name] = {
                "MonitoringScheduleArn": arn,
                "MonitoringScheduleName": name,
                "MonitoringScheduleStatus": "Scheduled",
                "MonitoringType": config.get("MonitoringType", "DataQuality"),
                "CreationTime": now,
                "LastModifiedTime": now,
                "MonitoringScheduleConfig": config,
                "EndpointName": config.get("MonitoringJobDefinition", {})
                .get("MonitoringInputs", [{}])[0]
                .get("EndpointInput", {})
                .get("EndpointName"),
            }
            return ActionResult({"MonitoringScheduleArn": arn})

        def describe_monitoring_schedule(response_self: SageMakerResponse) -> Any:
            name = response_self._get_param("MonitoringScheduleName")
            if name not in schedules:
                raise ResourceNotFound(message=f"Monitoring schedule {name} not found")
            return ActionResult(schedules[name])

        def update_monitoring_schedule(response_self: SageMakerResponse) -> Any:
            request = json.loads(response_self.body)
            name = request["MonitoringScheduleName"]
            if name not in schedules:
                raise ResourceNotFound(message=f"Monitoring schedule {name} not found")
            schedules[name]["MonitoringScheduleConfig"] = request["MonitoringScheduleConfig"]
            schedules[name]["LastModifiedTime"] = datetime.now(UTC)
            return ActionResult({"MonitoringScheduleArn": schedules[name]["MonitoringScheduleArn"]})

        def delete_monitoring_schedule(response_self: SageMakerResponse) -> Any:
            name = response_self._get_param("MonitoringScheduleName")
            if schedules.pop(name, None) is None:
                raise ResourceNotFound(message=f"Monitoring schedule {name} not found")
            return EmptyResult()

        def list_monitoring_schedules(response_self: SageMakerResponse) -> Any:
            endpoint = response_self._get_param("EndpointName")
            summaries = [
                {
                    k: s[k]
                    for k in (
                        "MonitoringScheduleName",
                        "MonitoringScheduleArn",
                        "CreationTime",
                        "LastModifiedTime",
                        "MonitoringScheduleStatus",
                        "EndpointName",
                    )
                }
                for s in schedules.values()
                if endpoint is None or s.get("EndpointName") == endpoint
            ]
            return ActionResult({"MonitoringScheduleSummaries": summaries})

        def list_monitoring_executions(response_self: SageMakerResponse) -> Any:
            name = response_self._get_param("MonitoringScheduleName")
            executions = [
                e
                for s in schedules.values()
                if name in (None, s["MonitoringScheduleName"])
                for e in s.get("Executions", [])
            ]
            return ActionResult({"MonitoringExecutionSummaries": executions})

        return {
            "create_monitoring_schedule": create_monitoring_schedule,
            "describe_monitoring_schedule": describe_monitoring_schedule,
            "update_monitoring_schedule": update_monitoring_schedule,
            "delete_monitoring_schedule": delete_monitoring_schedule,
            "list_monitoring_schedules": list_monitoring_schedules,
            "list_monitoring_executions": list_monitoring_executions,
        }

    # -- tuning trials -----------------------------------------------------------------------

    def _list_tuning_trials(self) -> Callable[..., Any]:
        """ListTrainingJobsForHyperParameterTuningJob (moto lacks it) from the trials the tuner ran."""
        jobs = self.jobs

        def list_trials(response_self: SageMakerResponse) -> Any:
            tuning_name = response_self._get_param("HyperParameterTuningJobName")
            tuning = jobs.get("tuning", tuning_name)
            if tuning is None:
                raise ResourceNotFound(
                    message=f"Amazon SageMaker can't find a tuning job with name {tuning_name}"
                )
            config = tuning.request["HyperParameterTuningJobConfig"]
            objective = config["HyperParameterTuningJobObjective"]
            tuned = {spec["Name"] for ranges in config.get("ParameterRanges", {}).values() for spec in ranges}
            summaries = []
            for record in jobs.records("training"):
                if not record.name.startswith(f"{tuning_name}-"):
                    continue
                metrics = record.describe_fields.get("FinalMetricDataList", [])
                value = next(
                    (m["Value"] for m in metrics if m["MetricName"] == objective["MetricName"]), None
                )
                summary: dict[str, Any] = {
                    "TrainingJobName": record.name,
                    "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:training-job/{record.name}",
                    "TuningJobName": tuning_name,
                    "CreationTime": record.started_at,
                    "TrainingStartTime": record.started_at,
                    "TrainingJobStatus": record.status,
                    "TunedHyperParameters": {
                        k: v for k, v in record.request.get("HyperParameters", {}).items() if k in tuned
                    },
                    "ObjectiveStatus": "Succeeded" if value is not None else "Failed",
                }
                if record.ended_at is not None:
                    summary["TrainingEndTime"] = record.ended_at
                if value is not None:
                    summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
                        "Type": objective["Type"],
                        "MetricName": objective["MetricName"],
                        "Value": value,
                    }
                if record.failure_reason:
                    summary["FailureReason"] = record.failure_reason
                summaries.append(summary)
            return ActionResult(
                {"TrainingJobSummaries": sorted(summaries, key=lambda s: s["TrainingJobName"])}
            )

        return list_trials

    # -- EventBridge PutEvents to Lambda / state machine targets ----------------------------

    def _put_events(self, original: Callable[..., Any]) -> Callable[..., Any]:
        patches = self

        def put_events(backend_self: EventsBackend, events: list[dict[str, Any]]) -> Any:
            result = original(backend_self, events)
            if patches.event_router is not None:
                patches.event_router.put_events_entries(events)
            return result

        return put_events

    # -- Glue job runs ----------------------------------------------------------------------

    def _start_job_run(self, original: Callable[..., Any]) -> Callable[..., Any]:
        jobs = self.jobs

        def start(response_self: GlueResponse) -> Any:
            result = original(response_self)
            run_id = result.result["JobRunId"]
            job_name = str(response_self.parameters.get("JobName"))
            job = response_self.glue_backend.get_job(job_name).as_dict()
            jobs.start("glue", run_id, json.loads(response_self.body), job=job)
            return result

        return start

    def _get_job_run(self, original: Callable[..., Any]) -> Callable[..., Any]:
        jobs = self.jobs

        def get(response_self: GlueResponse) -> Any:
            result = original(response_self)
            run = result.result["JobRun"]
            return ActionResult({"JobRun": jobs.describe_glue_run(run["JobName"], run)})

        return get
