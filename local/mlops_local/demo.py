"""``make demo``: the closed loop on this machine, from upload to drift-triggered retraining.

upload -> debounced start -> Glue prep (Spark) -> spot HPO (Optuna, CPU) -> evaluation -> gate ->
registered model -> endpoint InService -> sample predictions -> in-distribution monitoring (no
violation) -> drifted traffic -> monitoring violations -> handle_drift -> one retraining execution
(and its cooldown respected). Writes ``report.json`` and ``report.html`` in ``.local/runs/<id>/``.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops_local import report
from mlops_local.monitoring_runs import run_monitoring_now
from mlops_local.project import flat_module, local_state_dir
from mlops_local.runtime import LocalRuntime, Progress
from mlops_local.scenarios import Traffic, generate_photos, send_and_monitor, send_photos
from mlops_local.synthetic_images import generate_dataset

# The demo runs what `up` runs (the runtime's local overrides: three trials, two side by side) with
# 12 epochs, enough for its 818 photos (0.975 to 1.0 sample accuracy); everything else is the
# template's.
DEMO_OVERRIDES = {
    "TrainingEpochs": "12",
    # The demo prints its own progress; the functions' INFO lines would bury it.
    "LogLevel": "WARNING",
}
SOURCES = ("line-a", "line-b")
DRIFT_REQUESTS = 80
SAMPLE_REQUESTS = 80


class DemoFailed(RuntimeError):
    """A step of the closed loop did not do what it must."""


@dataclass
class Stages:
    """Wall-clock seconds per stage, printed as they end."""

    seconds: dict[str, float] = field(default_factory=dict)
    echo: Callable[[str], None] = print

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.echo(f"==> {name}")
        began = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = round(time.monotonic() - began, 2)
            self.echo(f"    {name}: {self.seconds[name]:.1f} s")


class ProgressPrinter:
    """Prints an execution's current state and job progress when they change, with elapsed time."""

    def __init__(self, echo: Callable[[str], None] = print) -> None:
        self._echo = echo
        self._last: tuple[Any, ...] = ()

    def __call__(self, progress: Progress) -> None:
        key = (progress.state, tuple(progress.jobs))
        if key == self._last:
            return
        self._last = key
        jobs = "; ".join(progress.jobs)
        self._echo(
            f"    [{progress.elapsed_seconds:6.1f}s] {progress.status:<9} {progress.state or '':<24} {jobs}"[
                :160
            ]
        )


def new_run_dir(root: Path | None = None) -> Path:
    """A fresh run folder, also reachable as ``latest``."""
    root = root or local_state_dir() / "runs"
    run_dir = root / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=False)
    latest = root / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(run_dir.name)
    return run_dir


def _s3_json(runtime: LocalRuntime, uri: str) -> Any:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return json.loads(runtime.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def _model_metrics(runtime: LocalRuntime, model_data_url: str) -> dict[str, Any]:
    """``metrics.json`` from inside a ``model.tar.gz`` in the embedded S3."""
    bucket, _, key = model_data_url.removeprefix("s3://").partition("/")
    body = runtime.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        member = archive.extractfile("metrics.json")
        return json.loads(member.read()) if member else {}


def _execution_summary(runtime: LocalRuntime, arn: str, trigger: str) -> dict[str, Any]:
    described = runtime.client("stepfunctions").describe_execution(executionArn=arn)
    visits = runtime.history(arn)
    events = runtime.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)
    return {
        "name": described["name"],
        "trigger": trigger,
        "status": described["status"],
        "states_visited": [visit.name for visit in visits],
        "transitions": len(visits),
        "events": len(events["events"]),
        "history": [
            {
                "state": visit.name,
                "type": visit.type,
                "seconds": visit.duration_seconds,
                "error": visit.error,
            }
            for visit in visits
        ],
    }


def _wait_for_new_execution(runtime: LocalRuntime, known: set[str], timeout: float = 60) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runtime.wait_until_idle(timeout=5)
        fresh = [e for e in runtime.executions() if e["executionArn"] not in known]
        if fresh:
            return str(fresh[0]["executionArn"])
        time.sleep(0.2)
    return None


def _checked(traffic: Traffic) -> Traffic:
    """``traffic``, unless the endpoint refused one of its requests."""
    if traffic.first_error is not None:
        raise DemoFailed(traffic.first_error)
    return traffic


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 2)


