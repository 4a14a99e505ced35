"""Run TinkerPop 3.8.1's Gherkin conformance suite against a real ``mlharbor up`` graph server.

Usage (from any worktree: the server started is the cwd's code, ``PYTHONPATH=$PWD``)::

    PYTHONPATH=$PWD python tests/conformance/run_conformance.py [--feature Has] [--serializer graphbinary]

Each scenario's graph is loaded through gremlinpython (each read-only graph once, reused by both
serializers; ``empty`` scenarios clear the graph first), its traversal runs over gremlinpython with GraphBinary
and with GraphSON 3, and the result is compared as gremlin-python's own feature steps compare it. It prints a
table per feature file, the totals, per-serializer totals and the scenarios whose outcome differs between
serializers, and writes a JSON report. Skips come only from the table in ``conformance_skips``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import logging
import re
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil
from conformance_compare import Lookups, check_table, convert, normalise_result
from conformance_graphs import GRAPH_FILES, graph_lookups, load_graph, read_graph
from conformance_skips import skip_reason
from conformance_suite import SUITE_DIR, Scenario, load_suite
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.driver.serializer import GraphBinarySerializersV1, GraphSONSerializersV3d0
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import GraphTraversalSource

from emulator.testing.subprocess_harbor import RunningHarbor, start_harbor

warnings.filterwarnings("ignore", category=DeprecationWarning)
logging.getLogger("gremlinpython").setLevel(logging.CRITICAL)  # it logs every error reply; the report has them

SERIALIZERS: dict[str, Callable[[], Any]] = {"graphbinary": GraphBinarySerializersV1,
                                             "graphson": GraphSONSerializersV3d0}
#: graphs in the order they are loaded; ``empty`` last, since its scenarios clear the graph
GRAPH_ORDER = ["modern", "classic", "crew", "sink", "grateful", "empty"]
MUTATING = re.compile(r"\b(addV|addE|property|drop|mergeV|mergeE)\(")
DEFAULT_TIMEOUT_S = 20.0


@dataclass
class Outcome:
    """One scenario run with one serializer."""

    feature: str
    scenario: str
    serializer: str
    status: str  # passed | failed | skipped
    detail: str = ""
    seconds: float = 0.0


class ScenarioFailed(Exception):
    """A scenario's assertion did not hold."""


class ScenarioTimedOut(Exception):
    """A request did not answer within the scenario timeout."""


class Server:
    """The ``mlharbor up`` under test and one gremlinpython connection per serializer."""

    def __init__(self, serializers: list[str], work_dir: Path) -> None:
        self.serializers = serializers
        self.work_dir = work_dir
        self.harbor: RunningHarbor | None = None
        self.connections: dict[str, DriverRemoteConnection] = {}
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        self.harbor = start_harbor(self.work_dir / f"harbor-{self.starts}")
        url = self.harbor.graph.replace("http://", "ws://").rstrip("/") + "/gremlin"
        self.connections = {name: DriverRemoteConnection(url, "g", message_serializer=SERIALIZERS[name]())
                            for name in self.serializers}

    def stop(self, hard: bool = False) -> None:
        """End the server; ``hard`` (after a hung request): SIGKILL its whole process tree first, so the
        connections' blocked reads end and a busy graph process cannot linger."""
        if hard and self.harbor is not None:
            self._kill_tree(self.harbor.process.pid)
        for connection in self.connections.values():
            with contextlib.suppress(Exception):  # a connection of a killed server may fail to close
                connection.close()
        self.connections = {}
        if self.harbor is not None:
            try:
                self.harbor.kill(timeout=20)
            except Exception:  # noqa: BLE001 - it must go; kill harder
                self._kill_tree(self.harbor.process.pid)
            self.harbor = None

    @staticmethod
    def _kill_tree(pid: int) -> None:
        with contextlib.suppress(psutil.NoSuchProcess):
            parent = psutil.Process(pid)
            for process in [*parent.children(recursive=True), parent]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.kill()
            psutil.wait_procs([parent], timeout=10)

    def restart(self) -> None:
        self.stop(hard=True)
        self.start()

    def g(self, serializer: str | None = None) -> GraphTraversalSource:
        return traversal().with_(self.connections[serializer or self.serializers[0]])


