"""In-memory fakes of the ports (``mlops_common.ports``): the services' decisions, without AWS.

Each fake implements its Protocol structurally, as the adapters do, so the services accept them
with no cast or type-checker override (mypy checks that at the end of this module).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlops_common.domain.run_control import Lease, PendingRetraining, PendingUploads
from mlops_common.models import PipelineExecutionInput
from mlops_common.ports import (
    ChampionLookup,
    DriftCooldown,
    Endpoints,
    HandledUpload,
    JsonDocuments,
    MonitoringSchedules,
    Notifications,
    ObjectNotFound,
    ObjectRecord,
    ProcessingJobs,
    RunControl,
    ScalableTargets,
    StartResult,
    TrainingRuns,
    UploadLedger,
)
from mlops_common.settings import (
    CheckDatasetSettings,
    DeploySettings,
    HandleDriftSettings,
    MonitoringSettings,
    ResolveChampionSettings,
    StartPipelineSettings,
)

NOW = datetime(2026, 11, 12, 10, 7, tzinfo=UTC)
STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:training"

# Settings with every resource name given, as the template gives them (resource names have no
# defaults: a test names the ones it uses).
START_PIPELINE = StartPipelineSettings(
    table_name="table", training_state_machine_arn=STATE_MACHINE_ARN, data_bucket="data"
)
HANDLE_DRIFT = HandleDriftSettings(
    table_name="table",
    training_state_machine_arn=STATE_MACHINE_ARN,
    topic_arn="arn:aws:sns:us-east-1:123456789012:notifications",
    endpoint_name="defect-classifier",
    monitoring_schedule_name="defect-classifier-data-quality",
    drift_alarm_name="stack-drift-confidence",
)
CHECK_DATASET = CheckDatasetSettings(data_bucket="data-bucket")
RESOLVE_CHAMPION = ResolveChampionSettings(
    model_package_group="defect-classifier", endpoint_name="defect-classifier"
)
DEPLOY = DeploySettings(
    endpoint_name="defect-classifier",
    artifacts_bucket="artifacts-bucket",
    kms_key_arn="",
    deploy_alarm_names="errors,latency",
)
MONITORING = MonitoringSettings(
    artifacts_bucket="artifacts-bucket",
    sagemaker_role_arn="arn:aws:iam::123456789012:role/sagemaker",
    monitor_image_uri="156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer",
    record_preprocessor_uri="s3://artifacts-bucket/code/monitoring/record_preprocessor.py",
    kms_key_arn="",
)


class FakeLedger:
    """``UploadLedger`` and ``DriftCooldown`` over dicts."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, str]] = {}
        self.cooldown_holder: str | None = None
        self.released = False

    def record_object(self, pk: str, sk: str, attributes: dict[str, str], expires_at: int) -> ObjectRecord:
        if (pk, sk) in self.objects:
            old = self.objects[(pk, sk)]
            return ObjectRecord(new=False, handled="run" in old or old["status"] == "rejected")
        self.objects[(pk, sk)] = dict(attributes)
        return ObjectRecord(new=True, handled=attributes["status"] == "rejected")

    def mark_handled(self, uploads: Sequence[HandledUpload]) -> list[HandledUpload]:
        for upload in uploads:
            item = {**upload.attributes, "run": upload.run, "run_note": upload.note}
            self.objects[(upload.pk, upload.sk)] = item
        return []

    def claim_cooldown(self, holder: str, now_epoch: int, expires_at: int) -> bool:
        if self.cooldown_holder:
            return False
        self.cooldown_holder = holder
        return True

    def release_cooldown(self, holder: str) -> None:
        self.released = True
        self.cooldown_holder = None


class FakeRuns:
    """``RunControl`` over attributes: the lease, the pending uploads, the pending retraining.

    The conditional writes behave as DynamoDB's: a lease held live by another is not taken, a claim
    on a version that moved on fails.
    """

    def __init__(self, holder: str | None = None, expires_at: int = 2**31) -> None:
        self.holder: Lease | None = Lease(holder, "upload", expires_at) if holder else None
        self.pending = PendingUploads()
        self.retraining: PendingRetraining | None = None
        self.released: list[str] = []

    def lease(self) -> Lease | None:
        return self.holder

    def take_lease(self, holder: str, trigger: str, now: datetime, expires_at: int) -> bool:
        if self.holder is not None and self.holder.live(now) and self.holder.holder != holder:
            return False
        self.holder = Lease(holder, trigger, expires_at, acquired_at=now)
        return True

    def release_lease(self, holder: str) -> bool:
        if self.holder is None or self.holder.holder != holder:
            return False
        self.released.append(holder)
        self.holder = None
        return True

    def add_pending_uploads(self, count: int, now: datetime) -> None:
        first = self.pending.first_at or now
        self.pending = replace(
            self.pending,
            count=self.pending.count + count,
            first_at=first,
            last_at=now,
            version=self.pending.version + 1,
        )

    def pending_uploads(self) -> PendingUploads:
        return self.pending

    def claim_pending_uploads(self, seen: PendingUploads, until: datetime) -> bool:
        if seen.version != self.pending.version:
            return False
        self.pending = PendingUploads(version=self.pending.version + 1, covered_until=until)
        return True

    def request_retraining(self, trigger: str, reason: str, now: datetime) -> None:
        self.retraining = PendingRetraining(trigger, reason)

    def pending_retraining(self) -> PendingRetraining | None:
        return self.retraining

    def clear_retraining(self) -> None:
        self.retraining = None


