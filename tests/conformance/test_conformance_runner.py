"""The conformance runner's own pieces, without a server: the suite's notation, comparisons, skips, parsing."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
from conformance_compare import Lookups, check_table, convert, normalise_result
from conformance_skips import SKIPPED_TAGS, skip_reason
from conformance_suite import SUITE_DIR, Scenario, Step, load_suite
from gremlin_python.process.traversal import Direction, T
from gremlin_python.statics import long
from gremlin_python.structure.graph import Edge, Path, Vertex

MARKO, VADAS = Vertex("1", "person"), Vertex("2", "person")
LOOKUPS = Lookups({"marko": MARKO, "vadas": VADAS}, {"marko-knows->vadas": Edge("7", MARKO, "knows", VADAS)})


def test_notation_converts_as_gremlin_python_does() -> None:
    assert convert("d[1].i", LOOKUPS) == 1 and isinstance(convert("d[1].l", LOOKUPS), long)
    assert convert("d[1.5].f", LOOKUPS) == 1.5 and math.isnan(convert("d[NaN]", LOOKUPS))
    assert convert("v[marko]", LOOKUPS) == MARKO and convert("v[marko].id", LOOKUPS) == "1"
    assert convert("e[marko-knows->vadas].id", LOOKUPS) == "7"
    assert convert("l[d[1].i,v[vadas]]", LOOKUPS) == [1, VADAS]
    assert convert("s[a,b]", LOOKUPS) == {"a", "b"}
    assert convert('m[{"name":"v[marko]","t[id]":"d[2].l"}]', LOOKUPS) == {"name": MARKO, T.id: 2}
    assert convert("p[v[marko],v[vadas]]", LOOKUPS) == Path([set()], [MARKO, VADAS])
    assert convert("D[OUT]", LOOKUPS) is Direction.OUT
    assert [convert(x, LOOKUPS) for x in ("null", "true", "str[null]", "plain")] == [None, True, "null", "plain"]
    with pytest.raises(KeyError):
        convert("e[nobody-knows->nobody]", LOOKUPS)


def test_tables_compare_ordered_unordered_and_of() -> None:
    rows = ["d[1].i", "d[2].i", "d[2].i"]
    assert check_table("unordered", rows, [2, 1, 2], LOOKUPS) is None
    assert check_table("unordered", rows, [2, 1, 1], LOOKUPS) is not None  # a multiset, not a set
    assert check_table("ordered", rows, [1, 2, 2], LOOKUPS) is None
    assert check_table("ordered", rows, [2, 1, 2], LOOKUPS) is not None
    assert check_table("of", rows, [2, 2, 2, 1], LOOKUPS) is None
    assert check_table("of", rows, [3], LOOKUPS) is not None
    assert check_table("unordered", ["d[NaN]"], [normalise_result(float("nan"))], LOOKUPS) is None
    labelled = Path([{"a"}, {"b"}], [MARKO, VADAS])
    assert check_table("ordered", ["p[v[marko],v[vadas]]"], [normalise_result(labelled)], LOOKUPS) is None


def test_skips_come_only_from_the_table() -> None:
    def scenario(tags: set[str], traversal: str = "g.V()") -> Scenario:
        return Scenario("x.feature", "s", frozenset(tags), [Step("the modern graph"), Step("the traversal of",
                                                                                             traversal)],
                        traversals=[lambda g: g.V()])

    assert skip_reason(scenario(set())) is None
    assert skip_reason(scenario({"MetaProperties"})).startswith("@MetaProperties")
    assert skip_reason(scenario({"UserSuppliedVertexIds", "StepHas"})) is None  # Neptune allows user ids
    assert "io()" in skip_reason(scenario(set(), 'g.io("x").read()'))
    assert skip_reason(scenario(set(), "g.withoutStrategies(CountStrategy).V()"), "graphbinary") is None
    assert skip_reason(scenario(set(), "g.withoutStrategies(CountStrategy).V()"), "graphson") is not None
    assert all(reason.strip() for reason in SKIPPED_TAGS.values())


@pytest.mark.skipif(not SUITE_DIR.is_dir(), reason="the TinkerPop suite is not beside the checkout")
def test_the_whole_suite_parses_with_its_translations() -> None:
    scenarios = load_suite()
    assert len(scenarios) == 2061  # the suite's README: 2,061 scenarios in 159 files
    assert len({s.feature for s in scenarios}) == 159
    untranslated = [s.key for s in scenarios if not s.traversals and skip_reason(s) is None]
    assert untranslated == []
    assert all(s.graph in {"modern", "classic", "crew", "sink", "grateful", "empty", None} for s in scenarios)


class _StubSource:
    """Stands in for a traversal source: every step returns itself; ``to_list`` may hang."""

    def __init__(self, hang_s: float = 0.0) -> None:
        self.hang_s = hang_s

    def __getattr__(self, name: str) -> Any:
        return lambda *args: self

    def iterate(self) -> None:
        return None

    def to_list(self) -> list[Any]:
        time.sleep(self.hang_s)
        return [1]


class _StubServer:
    def __init__(self) -> None:
        self.restarts = 0

    def g(self, serializer: str | None = None) -> Any:
        return _StubSource()

    def restart(self) -> None:
        self.restarts += 1


def test_a_hung_request_fails_its_scenario_and_restarts_the_server() -> None:
    from run_conformance import Runner

    server = _StubServer()
    runner = Runner(server, timeout_s=0.2, verbose=False)  # type: ignore[arg-type]
    steps = [Step("the empty graph"), Step("the traversal of", "g.inject(1)"), Step("iterated to list"),
             Step("the result should have a count of 1")]
    hung = Scenario("x.feature", "hung", frozenset(), steps, traversals=[lambda g: _StubSource(hang_s=3)])
    quick = Scenario("x.feature", "quick", frozenset(), steps, traversals=[lambda g: _StubSource()])
    outcome = runner.run(hung, "graphbinary")
    assert outcome.status == "failed" and outcome.detail.startswith("timeout") and outcome.seconds < 2
    assert server.restarts == 1
    assert runner.run(quick, "graphbinary").status == "passed"


def test_compare_lists_what_changed() -> None:
    from run_conformance import compare

    def report(*statuses: str) -> dict[str, Any]:
        return {"outcomes": [{"feature": "f", "scenario": f"s{i}", "serializer": "graphbinary", "status": status}
                             for i, status in enumerate(statuses)]}

    changes = compare(report("passed", "passed", "skipped"), report("failed", "passed", "failed"))
    assert changes == {"now passed (was failed)": ["f::s0 [graphbinary]"],
                       "now skipped (was failed)": ["f::s2 [graphbinary]"]}


def test_serializer_differences_leave_out_timeouts_and_skips() -> None:
    """A scenario passing on one serializer and failing on the other is a difference; one that ran out of time
    on one of them measures the machine, and one that one serializer cannot send is a listed skip."""
    from run_conformance import Outcome, summarise

    def pair(name: str, other_status: str, other_detail: str) -> list[Outcome]:
        return [Outcome("map/X.feature", name, "graphbinary", "passed"),
                Outcome("map/X.feature", name, "graphson", other_status, other_detail)]

    report = summarise(pair("a", "failed", "wrong result") + pair("b", "failed", "timeout: no answer within 20 s")
                       + pair("c", "skipped", "listed") + pair("d", "passed", ""), ["graphbinary", "graphson"])
    assert [item.split(" ")[0] for item in report["serializer_differences"]] == ["map/X.feature::a"]