class Runner:
    """Runs scenarios graph by graph; a hung request restarts the server and reloads the graph."""

    def __init__(self, server: Server, timeout_s: float, verbose: bool) -> None:
        self.server = server
        self.timeout_s = timeout_s
        self.verbose = verbose
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self.loaded: str | None = None
        self.lookups = Lookups()
        self.fingerprint: tuple[Any, ...] | None = None

    def call(self, function: Callable[[], Any]) -> Any:
        """Run one client call with the scenario timeout."""
        future = self.pool.submit(function)
        try:
            return future.result(timeout=self.timeout_s)
        except concurrent.futures.TimeoutError:
            # the worker thread stays blocked on the dead request: give the client a fresh one
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
            raise ScenarioTimedOut(f"no answer within {self.timeout_s:.0f} s") from None

    def _fingerprint(self) -> tuple[Any, ...]:
        """What a stray write would change: element counts, labels and every property value."""
        g = self.server.g()

        def values(traversal: Any) -> list[str]:
            return sorted(repr(value) for value in self.call(traversal.to_list))

        return (self.call(lambda: g.V().count().next()), self.call(lambda: g.E().count().next()),
                values(g.V().label()), values(g.V().values()), values(g.E().values()))

    def ensure_graph(self, name: str) -> None:
        if name == "empty" or self.loaded == name:
            return
        started = time.monotonic()
        vertices = read_graph(SUITE_DIR / "data" / GRAPH_FILES[name])
        g = self.server.g()
        load_graph(g, vertices)
        self.lookups = graph_lookups(g)
        self.loaded = name
        self.fingerprint = self._fingerprint()
        if self.verbose:
            print(f"loaded {name} ({len(vertices)} vertices) in {time.monotonic() - started:.1f} s", flush=True)

    def recover(self) -> None:
        """After a timeout: a fresh server, and the graph loaded again."""
        graph, self.loaded = self.loaded, None
        self.server.restart()
        if graph is not None:
            self.ensure_graph(graph)

    def check_unchanged(self) -> None:
        """A read-only graph that a scenario changed (a bug under test) is loaded again."""
        if self.loaded is not None and self._fingerprint() != self.fingerprint:
            graph, self.loaded = self.loaded, None
            self.ensure_graph(graph)

    def run(self, scenario: Scenario, serializer: str) -> Outcome:
        started = time.monotonic()
        outcome = Outcome(scenario.feature, scenario.name, serializer, "passed")
        graph = scenario.graph or "empty"
        try:
            self.ensure_graph(graph)
            self._steps(scenario, serializer, graph)
        except ScenarioFailed as failure:
            outcome.status, outcome.detail = "failed", str(failure)
        except ScenarioTimedOut as timeout:
            outcome.status, outcome.detail = "failed", f"timeout: {timeout}"
            self.recover()
        except Exception as error:  # noqa: BLE001 - a harness-side error fails the scenario, never the run
            outcome.status, outcome.detail = "failed", f"harness: {type(error).__name__}: {error}"
        if graph != "empty" and any(step.doc and MUTATING.search(step.doc) for step in scenario.steps):
            try:
                self.check_unchanged()
            except ScenarioTimedOut:
                self.recover()
        outcome.seconds = round(time.monotonic() - started, 3)
        return outcome

    def _server_call(self, function: Callable[[], Any], what: str) -> Any:
        """A call outside the traversal under test: a server error there fails the scenario, naming the step."""
        try:
            return self.call(function)
        except ScenarioTimedOut:
            raise
        except Exception as failure:  # noqa: BLE001 - the server's error, reported as the scenario's failure
            raise ScenarioFailed(f"{what}: {type(failure).__name__}: {failure}") from None

    def _steps(self, scenario: Scenario, serializer: str, graph: str) -> None:  # noqa: C901 - one branch per step
        g = self.server.g(serializer)
        lookups = self.lookups
        traversals = list(scenario.traversals)
        params: dict[str, Any] = {}
        side_effects: dict[str, Any] = {}
        built: Any = None
        results: list[Any] | None = None
        error: str | None = None
        if graph == "empty":
            self.call(lambda: g.V().drop().iterate())
            lookups = Lookups()
        for step in scenario.steps:
            text = step.text
            if re.fullmatch(r"the \w+ graph", text) or text == "nothing should happen because":
                continue
            if text == "the graph initializer of":
                initializer = traversals.pop(0)(g=g)
                self._server_call(initializer.to_list, "the graph initializer failed")
                lookups = self.call(lambda: graph_lookups(g))
                continue
            match = re.fullmatch(r'using the parameter (\w+) defined as "(.*)"', text, re.DOTALL)
            if match:
                params[match.group(1)] = convert(match.group(2).replace('\\"', '"'), lookups)
                continue
            match = re.fullmatch(r'using the side effect (\w+) defined as "(.*)"', text, re.DOTALL)
            if match:
                side_effects[match.group(1)] = convert(match.group(2).replace('\\"', '"'), lookups)
                continue
            if text == "the traversal of":
                built = traversals.pop(0)(g=g, **params)
                for key, value in side_effects.items():
                    built.bytecode.add_source("withSideEffect", key, value)
                continue
            if text in ("iterated to list", "iterated next"):
                try:
                    raw = self.call(built.to_list if text == "iterated to list" else built.next)
                    results = [normalise_result(item) for item in raw]
                except ScenarioTimedOut:
                    raise
                except Exception as failure:  # noqa: BLE001 - the server's error is the scenario's result
                    error = f"{type(failure).__name__}: {failure}"
                continue
            if text == "the traversal will raise an error":
                if error is None:
                    raise ScenarioFailed(f"expected an error, got {results!r}")
                continue
            match = re.fullmatch(r'the traversal will raise an error with message (\w+) text of "(.*)"', text)
            if match:
                if error is None:
                    raise ScenarioFailed(f"expected an error, got {results!r}")
                _check_message(match.group(1), match.group(2), error)
                continue
            if error is not None:
                raise ScenarioFailed(f"error: {error[:400]}")
            match = re.fullmatch(r"the result should be (\w+)", text)
            if match:
                kind = match.group(1)
                assert results is not None
                if kind == "empty":
                    if results:
                        raise ScenarioFailed(f"expected no results, got {results!r}"[:600])
                    continue
                if graph == "empty":  # names the traversal itself created resolve too, as upstream's lookups do
                    lookups = self.call(lambda: graph_lookups(g))
                problem = check_table(kind, step.table or [], results, lookups)
                if problem:
                    raise ScenarioFailed(problem[:600])
                continue
            match = re.fullmatch(r"the result should have a count of (\d+)", text)
            if match:
                if results is None or len(results) != int(match.group(1)):
                    raise ScenarioFailed(f"expected {match.group(1)} results, got {results!r}"[:600])
                continue
            match = re.fullmatch(r'the graph should return (\d+) for count of "(.*)"', text, re.DOTALL)
            if match:
                check = traversals.pop(0)(g=g, **params)
                count = self._server_call(lambda check=check: check.count().next(), "the count check failed")
                if count != int(match.group(1)):
                    raise ScenarioFailed(f"expected {match.group(1)} for {match.group(2)}, got {count}")
                continue
            raise ScenarioFailed(f"harness: unknown step {text!r}")


