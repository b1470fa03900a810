"""``python -m mlops_local``: the local runtime from the command line.

``demo`` runs the whole closed loop. ``up`` provisions the template and keeps it serving; while it
runs, ``upload``, ``run``, ``status``, ``history``, ``predict``, ``drift``, ``faults add`` and
``invoke`` talk to it over a small JSON control API on 127.0.0.1 (its address is in
``.local/runtime.json``). ``invoke`` without a running ``up`` starts a runtime just for the call,
like ``sam local invoke`` does with a container.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mlops_local.project import flat_module, local_state_dir


def _state_file() -> Path:
    """Where ``up`` writes its control API address, for the other commands to find it."""
    return local_state_dir() / "runtime.json"


SHIFTS = ("darker", "blurred", "new-camera")


class NotRunning(RuntimeError):
    """No ``up`` is serving."""


# --- the control API, served by ``up`` -------------------------------------------------------------


class Controller:
    """What the control API can ask of a running ``LocalRuntime``."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    def upload(self, directory: str, source: str, objects_per_second: float | None = None) -> dict[str, Any]:
        keys = self.runtime.upload_directory(Path(directory), source, objects_per_second=objects_per_second)
        self.runtime.wait_until_idle(timeout=60)
        return {"uploaded": len(keys), "trigger": self.runtime.trigger_state()}

    def accounting(self) -> dict[str, Any]:
        """Each training run and what its dataset covers (``stats.json``: the upload snapshot)."""
        s3, bucket = self.runtime.client("s3"), self.runtime.provisioned.ref("DataBucket")
        runs = []
        for execution in sorted(self.runtime.executions(), key=lambda e: e["startDate"]):
            try:
                body = s3.get_object(Bucket=bucket, Key=f"datasets/{execution['name']}/stats.json")["Body"]
                stats = json.loads(body.read())
            except s3.exceptions.NoSuchKey:
                stats = {}
            visits = self.runtime.history(execution["executionArn"])
            output = json.loads(
                self.runtime.client("stepfunctions")
                .describe_execution(executionArn=execution["executionArn"])
                .get("output")
                or "{}"
            )
            runs.append(
                {
                    "name": execution["name"],
                    "status": execution["status"],
                    # Succeeded is not deployed: the run may end at ModelRejected or RunSkipped.
                    "ended_in": visits[-1].name if visits else None,
                    "gate_reasons": (output.get("gate") or {}).get("reasons", []),
                    "uploads": stats.get("uploads"),
                    "accounting": stats.get("accounting"),
                    "excluded_labels": stats.get("excluded_labels") or {},
                }
            )
        return {"runs": runs}

    def run(self, trigger: str, state_machine: str, execution_input: dict[str, Any] | None) -> dict[str, Any]:
        payload = execution_input or {
            "trigger": trigger,
            "reason": "started from the command line",
            "requested_at": datetime.now(UTC).isoformat(),
        }
        arn = self.runtime.start_execution(payload, state_machine=state_machine)
        return {"execution_arn": arn}

    def status(self) -> dict[str, Any]:
        executions = []
        for machine in ("TrainingPipelineStateMachine", "BatchInferenceStateMachine"):
            for execution in self.runtime.executions(machine):
                visits = self.runtime.history(execution["executionArn"])
                current = next((v.name for v in reversed(visits) if v.exited is None), None)
                executions.append(
                    {
                        "name": execution["name"],
                        "state_machine": machine,
                        "status": execution["status"],
                        "current_state": current,
                        "started": str(execution["startDate"]),
                    }
                )
        jobs = [f"{job.kind} {job.name}: {job.last_progress}" for job in self.runtime.jobs.running()]
        return {"executions": executions, "running_jobs": jobs, "trigger": self.runtime.trigger_state()}

    def history(self, execution: str) -> dict[str, Any]:
        arn = self._execution_arn(execution)
        return {
            "execution_arn": arn,
            "states": [
                {
                    "state": visit.name,
                    "type": visit.type,
                    "entered": visit.entered.isoformat(),
                    "seconds": visit.duration_seconds,
                    "error": visit.error,
                    "cause": (visit.cause or "")[:300] or None,
                }
                for visit in self.runtime.history(arn)
            ],
        }

    def predict(self, path: str, content_type: str) -> dict[str, Any]:
        endpoint = self._endpoint_name()
        response = self.runtime.endpoint_host.invoke(endpoint, Path(path).read_bytes(), content_type)
        return {"endpoint": endpoint, "status": response.status, "body": json.loads(response.body)}

    def drift(self, shift: str, count: int, seed: int) -> dict[str, Any]:
        from mlops_local.scenarios import generate_photos, send_and_monitor  # noqa: PLC0415

        traffic_shift = flat_module("traffic_shift", self.runtime.project_root)
        transforms: dict[str, Callable[..., Any]] = {
            "darker": traffic_shift.darker,
            "blurred": traffic_shift.blurred,
            "new-camera": traffic_shift.new_camera,
        }
        transform = transforms[shift]
        endpoint, schedule = self._endpoint_name(), self._schedule_name()
        folder = self.runtime.run_dir / "drift" / f"{shift}-{int(time.time())}"
        photos = generate_photos(folder, count, seed=seed)
        run = send_and_monitor(self.runtime, endpoint, schedule, photos, shift=transform)
        self.runtime.wait_until_idle(timeout=30)
        return {
            "sent": run.traffic.sent,
            "monitoring": run.monitoring.exit_message,
            "distances": run.monitoring.distances,
            "executions": self.status()["executions"],
        }

    def add_faults(self, specs: list[str]) -> dict[str, Any]:
        from mlops_local.executors.faults import parse_fault_spec  # noqa: PLC0415

        for spec in specs:
            self.runtime.faults.add(parse_fault_spec(spec))
        return {"pending": [str(rule) for rule in self.runtime.faults.pending()]}

    def invoke(self, function: str, event: Any) -> dict[str, Any]:
        outcome = self.runtime.invoke(function, event)
        return {"payload": outcome.payload, "function_error": outcome.function_error}

    def _execution_arn(self, execution: str) -> str:
        for machine in ("TrainingPipelineStateMachine", "BatchInferenceStateMachine"):
            for item in self.runtime.executions(machine):
                if execution in (item["name"], item["executionArn"]):
                    return str(item["executionArn"])
        raise KeyError(f"no execution named {execution}")

    def _endpoint_name(self) -> str:
        names = self.runtime.endpoint_host.endpoint_names()
        if not names:
            raise KeyError("no endpoint is serving yet: run the training pipeline first")
        return str(names[0])

    def _schedule_name(self) -> str:
        schedules = self.runtime.client("sagemaker").list_monitoring_schedules()[
            "MonitoringScheduleSummaries"
        ]
        if not schedules:
            raise KeyError("no monitoring schedule yet: a successful pipeline run creates it")
        return str(schedules[0]["MonitoringScheduleName"])