class FakePipeline:
    """``TrainingRuns``: records the starts; ``statuses`` gives executions' statuses by name."""

    state_machine_arn = STATE_MACHINE_ARN

    def __init__(self, statuses: dict[str, str] | None = None, fail: bool = False) -> None:
        self.statuses = dict(statuses or {})
        self.fail = fail
        self.started: list[tuple[str, PipelineExecutionInput]] = []
        self.stopped: list[tuple[str, str, str]] = []

    def status(self, name: str) -> str | None:
        return self.statuses.get(name)

    def start(self, name: str, execution_input: PipelineExecutionInput) -> StartResult:
        if self.fail:
            raise RuntimeError("throttled")
        self.started.append((name, execution_input))
        self.statuses[name] = "RUNNING"
        return StartResult(name, started=True)

    def stop(self, name: str, error: str, cause: str) -> None:
        self.stopped.append((name, error, cause))
        self.statuses[name] = "ABORTED"


class FakeNotifier:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def publish(self, subject: str, message: str) -> None:
        self.messages.append((subject, message))


class FakeDocuments:
    """``JsonDocuments``: ``s3://`` URIs mapped to parsed JSON (a missing one is ``ObjectNotFound``)."""

    def __init__(self, documents: dict[str, Any] | None = None) -> None:
        self.documents = dict(documents or {})

    def read_json(self, uri: str) -> Any:
        if uri not in self.documents:
            raise ObjectNotFound(uri)
        return self.documents[uri]


class FakeSageMaker:
    """Every SageMaker port: a registry, endpoints, monitoring schedules and processing jobs."""

    def __init__(
        self,
        *,
        package: dict[str, Any] | None = None,
        endpoint: dict[str, Any] | None = None,
        processing_jobs: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.package = package
        self.endpoint = endpoint
        self.processing_jobs = dict(processing_jobs or {})
        self.endpoint_configs: dict[str, dict[str, Any]] = {}
        self.schedules: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, Any]] = []
        # The Tags of every create call, by (call, resource name).
        self.tags: dict[tuple[str, str], list[dict[str, str]]] = {}

    def latest_approved_package(self, group_name: str) -> dict[str, Any] | None:
        return self.package

    def describe_endpoint(self, endpoint_name: str) -> dict[str, Any] | None:
        return self.endpoint

    def endpoint_config_exists(self, config_name: str) -> bool:
        return config_name in self.endpoint_configs

    def describe_endpoint_config(self, config_name: str) -> dict[str, Any] | None:
        return self.endpoint_configs.get(config_name)

    def create_endpoint_config(self, request: dict[str, Any]) -> None:
        self.endpoint_configs[request["EndpointConfigName"]] = request
        self.tags[("create_endpoint_config", request["EndpointConfigName"])] = request.get("Tags", [])
        self.calls.append(("create_endpoint_config", request["EndpointConfigName"]))

    def create_endpoint(self, endpoint_name: str, config_name: str, tags: list[dict[str, str]]) -> None:
        self.endpoint = {"EndpointName": endpoint_name, "EndpointConfigName": config_name}
        self.tags[("create_endpoint", endpoint_name)] = tags
        self.calls.append(("create_endpoint", config_name))

    def update_endpoint(
        self, endpoint_name: str, config_name: str, deployment_config: dict[str, Any]
    ) -> None:
        self.endpoint = {"EndpointName": endpoint_name, "EndpointConfigName": config_name}
        self.calls.append(("update_endpoint", deployment_config))

    def monitoring_schedule_exists(self, schedule_name: str) -> bool:
        return schedule_name in self.schedules

    def create_monitoring_schedule(
        self, schedule_name: str, config: dict[str, Any], tags: list[dict[str, str]]
    ) -> None:
        self.schedules[schedule_name] = config
        self.tags[("create_monitoring_schedule", schedule_name)] = tags
        self.calls.append(("create_monitoring_schedule", schedule_name))

    def update_monitoring_schedule(self, schedule_name: str, config: dict[str, Any]) -> None:
        self.schedules[schedule_name] = config
        self.calls.append(("update_monitoring_schedule", schedule_name))

    def describe_processing_job(self, job_name: str) -> dict[str, Any]:
        return self.processing_jobs[job_name]


class FakeScaling:
    """``ScalableTargets``: registered targets and policies by resource id, every call recorded."""

    def __init__(self, targets: dict[str, dict[str, Any]] | None = None) -> None:
        self.targets: dict[str, dict[str, Any]] = dict(targets or {})
        self.policies: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []

    def scalable_target(self, resource_id: str) -> dict[str, Any] | None:
        return self.targets.get(resource_id)

    def register_scalable_target(self, request: dict[str, Any]) -> None:
        self.targets[request["ResourceId"]] = request
        self.calls.append(("register_scalable_target", request["ResourceId"]))

    def put_scaling_policy(self, request: dict[str, Any]) -> None:
        self.policies[request["ResourceId"]] = request
        self.calls.append(("put_scaling_policy", request["ResourceId"]))

    def deregister_scalable_target(self, resource_id: str) -> bool:
        self.calls.append(("deregister_scalable_target", resource_id))
        self.policies.pop(resource_id, None)
        return self.targets.pop(resource_id, None) is not None


# Static proof that each fake implements its ports: mypy reports a mismatch here (never executed).
if TYPE_CHECKING:
    _upload_ledger: UploadLedger = FakeLedger()
    _drift_cooldown: DriftCooldown = FakeLedger()
    _training_runs: TrainingRuns = FakePipeline()
    _run_control: RunControl = FakeRuns()
    _notifications: Notifications = FakeNotifier()
    _documents: JsonDocuments = FakeDocuments()
    _champion_lookup: ChampionLookup = FakeSageMaker()
    _endpoints: Endpoints = FakeSageMaker()
    _schedules: MonitoringSchedules = FakeSageMaker()
    _processing_jobs: ProcessingJobs = FakeSageMaker()
    _scalable_targets: ScalableTargets = FakeScaling()