def _check_message(comparison: str, expected: str, message: str) -> None:
    checks = {"containing": expected in message, "starting": message.startswith(expected),
              "ending": message.endswith(expected)}
    if comparison not in checks:
        raise ScenarioFailed(f"harness: unknown message comparison {comparison!r}")
    if not checks[comparison]:
        raise ScenarioFailed(f"error message should be {comparison} {expected!r}: {message[:400]}")


# -- reporting ----------------------------------------------------------------------------------

def _count(outcomes: list[Outcome]) -> Counter[str]:
    return Counter(outcome.status for outcome in outcomes)


def _percent(counts: Counter[str]) -> float:
    run = counts["passed"] + counts["failed"]
    return round(100.0 * counts["passed"] / run, 1) if run else 0.0


_IDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def failure_cause(detail: str) -> str:
    """A failure's cause, general enough to count: the server's message without ids, or the kind of mismatch."""
    match = re.search(r'"detailedMessage": "(.*?)"}', detail)
    if match:
        message = match.group(1)
        step = re.match(r"(Unsupported step: \w+\(\))", message)
        return step.group(1) if step else _IDS.sub("<id>", message)[:120]
    if detail.startswith("error: "):
        return _IDS.sub("<id>", detail[len("error: "):])[:120]
    if detail.startswith(("expected an error", "error message should be")):
        return "no error, or another error message, where the scenario expects one"
    if detail.startswith("timeout"):
        return "timeout"
    if detail.startswith("harness"):
        return detail[:120]
    return "wrong result (count, value or order)"