def serve(controller: Controller) -> ThreadingHTTPServer:
    """Serve the controller's methods as ``POST /<method>`` with JSON arguments, on 127.0.0.1."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet: the CLI prints what matters
            return

        def do_POST(self) -> None:
            method = self.path.strip("/").replace("-", "_")
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)) or 0)
            try:
                if method.startswith("_") or not hasattr(controller, method):
                    raise KeyError(f"unknown command {method}")
                result = getattr(controller, method)(**json.loads(body or b"{}"))
                status, payload = 200, result
            except (KeyError, ValueError, FileNotFoundError) as error:
                status, payload = 400, {"error": f"{type(error).__name__}: {error}"}
            except Exception as error:
                status, payload = 500, {"error": f"{type(error).__name__}: {error}"}
            data = json.dumps(payload, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, name="control-api", daemon=True).start()
    return server


def call(method: str, **arguments: Any) -> dict[str, Any]:
    """Call a method of the running ``up`` over the control API."""
    if not _state_file().exists():
        raise NotRunning(
            "no local runtime is up: start one with `python -m mlops_local up` in another terminal"
        )
    url = json.loads(_state_file().read_text())["control_url"] + "/" + method
    request = urllib.request.Request(  # noqa: S310 - a loopback URL this program wrote
        url, data=json.dumps(arguments).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=3600) as response:  # noqa: S310
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as error:
        raise RuntimeError(json.loads(error.read()).get("error", str(error))) from error
    except urllib.error.URLError as error:
        raise NotRunning(
            f"the local runtime at {url} does not answer ({error.reason}); start `up` again"
        ) from error


# --- commands --------------------------------------------------------------------------------------


def _runtime(args: argparse.Namespace) -> Any:
    from mlops_local.executors.faults import FaultPlan  # noqa: PLC0415
    from mlops_local.runtime import LocalRuntime  # noqa: PLC0415

    return LocalRuntime(
        config_env=args.config_env,
        faults=FaultPlan.from_specs(args.fault or []),
        on_progress=(lambda message: print(f"  {message}", flush=True)) if args.verbose else None,
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from mlops_local.demo import run_demo  # noqa: PLC0415

    return run_demo(images_per_class=args.images_per_class, seed=args.seed)


def cmd_up(args: argparse.Namespace) -> int:
    runtime = _runtime(args)
    runtime.start()
    server = serve(Controller(runtime))
    _state_file().parent.mkdir(parents=True, exist_ok=True)
    control_url = f"http://127.0.0.1:{server.server_address[1]}"
    _state_file().write_text(json.dumps({"control_url": control_url, "run_dir": str(runtime.run_dir)}))
    print(json.dumps({"control_url": control_url, "outputs": runtime.outputs()}, indent=2, default=str))
    print("local runtime is up; Ctrl-C stops it", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        print("stopping")
    finally:
        server.shutdown()
        _state_file().unlink(missing_ok=True)
        runtime.stop()
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    machine = {"training": "TrainingPipelineStateMachine", "batch": "BatchInferenceStateMachine"}[
        args.pipeline
    ]
    payload = json.loads(args.input) if args.input else None
    started = call("run", trigger=args.trigger, state_machine=machine, execution_input=payload)
    print(started["execution_arn"])
    if not args.wait:
        return 0
    while True:
        name = started["execution_arn"].rsplit(":", 1)[-1]
        mine = next(e for e in call("status")["executions"] if e["name"] == name)
        print(f"  {mine['status']:<9} {mine['current_state'] or ''}", flush=True)
        if mine["status"] != "RUNNING":
            return 0 if mine["status"] == "SUCCEEDED" else 1
        time.sleep(2)


def cmd_upload(args: argparse.Namespace) -> int:
    result = call(
        "upload",
        directory=str(Path(args.directory).resolve()),
        source=args.source,
        objects_per_second=args.objects_per_second,
    )
    print(f"uploaded {result['uploaded']} object(s) to incoming/{args.source}/")
    if not args.wait:
        _print(result["trigger"])
        return 0
    return follow_training()


def trigger_line(trigger: dict[str, Any], running: list[dict[str, Any]]) -> str:
    """One line of what the trigger waits for and what runs, for ``upload --wait``."""
    parts = []
    if trigger["pending_uploads"]:
        pending = f"{trigger['pending_uploads']} upload(s) pending"
        claimable = datetime.fromisoformat(trigger["claimable_at"])
        if claimable > datetime.now(UTC):
            parts.append(f"{pending}, quiet period ends {claimable:%H:%M:%S} UTC")
        elif trigger["lease"]:
            parts.append(f"{pending} for the follow-up run")
        else:
            parts.append(f"{pending}, settled")
    if trigger["lease"]:
        parts.append(f"run lease: {trigger['lease']['holder']}")
    parts += [f"{e['name']}: {e['current_state'] or e['status']}" for e in running]
    if trigger["queued_retraining"]:
        parts.append(f"queued {trigger['queued_retraining']['trigger']} retraining")
    return "  " + ("; ".join(parts) or "idle")


def follow_training(poll_seconds: float = 1.0) -> int:
    """Print the trigger's state as it changes until every upload is trained on; then the runs."""
    last = ""
    while True:
        status = call("status")
        trigger = status["trigger"]
        running = [
            e
            for e in status["executions"]
            if e["state_machine"] == "TrainingPipelineStateMachine" and e["status"] == "RUNNING"
        ]
        line = trigger_line(trigger, running)
        if line != last:
            print(line, flush=True)
            last = line
        if not trigger["pending_uploads"] and trigger["lease"] is None and not running:
            break
        time.sleep(poll_seconds)
    runs = call("accounting")["runs"]
    for run in runs:
        uploads = run["uploads"] or {}
        excluded = ", ".join(f"{label} ({why['reason']})" for label, why in run["excluded_labels"].items())
        print(
            f"{run['name']}: {run['status']} at {run['ended_in']}, {uploads.get('new', '?')} new upload(s)"
            f" ({uploads.get('previously_covered', 0)} from earlier runs)"
            + (f"; excluded labels: {excluded}" if excluded else "")
        )
        for reason in run["gate_reasons"]:
            print(f"  gate: {reason}")
    return 0 if runs and runs[-1]["ended_in"] == "PipelineSucceeded" else 1


