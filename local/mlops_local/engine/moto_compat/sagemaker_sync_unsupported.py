"""``sagemaker:create*Job.sync`` is unsupported by moto's engine, and SageMaker errors are misnamed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from botocore.exceptions import ClientError
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
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback as callback_service,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

from mlops_local.engine.moto_compat._step_functions import SYNC_AND_TOKEN, json_safe, service_integration
from mlops_local.engine.moto_compat.registry import Workaround
from mlops_local.engine.patching import Patches

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


class SageMakerSyncService(callback_service.StateTaskServiceCallback):
    """The SageMaker optimised integration: request-response and .sync, errors named as on AWS."""

    def __init__(self) -> None:
        super().__init__(supported_integration_patterns=SYNC_AND_TOKEN)

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


def _patches() -> Patches:
    return service_integration("sagemaker", SageMakerSyncService)


WORKAROUND = Workaround(
    name="sagemaker_sync_unsupported",
    moto_does=(
        "lists sagemaker among the engine's unsupported services: request-response calls are forwarded, "
        ".sync ones fail with 'Unsupported .sync callback procedure', a rejected call is States.Runtime"
    ),
    aws_does=(
        "a .sync task waits for the job and outputs its Describe response; a Failed or Stopped job is "
        "States.TaskFailed with the Describe response as Cause; a rejected call is "
        "SageMaker.<Name>Exception for modelled errors, SageMaker.AmazonSageMakerException otherwise"
    ),
    applies_to="==5.2.5",
    patches=_patches,
)
