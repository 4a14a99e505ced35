"""The scan-and-object-maps plan (paged exports): exactly the step pipeline's results, and really used."""

from __future__ import annotations

from typing import Any

import pytest
from gremlin_python.process.traversal import T

from emulator.services.neptune.errors import IllegalArgument
from emulator.services.neptune.gremlin import traversal
from emulator.services.neptune.gremlin.bytecode import Bytecode, Sym
from emulator.services.neptune.gremlin.traversal import compile_root, execute, scan_plan
from emulator.services.neptune.store import GraphStore

T_ID, T_LABEL = Sym("T", "id"), Sym("T", "label")


def anon(*steps: tuple[str, list[Any]]) -> Bytecode:
    return Bytecode(steps=list(steps), sources=[])


def root(*steps: tuple[str, list[Any]]) -> Bytecode:
    return Bytecode(steps=list(steps), sources=[])


def edge_export(low: int, high: int) -> Bytecode:
    """The bench's edge page: ``E().range(a, b).project('s', 't', 'l').by(outV().id()).by(inV().id()).by(label())``."""
    return root(("E", []), ("range", [low, high]), ("project", ["s", "t", "l"]),
                ("by", [anon(("outV", []), ("id", []))]), ("by", [anon(("inV", []), ("id", []))]),
                ("by", [anon(("label", []))]))


def vertex_export(low: int, high: int) -> Bytecode:
    """The bench's vertex page: ``V().range(a, b).valueMap(true)``."""
    return root(("V", []), ("range", [low, high]), ("valueMap", [True]))


#: traversals the plan serves: the bench's pages (some crossing or past the end), and every object map
PLANNED = [
    vertex_export(0, 2), vertex_export(1, 10), vertex_export(3, 3), vertex_export(7, 9),
    edge_export(0, 2), edge_export(2, 50), edge_export(9, 12),
    root(("V", []), ("range", [1, -1]), ("valueMap", [True])),
    root(("V", []), ("valueMap", [])),
    root(("V", []), ("valueMap", ["tags", "missing"])),
    root(("E", []), ("valueMap", [True])),
    root(("V", []), ("elementMap", [])),
    root(("E", []), ("limit", [2]), ("elementMap", ["weight"])),
    root(("V", []), ("id", [])),
    root(("E", []), ("label", [])),
    root(("E", []), ("outV", [])),
    root(("E", []), ("skip", [1]), ("inV", []), ("valueMap", [True])),
    root(("V", []), ("range", [0, 2])),
    root(("E", []), ("project", ["a", "b"]), ("by", [T_ID])),  # one by() for two keys: round-robin
    root(("E", []), ("project", ["edge"])),  # no by(): the element itself
    root(("V", []), ("project", ["name", "age"]), ("by", ["name"]), ("by", ["age"])),  # a missing key: left out
    root(("E", []), ("project", ["from", "to"]), ("by", [anon(("outV", []))]), ("by", [anon(("inV", []), ("label", []))])),
]

#: traversals it must leave to the pipeline: they read the traverser, walk, filter, or name ids
NOT_PLANNED = [
    root(("V", ["v1"]), ("valueMap", [True])),
    root(("V", []), ("as", ["a"]), ("select", ["a"])),
    root(("V", []), ("valueMap", []), ("by", [anon(("unfold", []))])),
    root(("V", []), ("project", ["n"]), ("by", [anon(("out", []), ("count", []))])),
    root(("V", []), ("has", ["name", "ann"]), ("valueMap", [])),
    root(("V", []), ("out", []), ("valueMap", [])),
    root(("E", []), ("bothV", [])),
    root(("inject", [1, 2])),
]