def cmd_history(args: argparse.Namespace) -> int:
    result = call("history", execution=args.execution)
    for state in result["states"]:
        seconds = "" if state["seconds"] is None else f"{state['seconds']:7.2f}s"
        error = f"  {state['error']}: {state['cause']}" if state["error"] else ""
        print(f"{state['entered'][11:19]}  {state['type']:<8} {state['state']:<32} {seconds}{error}")
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    event = json.loads(Path(args.event).read_text()) if args.event else {}
    try:
        result = call("invoke", function=args.function, event=event)
    except NotRunning:
        runtime = _runtime(args)
        runtime.start()
        try:
            outcome = runtime.invoke(args.function, event)
            result = {"payload": outcome.payload, "function_error": outcome.function_error}
        finally:
            runtime.stop()
    print(json.dumps(result["payload"], indent=2, default=str))
    return 1 if result["function_error"] else 0


def cmd_faults(args: argparse.Namespace) -> int:
    from mlops_local.executors.faults import FAULT_DESCRIPTIONS  # noqa: PLC0415

    if args.add:
        print(json.dumps(call("add_faults", specs=args.add), indent=2))
        return 0
    for kind, description in FAULT_DESCRIPTIONS.items():
        print(f"{kind:<26} {description}")
    return 0


def _print(result: dict[str, Any]) -> int:
    print(json.dumps(result, indent=2, default=str))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mlops_local", description=__doc__.splitlines()[0])
    parser.add_argument("--config-env", help="a samconfig.toml environment whose parameter_overrides apply")
    parser.add_argument("--fault", action="append", help="inject a fault (see `faults`); repeatable")
    parser.add_argument("--verbose", action="store_true", help="print every job progress line")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run the whole closed loop and write the report")
    demo.add_argument("--images-per-class", type=int, default=200)
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(handler=cmd_demo)
    commands.add_parser("up", help="provision the template and keep it serving").set_defaults(handler=cmd_up)

    upload = commands.add_parser("upload", help="upload DIR/<label>/<file> to incoming/<source>/")
    upload.add_argument("directory")
    upload.add_argument("--source", default="line-a")
    upload.add_argument("--objects-per-second", type=float, help="pace the upload, as a camera line would")
    upload.add_argument(
        "--wait", action="store_true", help="follow the trigger and the training run(s) until they end"
    )
    upload.set_defaults(handler=cmd_upload)
    run = commands.add_parser("run", help="start an execution")
    run.add_argument("--pipeline", choices=("training", "batch"), default="training")
    run.add_argument("--trigger", choices=("manual", "schedule", "drift", "upload"), default="manual")
    run.add_argument("--input", help="the execution input as JSON (default: a manual trigger)")
    run.add_argument("--wait", action="store_true", help="follow the execution until it ends")
    run.set_defaults(handler=cmd_run)
    commands.add_parser("status", help="executions and running jobs").set_defaults(
        handler=lambda a: _print(call("status"))
    )
    history = commands.add_parser("history", help="an execution state by state")
    history.add_argument("execution", help="execution name or ARN")
    history.set_defaults(handler=cmd_history)
    predict = commands.add_parser("predict", help="send an image to the endpoint")
    predict.add_argument("file")
    predict.add_argument("--content-type", default="image/png")
    predict.set_defaults(
        handler=lambda a: _print(
            call("predict", path=str(Path(a.file).resolve()), content_type=a.content_type)
        )
    )
    drift = commands.add_parser("drift", help="send shifted traffic, then run the monitoring schedule once")
    drift.add_argument("--shift", choices=SHIFTS, default="darker")
    drift.add_argument("--count", type=int, default=80)
    drift.add_argument("--seed", type=int, default=11)
    drift.set_defaults(handler=lambda a: _print(call("drift", shift=a.shift, count=a.count, seed=a.seed)))
    faults = commands.add_parser("faults", help="list the injectable faults, or --add them to a running up")
    faults.add_argument("--add", nargs="+", metavar="SPEC")
    faults.set_defaults(handler=cmd_faults)
    invoke = commands.add_parser("invoke", help="invoke a function by logical id, like sam local invoke")
    invoke.add_argument("function", help="logical id in template.yaml, e.g. StartPipelineFunction")
    invoke.add_argument("-e", "--event", help="path to the event JSON")
    invoke.set_defaults(handler=cmd_invoke)
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(arguments)
    try:
        code: int = args.handler(args)
    except NotRunning as error:
        print(error, file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return code
