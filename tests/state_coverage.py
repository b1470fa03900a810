"""State and transition coverage of the two state machines, recorded across every test tier.

Every execution any test runs in moto's Step Functions engine (unit ASL tests, the integration
tier, the e2e runs of the local runtime) reports each state it enters through the engine's event
history. This plugin records those entries and the transitions between them, attributes them to
the training or the batch machine by state names, and at the end of the session writes
``build/state-coverage.md`` (and ``.json``): every state and every edge of each machine (``Next``,
``Default``, each Choice rule, each Catch), with how often the suite took it.

When the whole suite ran (every tier, no ``-k``), the session fails if any state or edge of
either machine was not taken: every state, every Choice rule and every Catch is run by some test.
``UNREACHABLE_OFFLINE`` would name any that no offline run can take, with the reason.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
MACHINES = {
    "training_pipeline": REPO_ROOT / "statemachines" / "training_pipeline.asl.json",
    "batch_inference": REPO_ROOT / "statemachines" / "batch_inference.asl.json",
}
OUTPUT_DIR = REPO_ROOT / "build"
RECORDS_DIR = OUTPUT_DIR / "state-coverage-records"
# (machine, state or "from -> to") -> why no test can take it offline.
UNREACHABLE_OFFLINE: dict[tuple[str, str], str] = {}
# The tiers whose union is "the whole suite".
ALL_TIERS = ("tests/unit/statemachines", "tests/integration", "tests/e2e")


def machine_edges(definition: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    """Every edge of a machine: (from, to) -> what takes it (Next, Default, a Choice rule, a Catch)."""
    edges: dict[tuple[str, str], list[str]] = {}
    for name, state in definition["States"].items():
        if "Next" in state:
            edges.setdefault((name, state["Next"]), []).append("Next")
        if "Default" in state:
            edges.setdefault((name, state["Default"]), []).append("Default")
        for index, rule in enumerate(state.get("Choices", [])):
            edges.setdefault((name, rule["Next"]), []).append(f"Choice rule {index + 1}")
        for catcher in state.get("Catch", []):
            edges.setdefault((name, catcher["Next"]), []).append(f"Catch {', '.join(catcher['ErrorEquals'])}")
    return edges


def _definitions() -> dict[str, dict[str, Any]]:
    return {machine: json.loads(path.read_text(encoding="utf-8")) for machine, path in MACHINES.items()}


class Recorder:
    """Counts entered states and taken transitions, per execution's event history."""

    def __init__(self) -> None:
        definitions = _definitions()
        self._names = {machine: set(d["States"]) for machine, d in definitions.items()}
        self.entered: Counter[tuple[str, str]] = Counter()
        self.taken: Counter[tuple[str, str, str]] = Counter()
        self._last: dict[int, tuple[str, str]] = {}  # id(event manager) -> (machine, last state)
        self._undecided: dict[
            int, str
        ] = {}  # id(event manager) -> a state entered before the machine is known
        self._lock = threading.Lock()

    def _machine(self, state: str) -> str | None:
        owners = [machine for machine, names in self._names.items() if state in names]
        return owners[0] if len(owners) == 1 else None

    def state_entered(self, history: object, state: str) -> None:
        with self._lock:
            key = id(history)
            previous = self._last.get(key)
            machine = self._machine(state) or (previous[0] if previous else None)
            if machine is None:
                # A name both machines have (the batch machine's first state, ResolveChampion): the next
                # state tells.
                self._undecided[key] = state
                return
            if state not in self._names[machine]:
                return
            first = self._undecided.pop(key, None)
            if first is not None and first in self._names[machine]:
                self.entered[(machine, first)] += 1
                previous = (machine, first)
            self.entered[(machine, state)] += 1
            if previous and previous[0] == machine:
                self.taken[(machine, previous[1], state)] += 1
            self._last[key] = (machine, state)

    def dump(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "entered": [[m, s, n] for (m, s), n in self.entered.items()],
                    "taken": [[m, a, b, n] for (m, a, b), n in self.taken.items()],
                }
            ),
            encoding="utf-8",
        )