def summarise(outcomes: list[Outcome], serializers: list[str]) -> dict[str, Any]:
    """The report: per feature file, per family (folder), totals, per serializer, and serializer differences.

    Counts are of scenario runs (a scenario counts once per serializer).
    """
    by_feature: dict[str, list[Outcome]] = defaultdict(list)
    by_family: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_feature[outcome.feature].append(outcome)
        by_family[outcome.feature.split("/")[0]].append(outcome)

    def row(items: list[Outcome]) -> dict[str, Any]:
        counts = _count(items)
        return {"passed": counts["passed"], "failed": counts["failed"], "skipped": counts["skipped"],
                "total": len(items), "percent": _percent(counts)}

    per_scenario: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    timed_out: set[tuple[str, str]] = set()
    for outcome in outcomes:
        per_scenario[(outcome.feature, outcome.scenario)][outcome.serializer] = outcome.status
        if outcome.detail.startswith("timeout"):
            timed_out.add((outcome.feature, outcome.scenario))
    # a scenario one serializer cannot send (a listed skip) is not a difference between the serializers, nor is
    # one that ran out of time on one of them (how fast the machine was, not what the serializer gave)
    differences = [f"{feature}::{name} {statuses}" for (feature, name), statuses in per_scenario.items()
                   if "skipped" not in statuses.values() and len(set(statuses.values())) > 1
                   and (feature, name) not in timed_out]
    skipped = Counter(outcome.detail for outcome in outcomes if outcome.status == "skipped")
    causes: dict[str, set[str]] = defaultdict(set)
    for outcome in outcomes:
        if outcome.status == "failed":
            causes[failure_cause(outcome.detail)].add(f"{outcome.feature}::{outcome.scenario}")
    ranked = sorted(causes.items(), key=lambda item: (-len(item[1]), item[0]))
    return {
        "features": {name: row(items) for name, items in sorted(by_feature.items())},
        "families": {name: row(items) for name, items in sorted(by_family.items())},
        "total": row(outcomes),
        "serializers": {name: row([o for o in outcomes if o.serializer == name]) for name in serializers},
        "serializer_differences": sorted(differences),
        "skipped_by_reason": dict(skipped.most_common()),
        "failure_causes": {cause: len(keys) for cause, keys in ranked},
        "outcomes": [asdict(outcome) for outcome in outcomes],
    }