def graph(empty: bool = False) -> GraphStore:
    """Vertices with several labels and with list values (set cardinality), edges between them."""
    store = GraphStore()
    if empty:
        return store
    with store.transaction() as tx:
        ann = tx.add_vertex("v1", "person::employee")
        for key, value in (("name", "ann"), ("tags", "x"), ("tags", "y"), ("tags", "z")):
            tx.set_vertex_property(ann, key, value)
        bob = tx.add_vertex("v2", "person")
        tx.set_vertex_property(bob, "name", "bob")
        tx.set_vertex_property(bob, "age", 30)
        robot = tx.add_vertex("v3", "robot::machine::thing")
        knows = tx.add_edge("e1", "knows", ann, bob)
        tx.set_edge_property(knows, "weight", 0.5)
        tx.add_edge("e2", "built", bob, robot)
        tx.add_edge("e3", "knows", robot, ann)
    return store


def through_pipeline(store: GraphStore, bytecode: Bytecode, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What the step pipeline alone gives (the plan switched off)."""
    with monkeypatch.context() as patch:
        patch.setattr(traversal, "scan_plan", lambda compiled: None)
        return execute(store, bytecode)


def through_plan(store: GraphStore, bytecode: Bytecode, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What the plan gives; it fails if the traversal went down the pipeline instead."""
    def no_pipeline(*args: Any) -> Any:
        raise AssertionError("the traversal ran through the step pipeline")

    with monkeypatch.context() as patch:
        patch.setattr(traversal, "_pipeline_results", no_pipeline)
        return execute(store, bytecode)


def as_comparable(results: list[Any]) -> list[Any]:
    """Wire references compare by id only: compare their labels (and ends) too."""
    return [repr(vars(r)) if hasattr(r, "__dict__") else r for r in results]


@pytest.mark.parametrize("empty", [False, True], ids=["graph", "empty graph"])
@pytest.mark.parametrize("bytecode", PLANNED, ids=repr)
def test_the_plan_gives_exactly_what_the_pipeline_gives(bytecode: Bytecode, empty: bool,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    store = graph(empty)
    assert scan_plan(compile_root(bytecode)) is not None
    expected = through_pipeline(store, bytecode, monkeypatch)
    got = through_plan(store, bytecode, monkeypatch)
    assert as_comparable(got) == as_comparable(expected)
    assert [type(r) for r in got] == [type(r) for r in expected]
    if empty:
        assert got == []


def test_the_bench_pages_read_the_whole_graph_once(monkeypatch: pytest.MonkeyPatch) -> None:
    store = graph()
    vertices = [r for low in (0, 2) for r in through_plan(store, vertex_export(low, low + 2), monkeypatch)]
    assert [(r[T.id], r[T.label]) for r in vertices] == [("v1", "person::employee"), ("v2", "person"),
                                                         ("v3", "robot::machine::thing")]
    edges = [r for low in (0, 2) for r in through_plan(store, edge_export(low, low + 2), monkeypatch)]
    assert edges == [{"s": "v1", "t": "v2", "l": "knows"}, {"s": "v2", "t": "v3", "l": "built"},
                     {"s": "v3", "t": "v1", "l": "knows"}]
    first = through_plan(store, vertex_export(0, 1), monkeypatch)[0]
    assert first["tags"] == ["x", "y", "z"] and first["name"] == ["ann"]


@pytest.mark.parametrize("bytecode", NOT_PLANNED, ids=repr)
def test_traversals_that_read_more_than_the_object_keep_the_pipeline(bytecode: Bytecode) -> None:
    assert scan_plan(compile_root(bytecode)) is None


def test_an_object_map_error_is_the_pipelines(monkeypatch: pytest.MonkeyPatch) -> None:
    bytecode = root(("V", []), ("outV", []))
    store = graph()
    assert scan_plan(compile_root(bytecode)) is not None
    with pytest.raises(IllegalArgument, match="outV\\(\\) needs an edge"):
        through_pipeline(store, bytecode, monkeypatch)
    with pytest.raises(IllegalArgument, match="outV\\(\\) needs an edge"):
        through_plan(store, bytecode, monkeypatch)