class Demo:
    """The closed loop, one method per stage; ``content`` becomes ``report.json``."""

    def __init__(self, *, images_per_class: int, seed: int, echo: Callable[[str], None]) -> None:
        self.images_per_class = images_per_class
        self.seed = seed
        self.echo = echo
        self.run_dir = new_run_dir()
        self.stages = Stages(echo=echo)
        self.content: dict[str, Any] = {
            "run_dir": str(self.run_dir),
            "started_at": datetime.now(UTC).isoformat(),
        }
        self.runtime = LocalRuntime(
            run_dir=self.run_dir, overrides=DEMO_OVERRIDES, on_progress=lambda _: None
        )
        self.latencies: list[float] = []
        self.uploaded = 0
        self.metrics: dict[str, Any] = {}
        self.distances: dict[str, float] = {}

    def run(self) -> int:
        started = time.monotonic()
        stage = self.stages.stage
        with stage("generate synthetic product photos"):
            self.generate()
        with stage("provision the template in the embedded AWS"):
            self.runtime.start()
        try:
            with stage("upload to incoming/ (EventBridge -> SQS -> start_pipeline)"):
                arn = self.upload()
            with stage("training pipeline"):
                state = self.train(arn)
            with stage("sample predictions on the endpoint"):
                self.predict(state)
            with stage("monitoring, drifted traffic, handle_drift, cooldown"):
                self.drift(state)
            self.content["cost"] = self.cost()
            pictures = self.pictures()
        finally:
            with stage("stop the runtime"):
                self.runtime.stop()
        timings = self.stages.seconds
        timings["total"] = round(time.monotonic() - started, 2)
        timings["total_without_setup"] = round(
            timings["total"] - timings["generate synthetic product photos"], 2
        )
        self.content["timings"] = timings
        page = report.write_report(self.run_dir, self.content, pictures)
        return self.summarise(page)

    def generate(self) -> None:
        data = generate_dataset(
            self.run_dir / "upload",
            images_per_class=self.images_per_class,
            sources=SOURCES,
            seed=self.seed,
            bad_files=True,
            duplicates=6,
        )
        self.echo(
            f"    {len(data.all_files)} files ({len(data.bad_files)} bad, {len(data.duplicates)} duplicates)"
        )

    def upload(self) -> str:
        # As a user's sync: concurrent puts while the trigger runs, across many batching windows.
        began = time.monotonic()
        self.uploaded = sum(
            len(self.runtime.upload_directory(self.run_dir / "upload" / source, source)) for source in SOURCES
        )
        arn = _wait_for_new_execution(self.runtime, set())
        if arn is None:
            raise DemoFailed("the uploads started no execution")
        self.echo(
            f"    {self.uploaded} objects in {time.monotonic() - began:.1f} s started"
            f" {arn.rsplit(':', 1)[-1]}; it waits for the uploads to settle, then claims them"
        )
        return arn

    def train(self, arn: str) -> dict[str, Any]:
        described = self.runtime.wait_for_execution(arn, on_progress=ProgressPrinter(self.echo))
        execution = _execution_summary(self.runtime, arn, "upload")
        self.content["executions"] = [execution]
        if described["status"] != "SUCCEEDED":
            raise DemoFailed(f"the pipeline ended {described['status']}: {self._why(arn)}")
        state: dict[str, Any] = json.loads(described.get("output") or "{}")
        gate = state.get("gate", {})
        if not gate.get("passed"):
            raise DemoFailed("the gate rejected the model: " + "; ".join(gate.get("reasons", [])))
        self.content["dataset"] = dict(state.get("dataset", {}).get("accounting", {}))
        self._check_every_upload_is_in_the_run(state)
        self.content["gate"] = {
            "passed": gate.get("passed"),
            "reasons": gate.get("reasons", []),
            "metrics": gate,
        }
        model = state.get("model", {})
        if model.get("model_data_url"):
            self.metrics = _model_metrics(self.runtime, model["model_data_url"])
        self.content["tuning"] = _tuning_summary(self.runtime, model.get("tuning_job_name"))
        return state

    def _check_every_upload_is_in_the_run(self, state: dict[str, Any]) -> None:
        """The promise of the trigger: one run, whose dataset accounts for every uploaded object."""
        training_runs = self.runtime.executions()
        if len(training_runs) != 1:
            names = ", ".join(e["name"] for e in training_runs)
            raise DemoFailed(f"the upload started {len(training_runs)} training runs, not one: {names}")
        dataset_uri = state.get("dataset", {}).get("dataset_uri", "")
        stats = _s3_json(self.runtime, dataset_uri.rstrip("/") + "/stats.json")
        uploads = stats.get("uploads", {})
        self.content["uploads"] = {"uploaded": self.uploaded, **uploads, "claimed": state["begin"]}
        if uploads.get("new") != self.uploaded or uploads.get("after_snapshot"):
            raise DemoFailed(
                f"{self.uploaded} objects uploaded, but the run's dataset accounts for {uploads}"
            )
        self.echo(f"    every one of the {self.uploaded} uploads is in the run's dataset accounting")

    def _why(self, arn: str) -> str:
        """The first failed task with its cause, else the path's last states, and any endpoint failure."""
        visits = self.runtime.history(arn)
        first = next((v for v in visits if v.error and v.type == "Task"), None)
        reason = (
            f"{first.name}: {first.error}: {(first.cause or '')[-800:]}"
            if first
            else "path ended " + " -> ".join(v.name for v in visits[-5:])
        )
        sagemaker = self.runtime.client("sagemaker")
        for endpoint in sagemaker.list_endpoints()["Endpoints"]:
            failure = sagemaker.describe_endpoint(EndpointName=endpoint["EndpointName"]).get("FailureReason")
            if failure:
                reason += f"; endpoint {endpoint['EndpointName']}: {failure}"
        return reason

    def predict(self, state: dict[str, Any]) -> None:
        endpoint_name = state["deployment"]["endpoint_name"]
        photos = generate_photos(self.run_dir / "traffic", SAMPLE_REQUESTS, seed=self.seed + 1)
        truth = [path.parent.name for path in photos]  # generated as <source>/<label>/<file>
        traffic = _checked(send_photos(self.runtime, endpoint_name, photos))
        self.latencies, predictions = traffic.latencies_ms, traffic.predictions
        correct = sum(p["label"] == t for p, t in zip(predictions, truth, strict=True))
        self.echo(f"    {correct}/{len(truth)} unseen photos classified correctly")
        described = self.runtime.client("sagemaker").describe_endpoint(EndpointName=endpoint_name)
        self.content["endpoint"] = {
            "status": described["EndpointStatus"],
            "url": self.runtime.endpoint_host.url(endpoint_name),
            "p50_ms": _percentile(self.latencies, 0.5),
            "p99_ms": _percentile(self.latencies, 0.99),
            "sample_accuracy": round(correct / len(truth), 4),
        }

    def drift(self, state: dict[str, Any]) -> None:
        runtime, echo = self.runtime, self.echo
        traffic_shift = flat_module("traffic_shift", runtime.project_root)
        endpoint_name = state["deployment"]["endpoint_name"]
        schedule_name = state["monitoring"]["schedule_name"]
        threshold = float(runtime.provisioned.template.parameters.get("DriftThreshold", 0.1))
        calm = run_monitoring_now(runtime, schedule_name)  # on the sample predictions' capture
        echo(f"    in-distribution traffic: {calm.exit_message}")
        known = {e["executionArn"] for e in runtime.executions()}
        photos = generate_photos(self.run_dir / "drift", DRIFT_REQUESTS, seed=self.seed + 2)
        darker = send_and_monitor(runtime, endpoint_name, schedule_name, photos, shift=traffic_shift.darker)
        _checked(darker.traffic)
        drifted = darker.monitoring
        self.distances = drifted.distances
        echo(f"    darker traffic: {drifted.exit_message}")
        retrain_arn = _wait_for_new_execution(runtime, known, timeout=30)
        echo(f"    retraining: {retrain_arn.rsplit(':', 1)[-1] if retrain_arn else 'none started'}")
        again = run_monitoring_now(runtime, schedule_name)  # inside the cooldown window
        runtime.wait_until_idle(timeout=10)
        drift_runs = [e for e in runtime.executions() if e["executionArn"] not in known]
        echo(f"    violations again: {again.exit_message}; retrainings started by drift: {len(drift_runs)}")
        if retrain_arn is not None:
            # The retraining is the same pipeline again; the demo shows that it started, then stops it.
            runtime.stop_execution(
                retrain_arn, error="DemoFinished", cause="stopped by the demo once started"
            )
            self.content["executions"].append(
                {
                    "name": retrain_arn.rsplit(":", 1)[-1],
                    "trigger": "drift",
                    "status": "started, then stopped by the demo",
                    "states_visited": [],
                    "transitions": 0,
                }
            )
        self.content["drift"] = {
            "in_distribution": {"exit_message": calm.exit_message, "distances": calm.distances},
            "threshold": threshold,
            "violations": [
                f"{name}: {value:.3f}" for name, value in drifted.distances.items() if value > threshold
            ],
            "exit_message": drifted.exit_message,
            "retrain_execution": retrain_arn.rsplit(":", 1)[-1] if retrain_arn else None,
            "executions_started_by_drift": len(drift_runs),
            "cooldown_respected": len(drift_runs) == 1,
        }

    def cost(self) -> dict[str, Any]:
        """The training run priced from its jobs' own billable time, beside the planning estimate."""
        name = self.content["executions"][0]["name"]
        arn = next(e["executionArn"] for e in self.runtime.executions() if e["name"] == name)
        return report.run_cost(
            arn,
            self.runtime.provisioned.template.parameters,
            stepfunctions=self.runtime.client("stepfunctions"),
            sagemaker=self.runtime.client("sagemaker"),
            glue=self.runtime.client("glue"),
        )

    def pictures(self) -> dict[str, str]:
        definition = json.loads(
            self.runtime.client("stepfunctions").describe_state_machine(
                stateMachineArn=self.runtime.provisioned.ref("TrainingPipelineStateMachine")
            )["definition"]
        )
        visited = self.content["executions"][0]["states_visited"]
        uri = report.figure_to_data_uri
        pictures = {
            "graph": uri(report.draw_state_machine(definition, visited)),
            "accounting": uri(report.draw_accounting(self.content.get("dataset", {}))),
            "latency": uri(report.draw_latency(self.latencies)),
        }
        if self.distances:
            pictures["drift"] = uri(report.draw_drift(self.distances, self.content["drift"]["threshold"]))
        tuning = self.content.get("tuning") or {}
        if tuning.get("trials"):
            pictures["tuning"] = uri(report.draw_tuning_trials(tuning["trials"], tuning["objective"]))
        if self.metrics.get("history"):
            pictures["training curves"] = uri(report.draw_training_curves(self.metrics["history"]))
        if self.metrics.get("confusion_matrix"):
            pictures["confusion matrix"] = uri(
                report.draw_confusion_matrix(
                    self.metrics["labels"], self.metrics["confusion_matrix"], "best model, validation split"
                )
            )
        return pictures

    def summarise(self, page: Path) -> int:
        content, echo = self.content, self.echo
        echo("")
        echo(f"executions: {[(e['name'], e['status']) for e in content['executions']]}")
        echo(f"dataset: {content.get('dataset')}")
        echo(f"gate: passed={content['gate']['passed']}")
        echo(f"endpoint: {content['endpoint']}")
        drift = content["drift"]
        echo(f"drift: violations={drift['violations']} retraining={drift['retrain_execution']}")
        timings = content["timings"]
        echo(f"time: {timings['total']:.1f} s in all, {timings['total_without_setup']:.1f} s without setup")
        problems = _problems(content)
        for problem in problems:
            echo(f"PROBLEM: {problem}")
        echo(f"Report: {page}")
        return 1 if problems else 0


