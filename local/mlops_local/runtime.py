"""``LocalRuntime``: the whole stack of ``template.yaml`` on this machine, no AWS account, no Docker.

``start()`` starts moto in process, applies the workarounds of its gaps
(``mlops_local.engine.moto_compat``) and the emulations of what it lacks
(``mlops_local.engine.emulation``), provisions every resource from the template, packages the job
code into the artifacts bucket and starts the SQS pollers. Executions then run the real ASL in
moto's Step Functions engine, with the real Lambda handlers, the real Glue script and real training
(``mlops_local.executors``).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import time
import uuid
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config
from moto import mock_aws
from moto.sns.models import sns_backends

from mlops_local.engine.dead_letters import dead_letter_queues
from mlops_local.engine.emulation import EMULATIONS, Emulation, LocalServices
from mlops_local.engine.eventbridge import eventbridge_event
from mlops_local.engine.events import EventRouter, SqsPoller, fire_schedule
from mlops_local.engine.iam.facts import stack_facts
from mlops_local.engine.iam.principals import RoleSession, credentials_for
from mlops_local.engine.jobs import EndpointLifecycle, Executor, JobLifecycle
from mlops_local.engine.lambdas import Invocation, LambdaRegistry
from mlops_local.engine.moto_compat import WORKAROUNDS, Workaround, check_moto_version
from mlops_local.engine.provisioning import Provisioner, Stack
from mlops_local.engine.template import ACCOUNT_ID, REGION, load_template
from mlops_local.executors import load_executor, warm_python
from mlops_local.executors.subprocess_runner import WARM_PYTHON
from mlops_local.project import project_root as find_project_root

# Every workaround and emulation, by name, in the order they are applied.
PATCHES: tuple[str, ...] = (*WORKAROUNDS, *EMULATIONS)

# Template parameters the runtime sets for a quick local run (applied only when the template
# declares them; explicit overrides win). Waits and polls in the ASL come from these.
LOCAL_PARAMETER_OVERRIDES: dict[str, str] = {
    "EndpointPollSeconds": "1",
    # Every deployment style's bakes (the emulated update waits them out, alarms armed).
    "CanaryWaitSeconds": "1",
    "LinearWaitSeconds": "1",
    "RollingWaitSeconds": "1",
    # Three trials (AWS default 8), two side by side with one core each as the template has it, with
    # the template's epochs: a model the gate passes from the first upload of 100 photos per label
    # (accuracy 0.95 and 1.0 in two tries). With 2 epochs, as here before, the first model stayed at
    # chance (0.22) and the gate rejected it; with 12, 0.85, still rejected.
    "TuningMaxJobs": "3",
    "GlueNumberOfWorkers": "2",
    # Uploads settle after 5 s without a new one (AWS default 300 s). It must outlast the longest gap
    # between two start_pipeline batches of one upload: locally the batching window shrinks with
    # time_factor (1.2 s) but a batch's handling does not (0.3-0.5 s for 100 records, invocations
    # one at a time). Longest gap in a 2,000-photo upload on 2 cores: 0.9 s idle, 1.2 s with two
    # busy processes beside it (3.5 s before start_pipeline batched its ledger marks).
    "TriggerQuietSeconds": "5",
    "TriggerMaxDelaySeconds": "120",
    "RunLeaseMinutes": "60",
}

_TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
# How long stopping the runtime waits for its running jobs to end after their SIGTERM (a training
# script saves a checkpoint and exits within seconds); a job still running then is left to its kill.
JOBS_STOP_TIMEOUT_SECONDS = 30.0
# `aws s3 sync` uploads up to 10 objects at once (its max_concurrent_requests); 4 keeps a 2-core
# machine responsive while still overlapping uploads with the trigger's own work.
UPLOAD_CONCURRENCY = 4


@dataclass
class Progress:
    """What ``wait_for_execution`` reports while an execution runs."""

    execution_arn: str
    status: str
    state: str | None
    elapsed_seconds: float
    jobs: list[str] = field(default_factory=list)  # "<kind> <name>: <last progress line>"


@dataclass(frozen=True)
class Notification:
    """One message published to an SNS topic of the stack."""

    subject: str
    message: str

    def json(self) -> Any:
        return json.loads(self.message)


@dataclass
class StateVisit:
    """One state of an execution, from its history."""

    name: str
    type: str
    entered: datetime
    exited: datetime | None
    error: str | None = None
    cause: str | None = None

    @property
    def duration_seconds(self) -> float | None:
        return None if self.exited is None else (self.exited - self.entered).total_seconds()


class LocalRuntime:
    """The embedded AWS of the local runtime, provisioned from ``template.yaml``."""

    def __init__(
        self,
        *,
        project_root: Path | None = None,
        template: Path | None = None,
        config_env: str | None = None,
        overrides: dict[str, str] | None = None,
        run_dir: Path | None = None,
        time_factor: float = 0.02,
        faults: Any = None,
        executors: dict[str, Executor] | None = None,
        endpoint_host: Any = None,
        package_code: bool = True,
        stack_name: str = "mlops-local",
        on_progress: Callable[[str], None] | None = None,
        disabled_patches: Collection[str] = (),
    ) -> None:
        """``disabled_patches``: names of workarounds or emulations (``PATCHES``) to leave out."""
        unknown = sorted(set(disabled_patches) - set(PATCHES))
        if unknown:
            raise ValueError(
                f"no workaround or emulation is named {', '.join(unknown)}; known: {', '.join(PATCHES)}"
            )
        self.disabled_patches = frozenset(disabled_patches)
        self.project_root = project_root or find_project_root()
        self.template_path = template or self.project_root / "template.yaml"
        self.config_env = config_env
        self.overrides = dict(overrides or {})
        self.run_dir = run_dir or self.project_root / ".local" / "runs" / datetime.now(UTC).strftime(
            "%Y%m%dT%H%M%S"
        )
        self.time_factor = time_factor
        self.faults = faults
        self._executors = executors
        self._endpoint_host = endpoint_host
        self._package_code = package_code
        self.stack_name = stack_name
        self._on_progress = on_progress or (lambda message: None)
        self._mock = mock_aws(
            config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
        )
        self._pollers: list[SqsPoller] = []
        self._functions = LambdaRegistry()
        self._host: Any = None
        self.code_overrides: dict[str, str] = {}
        self._services: LocalServices | None = None
        self._applied: list[Workaround | Emulation] = []
        self.stack: Stack | None = None
        self.jobs: JobLifecycle | None = None
        self.endpoints: EndpointLifecycle | None = None
        self.router: EventRouter | None = None
        self.timings: dict[str, float] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> LocalRuntime:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def client(self, service: str) -> Any:
        """A boto3 client bound to the embedded AWS."""
        return boto3.client(
            service,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
            config=Config(retries={"mode": "standard", "max_attempts": 3}),
        )

    def role_client(self, role_arn: str, session_name: str) -> Callable[[str], Any]:
        """Clients acting as ``role_arn`` (a job's or an event source mapping's calls), IAM enforced."""
        credentials = credentials_for(RoleSession(role_arn, session_name)).as_client_arguments()

        def client(service: str) -> Any:
            return boto3.client(
                service,
                region_name=REGION,
                config=Config(retries={"mode": "standard", "max_attempts": 3}),
                **credentials,
            )

        return client

    @property
    def iam_denials(self) -> list[Any]:
        """Every call IAM enforcement refused so far (``AccessDenied`` with session, action, resource)."""
        authority = self._services.iam_authority if self._services else None
        return list(authority.denials) if authority else []

    @property
    def patches_applied(self) -> list[str]:
        """The workarounds and emulations in force, in the order they were applied."""
        return [patch.name for patch in self._applied]

    def start(self) -> None:
        """Start moto, patch it, provision the template, package the code, start the pollers."""
        check_moto_version(w for name, w in WORKAROUNDS.items() if name not in self.disabled_patches)
        began = time.monotonic()
        # moto's Step Functions engine logs every error it evaluates (caught ones included) with the
        # whole parse tree; the execution history already holds each error and cause, readably.
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if WARM_PYTHON and not {"training", "tuning", "processing"} <= set(self._executors or {}):
            warm_python.start_in_background()  # ready by the first training job
        self._mock.start()
        self._host = host = self._endpoint_host or self._default_endpoint_host()
        self.jobs = JobLifecycle(
            client=self.client,
            run_dir=self.run_dir,
            project_root=self.project_root,
            faults=self.faults,
            executors=self._executors,
            load_executor=load_executor,
            on_progress=lambda kind, name, message: self._on_progress(f"{kind} {name}: {message}"),
            client_as=self.role_client,
        )
        self.endpoints = EndpointLifecycle(host=host, client=self.client)
        throttle = getattr(self.faults, "take_throttle", None)
        self._services = LocalServices(
            lambdas=self._functions,  # filled by provisioning
            jobs=self.jobs,
            endpoints=self.endpoints,
            should_throttle=(lambda service, operation: bool(throttle(operation))) if throttle else None,
        )
        self._apply_patches(self._services)
        self.stack = self._provision()
        # The router needs the stack's rules; the emulations read it on every event.
        self._services.event_targets = self.router = EventRouter(
            self.stack.rules, self.stack.functions, self.client
        )
        self._services.stack_facts = stack_facts(self.stack)
        self.timings["provisioning_seconds"] = time.monotonic() - began
        self._start_pollers()
        self.timings["start_seconds"] = time.monotonic() - began

    def _apply_patches(self, services: LocalServices) -> None:
        for name, workaround in WORKAROUNDS.items():
            if name not in self.disabled_patches:
                workaround.apply()
                self._applied.append(workaround)
        for name, emulation in EMULATIONS.items():
            if name not in self.disabled_patches:
                emulation.apply(services)
                self._applied.append(emulation)

    def _undo_patches(self) -> None:
        while self._applied:
            self._applied.pop().undo()

    def _start_pollers(self) -> None:
        for mapping in self.provisioned.event_source_mappings:
            if mapping.enabled:
                function = self.provisioned.functions.find(mapping.function)
                # The mapping polls with the function's execution role.
                role_client = (
                    self.role_client(function.role_arn, function.function_name) if function.role_arn else None
                )
                poller = SqsPoller(
                    mapping,
                    self.provisioned.functions,
                    self.client,
                    time_factor=self.time_factor,
                    role_client=role_client,
                )
                poller.start()
                self._pollers.append(poller)

    def _provision(self) -> Stack:
        parameters = self._local_overrides()
        bundle = self._code_bundle() if self._package_code else None
        if bundle is not None:
            # As `make deploy` does: the code version is a parameter, the bundle lives under code/<version>/.
            self.code_overrides = {"CodeVersion": bundle.version}
            parameters = {**self.code_overrides, **parameters}
        template = load_template(self.template_path, config_env=self.config_env, overrides=parameters)
        stack = Provisioner(
            template, self.client, stack_name=self.stack_name, functions=self._functions
        ).provision()
        if bundle is not None:
            s3 = self.client("s3")
            for name, key in bundle.keys().items():
                s3.put_object(Bucket=stack.ref("ArtifactsBucket"), Key=key, Body=bundle.files[name])
        return stack

    def _local_overrides(self) -> dict[str, str]:
        from mlops_local.engine.template import read_template  # noqa: PLC0415

        declared = read_template(self.template_path).get("Parameters", {}) or {}
        local = {k: v for k, v in LOCAL_PARAMETER_OVERRIDES.items() if k in declared}
        return {**local, **self.overrides}

    def _code_bundle(self) -> Any:
        """The job code bundle built by the project's packaging script (``scripts/package_code.py``)."""
        script = self.project_root / "scripts" / "package_code.py"
        spec = importlib.util.spec_from_file_location("mlops_package_code", script)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {script}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while it is being executed
        spec.loader.exec_module(module)
        return module.collect_bundle(self.project_root)

    def _default_endpoint_host(self) -> Any:
        from mlops_local.executors.endpoint import EndpointHost  # noqa: PLC0415

        return EndpointHost(
            self.client("s3"),
            self.run_dir / "endpoints",
            faults=self.faults,
            progress=self._on_progress,
            s3_as=lambda role_arn: self.role_client(role_arn, "SageMaker")("s3"),
        )

    def stop(self) -> None:
        """Stop the pollers, the running jobs and the endpoints, restore moto, stop the mock."""
        for poller in self._pollers:
            poller.stop()
        self._pollers.clear()
        if self.jobs is not None:
            # As Stop*Job would: each script gets SIGTERM and may save its work, still able to
            # reach the embedded AWS until it ends.
            self.jobs.stop_all(timeout=JOBS_STOP_TIMEOUT_SECONDS)
        stop_all = getattr(self._host, "stop_all", None)
        if stop_all is not None:
            stop_all()
        self._undo_patches()
        self._services = None
        self._mock.stop()

    # -- what a CLI and tests use --------------------------------------------------------------

    @property
    def provisioned(self) -> Stack:
        if self.stack is None:
            raise RuntimeError("the runtime is not started")
        return self.stack

    @property
    def endpoint_host(self) -> Any:
        """The host serving the endpoints on 127.0.0.1 (``url(name)``, ``invoke(name, body, type)``)."""
        if self._host is None:
            raise RuntimeError("the runtime is not started")
        return self._host

    def upload_directory(
        self,
        local_dir: Path,
        source: str,
        *,
        objects_per_second: float | None = None,
        concurrency: int = UPLOAD_CONCURRENCY,
    ) -> list[str]:
        """Upload ``<local_dir>/<label>/<file>`` to ``incoming/<source>/<label>/<file>``; return the keys.

        As a user's ``aws s3 sync`` does: several uploads at once, while the trigger runs (nothing is
        held back), so a large folder spans many batching windows and start_pipeline sees its
        events arrive batch by batch. ``objects_per_second`` paces it further (a camera line).
        """
        bucket = self.provisioned.ref("DataBucket")
        s3 = self.client("s3")
        paths = sorted(p for p in local_dir.rglob("*") if p.is_file())
        keys = [f"incoming/{source}/{path.relative_to(local_dir).as_posix()}" for path in paths]
        started = time.monotonic()

        def put(index: int) -> None:
            if objects_per_second:
                time.sleep(max(0.0, started + index / objects_per_second - time.monotonic()))
            s3.put_object(Bucket=bucket, Key=keys[index], Body=paths[index].read_bytes())

        with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="upload") as pool:
            list(pool.map(put, range(len(paths))))
        return keys

    def start_execution(
        self,
        execution_input: dict[str, Any],
        *,
        name: str | None = None,
        state_machine: str = "TrainingPipelineStateMachine",
    ) -> str:
        """Start an execution of one of the template's state machines; return its ARN."""
        arn = self.provisioned.ref(state_machine)
        kwargs = {"stateMachineArn": arn, "input": json.dumps(execution_input)}
        kwargs["name"] = name or f"manual-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        return str(self.client("stepfunctions").start_execution(**kwargs)["executionArn"])

    def redrive_execution(self, execution_arn: str) -> None:
        """``aws stepfunctions redrive-execution``: resume a failed run at its failed step."""
        self.client("stepfunctions").redrive_execution(executionArn=execution_arn)

    def stop_execution(self, execution_arn: str, *, error: str = "", cause: str = "") -> None:
        """Stop an execution, as StopExecution does.

        moto's engine fails a StopExecution that arrives before its worker has entered the first
        state (``'NoneType' object has no attribute 'set_stop'``); AWS accepts it at any time, so
        wait for the first state first.
        """
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + 30
        while not self.history(execution_arn) and time.monotonic() < deadline:
            time.sleep(0.1)
        sfn.stop_execution(executionArn=execution_arn, error=error, cause=cause)

    def executions(self, state_machine: str = "TrainingPipelineStateMachine") -> list[dict[str, Any]]:
        arn = self.provisioned.ref(state_machine)
        return list(self.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"])

    def wait_for_execution(
        self,
        execution_arn: str,
        *,
        timeout: float = 1800,
        on_progress: Callable[[Progress], None] | None = None,
        poll_seconds: float = 0.5,
    ) -> dict[str, Any]:
        """Wait until the execution ends; report progress on the way; return DescribeExecution."""
        sfn = self.client("stepfunctions")
        began = time.monotonic()
        while True:
            described = sfn.describe_execution(executionArn=execution_arn)
            status = described["status"]
            if on_progress is not None:
                on_progress(self._progress(execution_arn, status, time.monotonic() - began))
            if status in _TERMINAL:
                return dict(described)
            if time.monotonic() - began > timeout:
                raise TimeoutError(f"{execution_arn} still {status} after {timeout:.0f} s")
            time.sleep(poll_seconds)

    def _progress(self, arn: str, status: str, elapsed: float) -> Progress:
        visits = self.history(arn)
        current = next((v.name for v in reversed(visits) if v.exited is None), None)
        running = self.jobs.running() if self.jobs else []
        jobs = [f"{job.kind} {job.name}: {job.last_progress}" for job in running]
        return Progress(arn, status, current, elapsed, jobs)

    def history(self, execution_arn: str) -> list[StateVisit]:
        """The execution state by state: name, type, entered/exited, duration, error."""
        sfn = self.client("stepfunctions")
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        visits: list[StateVisit] = []
        open_visits: dict[str, StateVisit] = {}
        for event in events:
            kind = event["type"]
            if kind.endswith("StateEntered"):
                entered = event["stateEnteredEventDetails"]
                visit = StateVisit(
                    entered["name"], kind.removesuffix("StateEntered"), event["timestamp"], None
                )
                visits.append(visit)
                open_visits[entered["name"]] = visit
            elif kind.endswith("StateExited"):
                name = event["stateExitedEventDetails"]["name"]
                if name in open_visits:
                    open_visits.pop(name).exited = event["timestamp"]
            elif kind.endswith("Failed") and visits:
                details: dict[str, Any] = next(
                    (v for k, v in event.items() if k.endswith("EventDetails")), {}
                )
                target = visits[-1]
                target.error = details.get("error", target.error)
                target.cause = details.get("cause", target.cause)
        return visits

    def notifications(self, topic: str = "NotificationsTopic") -> list[Notification]:
        """What was published to the template's topic ``topic``, oldest first (an e-mail inbox)."""
        arn = self.provisioned.ref(topic)
        # The embedded SNS keeps what it sent.
        sent = sns_backends[ACCOUNT_ID][REGION].topics[arn].sent_notifications
        return [Notification(subject or "", message) for _, message, subject, _, _ in list(sent)]

    def invoke(self, logical_id: str, event: Any) -> Invocation:
        """Invoke one of the template's functions with its environment and handler (``sam local invoke``)."""
        return self.provisioned.functions.invoke(logical_id, event)

    def outputs(self) -> dict[str, Any]:
        """The template's Outputs, resolved."""
        return dict(self.provisioned.outputs)

    def dead_letter_depths(self) -> dict[str, int]:
        """Messages visible in each of the stack's dead-letter queues, by logical id.

        The queues are those the provisioned resources send their failures to, derived from the
        template as its tests derive them; the number is what the queues' CloudWatch alarms watch.
        """
        stack = self.provisioned
        provisioned = {
            logical_id: resource
            for logical_id, resource in stack.template.cfn["Resources"].items()
            if logical_id in stack.resources
        }
        sqs = self.client("sqs")
        depths: dict[str, int] = {}
        for logical_id in sorted(dead_letter_queues(provisioned)):
            # The queue attribute behind the ApproximateNumberOfMessagesVisible metric: the messages
            # available for retrieval, in flight ones aside.
            # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html
            attributes = sqs.get_queue_attributes(
                QueueUrl=stack.ref(logical_id), AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            depths[logical_id] = int(attributes["ApproximateNumberOfMessages"])
        return depths

    def fire_schedule(self, logical_id: str) -> str:
        """Fire one of the template's schedules now, as its target role; return the execution it started."""
        schedule = self.provisioned.schedules[logical_id]
        client = self.role_client(schedule.role_arn, "scheduler") if schedule.role_arn else self.client
        return fire_schedule(schedule, client)

    def emit_event(
        self,
        source: str,
        detail_type: str,
        detail: dict[str, Any],
        resources: list[str],
        *,
        wait: bool = True,
    ) -> None:
        """Deliver an event as an AWS service would emit it (e.g. a Processing Job State Change)."""
        assert self.router is not None
        self.router.dispatch(eventbridge_event(source, detail_type, detail, resources), wait=wait)

    def set_alarm_state(self, alarm_name: str, state: str, reason: str) -> None:
        """Move a CloudWatch alarm to ``state`` and emit its ``CloudWatch Alarm State Change`` event."""
        cloudwatch = self.client("cloudwatch")
        previous = cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"][0]["StateValue"]
        cloudwatch.set_alarm_state(AlarmName=alarm_name, StateValue=state, StateReason=reason)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        self.emit_event(
            "aws.cloudwatch",
            "CloudWatch Alarm State Change",
            {
                "alarmName": alarm_name,
                "state": {"value": state, "reason": reason, "timestamp": now},
                "previousState": {"value": previous, "reason": "", "timestamp": now},
            },
            [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:{alarm_name}"],
        )

    def wait_until_idle(self, timeout: float = 60) -> None:
        """Wait until the pollers have nothing left to deliver and event targets have run."""
        deadline = time.monotonic() + timeout
        for poller in self._pollers:
            poller.idle.wait(max(0.0, deadline - time.monotonic()))
        if self.router is not None:
            self.router.wait(max(0.0, deadline - time.monotonic()))

    def trigger_state(self) -> dict[str, Any]:
        """What the upload trigger is waiting for, read from the stack's table as begin_run reads it.

        Pending uploads and when they become claimable (the quiet period, or the maximum delay),
        the snapshot bound of the last claim, who holds the one-run lease, and a queued retraining.
        """
        from mlops_common.adapters.run_ledger import RunLedger  # noqa: PLC0415 - the pipeline's own
        from mlops_common.domain.run_control import QuietPolicy, quiet_deadline  # noqa: PLC0415

        parameters = self.provisioned.template.parameters
        policy = QuietPolicy(
            quiet_seconds=int(parameters["TriggerQuietSeconds"]),
            max_delay_seconds=int(parameters["TriggerMaxDelaySeconds"]),
        )
        runs = RunLedger(self.provisioned.ref("PipelineTable"), self.client("dynamodb"))
        pending, lease, retraining = runs.pending_uploads(), runs.lease(), runs.pending_retraining()
        deadline = quiet_deadline(pending, policy)
        now = datetime.now(UTC)
        return {
            "pending_uploads": pending.count,
            "last_upload_at": pending.last_at.isoformat() if pending.last_at else None,
            "claimable_at": deadline.isoformat() if deadline else None,
            "covered_until": pending.covered_until.isoformat() if pending.covered_until else None,
            "quiet_seconds": policy.quiet_seconds,
            "lease": (
                {"holder": lease.holder, "trigger": lease.trigger, "expires_at": lease.expires_at}
                if lease is not None and lease.live(now)
                else None
            ),
            "queued_retraining": (
                {"trigger": retraining.trigger, "reason": retraining.reason} if retraining else None
            ),
        }

    def wait_until_trained(self, timeout: float = 900, poll_seconds: float = 0.5) -> list[dict[str, Any]]:
        """Wait until every upload is claimed and no training run holds the lease; return the runs.

        That is the moment a user's ``upload`` has reached a trained model (or a failed run whose
        notification says why): the run that claimed the uploads, and any follow-up, have ended.
        """
        deadline = time.monotonic() + timeout
        while True:
            self.wait_until_idle(timeout=max(1.0, deadline - time.monotonic()))
            state = self.trigger_state()
            running = [e for e in self.executions() if e["status"] == "RUNNING"]
            if not state["pending_uploads"] and state["lease"] is None and not running:
                return self.executions()
            if time.monotonic() > deadline:
                raise TimeoutError(f"uploads still not trained on after {timeout:.0f} s: {state}")
            time.sleep(poll_seconds)