def print_report(report: dict[str, Any]) -> None:
    header = f"{'feature':<52} {'passed':>7} {'failed':>7} {'skipped':>8} {'total':>6} {'pass%':>6}"
    print(header)
    print("-" * len(header))

    def line(name: str, row: dict[str, Any]) -> None:
        print(f"{name:<52} {row['passed']:>7} {row['failed']:>7} {row['skipped']:>8} {row['total']:>6} "
              f"{row['percent']:>6}")

    for name, row in report["features"].items():
        line(name, row)
    print("-" * len(header))
    for name, row in report["families"].items():
        line(f"[{name}]", row)
    print("-" * len(header))
    for name, row in report["serializers"].items():
        line(f"serializer {name}", row)
    line("TOTAL (pass% over non-skipped)", report["total"])
    if report["serializer_differences"]:
        print(f"\nscenarios whose outcome differs between serializers ({len(report['serializer_differences'])}):")
        for item in report["serializer_differences"]:
            print(f"  {item}")
    print("\ntop failure causes (scenarios, either serializer):")
    for cause, count in list(report["failure_causes"].items())[:25]:
        print(f"  {count:>5}  {cause}")
    print("\nskipped by reason (scenario runs):")
    for reason, count in report["skipped_by_reason"].items():
        print(f"  {count:>5}  {reason}")


def compare(report: dict[str, Any], before: dict[str, Any]) -> dict[str, list[str]]:
    """Scenario runs whose status changed since an earlier report: ``{"now passing": [...], ...}``."""
    def statuses(data: dict[str, Any]) -> dict[str, str]:
        return {f"{o['feature']}::{o['scenario']} [{o['serializer']}]": o["status"] for o in data["outcomes"]}

    old, new = statuses(before), statuses(report)
    changes: dict[str, list[str]] = defaultdict(list)
    for key in sorted(new.keys() & old.keys()):
        if old[key] != new[key]:
            changes[f"now {new[key]} (was {old[key]})"].append(key)
    return dict(changes)


def run_suite(feature: str | None, serializers: list[str], timeout_s: float, verbose: bool,
              scenario_filter: str | None = None) -> list[Outcome]:
    scenarios = [s for s in load_suite(feature_filter=feature) if not scenario_filter or scenario_filter in s.name]
    order = {name: index for index, name in enumerate(GRAPH_ORDER)}
    scenarios.sort(key=lambda s: order.get(s.graph or "empty", len(order)))  # stable: file order inside a graph
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="conformance-") as work:
        server = Server(serializers, Path(work))
        server.start()
        runner = Runner(server, timeout_s, verbose)
        try:
            for scenario in scenarios:
                for serializer in serializers:
                    reason = skip_reason(scenario, serializer)
                    if reason is not None:
                        outcomes.append(Outcome(scenario.feature, scenario.name, serializer, "skipped", reason))
                        continue
                    outcome = runner.run(scenario, serializer)
                    outcomes.append(outcome)
                    if verbose and outcome.status == "failed":
                        print(f"FAIL [{serializer}] {scenario.key}: {outcome.detail[:300]}", flush=True)
        finally:
            runner.pool.shutdown(wait=False, cancel_futures=True)
            server.stop()
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feature", help="only feature files whose path contains this (case-insensitive)")
    parser.add_argument("--scenario", help="only scenarios whose name contains this (case-sensitive)")
    parser.add_argument("--serializer", choices=sorted(SERIALIZERS), help="only this serializer (default: both)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per request")
    parser.add_argument("--json", type=Path, default=Path(".mlharbor/conformance-report.json"),
                        help="where the machine-readable report goes")
    parser.add_argument("--verbose", "-v", action="store_true", help="print each failure as it happens")
    parser.add_argument("--compare", type=Path, help="an earlier JSON report: list the scenario runs that changed")
    args = parser.parse_args(argv)
    serializers = [args.serializer] if args.serializer else sorted(SERIALIZERS)
    started = time.monotonic()
    outcomes = run_suite(args.feature, serializers, args.timeout, args.verbose, args.scenario)
    report = summarise(outcomes, serializers)
    report["seconds"] = round(time.monotonic() - started, 1)
    print_report(report)
    if args.compare:
        changes = compare(report, json.loads(args.compare.read_text(encoding="utf-8")))
        report["changes"] = changes
        print(f"\nchanges since {args.compare}:" + ("" if changes else " none"))
        for change, keys in changes.items():
            print(f"  {change}: {len(keys)}")
            for key in keys:
                print(f"    {key}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    print(f"\n{report['seconds']} s; report: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