def run_demo(*, images_per_class: int = 200, seed: int = 7, echo: Callable[[str], None] = print) -> int:
    """Run the closed loop; return 0 when every step did what it must."""
    # The handlers' INFO logs would bury the demo's progress lines; warnings and errors still show.
    return Demo(images_per_class=images_per_class, seed=seed, echo=echo).run()


def _problems(content: dict[str, Any]) -> list[str]:
    """What makes the closed loop incomplete."""
    problems = []
    if not content["gate"]["passed"]:
        problems.append("the gate rejected the model")
    if content["endpoint"]["status"] != "InService":
        problems.append(f"endpoint is {content['endpoint']['status']}")
    if content["drift"]["in_distribution"]["exit_message"].startswith("CompletedWithViolations"):
        problems.append("in-distribution traffic raised violations")
    if not content["drift"]["retrain_execution"]:
        problems.append("drift started no retraining")
    if not content["drift"]["cooldown_respected"]:
        problems.append("drift started more than one retraining")
    return problems


def _tuning_summary(runtime: LocalRuntime, tuning_job: str | None) -> dict[str, Any]:
    if not tuning_job:
        return {}
    sagemaker = runtime.client("sagemaker")
    described = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuning_job)
    jobs = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=tuning_job, MaxResults=100
    )["TrainingJobSummaries"]
    trials = [
        {
            "name": job["TrainingJobName"],
            "status": job["TrainingJobStatus"],
            "hyperparameters": job.get("TunedHyperParameters", {}),
            "objective": (job.get("FinalHyperParameterTuningJobObjectiveMetric") or {}).get("Value"),
        }
        for job in sorted(jobs, key=lambda j: j["TrainingJobName"])
    ]
    objective = described["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    return {
        "name": tuning_job,
        "objective": objective["MetricName"],
        "best": described.get("BestTrainingJob", {}).get("TrainingJobName"),
        "trials": trials,
    }