_RECORDER = pytest.StashKey[Recorder]()
_MISSING = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField

    recorder = config.stash[_RECORDER] = Recorder()
    stock = CommonStateField._eval_body

    def eval_body(state: Any, env: Any) -> None:
        recorder.state_entered(env.event_manager, state.name)
        stock(state, env)

    # Every state of every machine passes here when it is entered (it adds the StateEntered event).
    CommonStateField._eval_body = eval_body  # type: ignore[method-assign,assignment]
    config.add_cleanup(lambda: setattr(CommonStateField, "_eval_body", stock))
    if not hasattr(config, "workerinput"):  # the controller (or a plain run): start clean
        for stale in RECORDS_DIR.glob("*.json"):
            stale.unlink()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    worker = getattr(session.config, "workerinput", {}).get("workerid", "main")
    session.config.stash[_RECORDER].dump(RECORDS_DIR / f"{worker}.{os.getpid()}.json")
    tiers = _tiers_run(session.config)
    if hasattr(session.config, "workerinput") or not tiers & {"tests/unit/statemachines", "tests/e2e"}:
        return  # workers leave the merge to the controller; a run without the machines' tests says nothing
    report = coverage_report()
    (OUTPUT_DIR / "state-coverage.md").write_text(report.markdown(), encoding="utf-8")
    (OUTPUT_DIR / "state-coverage.json").write_text(json.dumps(report.summary(), indent=2), encoding="utf-8")
    whole_suite = tiers == set(ALL_TIERS) and not session.config.option.keyword and not session.testsfailed
    if whole_suite and report.missing():
        session.config.stash[_MISSING] = report.missing()
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _tiers_run(config: pytest.Config) -> set[str]:
    """The tiers the command line's paths cover (``tests`` covers them all)."""
    paths = [Path(str(arg).split("::", 1)[0]).resolve() for arg in config.args] or [REPO_ROOT / "tests"]
    return {tier for tier in ALL_TIERS if any((REPO_ROOT / tier).is_relative_to(path) for path in paths)}


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not _tiers_run(config) & {"tests/unit/statemachines", "tests/e2e"}:
        return
    summary = json.loads((OUTPUT_DIR / "state-coverage.json").read_text(encoding="utf-8"))
    for machine, figures in summary.items():
        terminalreporter.write_line(
            f"state coverage {machine}: states {figures['states_entered']}/{figures['states']}, "
            f"edges {figures['edges_taken']}/{figures['edges']} (build/state-coverage.md)"
        )
    missing = config.stash.get(_MISSING, [])
    if missing:
        terminalreporter.write_line(
            "state machine coverage is not complete; states or edges no test takes:", red=True
        )
        for line in missing:
            terminalreporter.write_line(f"  {line}", red=True)


class Report:
    def __init__(self, entered: Counter[tuple[str, str]], taken: Counter[tuple[str, str, str]]) -> None:
        self.definitions = _definitions()
        self.entered, self.taken = entered, taken

    def missing(self) -> list[str]:
        lines = []
        for machine, definition in self.definitions.items():
            for state in definition["States"]:
                if not self.entered[(machine, state)] and (machine, state) not in UNREACHABLE_OFFLINE:
                    lines.append(f"{machine}: state {state}")
            for (source, target), kinds in machine_edges(definition).items():
                edge = f"{source} -> {target}"
                if not self.taken[(machine, source, target)] and (machine, edge) not in UNREACHABLE_OFFLINE:
                    lines.append(f"{machine}: edge {edge} ({'; '.join(kinds)})")
        return lines

    def summary(self) -> dict[str, dict[str, int]]:
        result = {}
        for machine, definition in self.definitions.items():
            edges = machine_edges(definition)
            result[machine] = {
                "states": len(definition["States"]),
                "states_entered": sum(1 for s in definition["States"] if self.entered[(machine, s)]),
                "edges": len(edges),
                "edges_taken": sum(1 for (a, b) in edges if self.taken[(machine, a, b)]),
            }
        return result

    def markdown(self) -> str:
        lines = [
            "# State machine coverage",
            "",
            "Written by `tests/state_coverage.py` at the end of a test run.",
            "",
        ]
        for machine, figures in self.summary().items():
            definition = self.definitions[machine]
            lines += [
                f"## {machine}",
                "",
                f"States entered: {figures['states_entered']} of {figures['states']}; "
                f"edges taken: {figures['edges_taken']} of {figures['edges']}.",
                "",
                "| State | Type | Entered |",
                "|---|---|---:|",
            ]
            for state, body in definition["States"].items():
                lines.append(f"| {state} | {body['Type']} | {self.entered[(machine, state)]} |")
            lines += ["", "| Edge | Taken by | Taken |", "|---|---|---:|"]
            for (source, target), kinds in machine_edges(definition).items():
                lines.append(
                    f"| {source} -> {target} | {'; '.join(kinds)} | {self.taken[(machine, source, target)]} |"
                )
            lines.append("")
        if UNREACHABLE_OFFLINE:
            lines += ["## Not reachable offline", "", "| Machine | State or edge | Why |", "|---|---|---|"]
            for (machine, what), why in UNREACHABLE_OFFLINE.items():
                lines.append(f"| {machine} | {what} | {why} |")
            lines.append("")
        return "\n".join(lines)


def coverage_report() -> Report:
    entered: Counter[tuple[str, str]] = Counter()
    taken: Counter[tuple[str, str, str]] = Counter()
    for record in RECORDS_DIR.glob("*.json"):
        data = json.loads(record.read_text(encoding="utf-8"))
        for machine, state, count in data["entered"]:
            entered[(machine, state)] += count
        for machine, source, target, count in data["taken"]:
            taken[(machine, source, target)] += count
    return Report(entered, taken)
