"""Traverser bulking and the last conformance fixes, over gremlinpython (GraphBinary and GraphSON).

``repeat()`` merges equal traversers into one of summed bulk, so a deep walk over a dense graph is
counted, not enumerated: on a complete graph of 6 vertices ``repeat(out()).times(12)`` stands for
6 × 5^12 (about 1.5 billion) walks, which no server enumerates within the 30 s these queries are given.
Steps that count one traverser as one (``limit``, ``fold``…) get bulk-1 copies, so answers are the same.
Also: ``tree(key)`` seen whole by each traverser, ``subgraph(key)``, map-valued group keys, and
SeedStrategy's ``sample()`` inside ``group().by()`` (expected values from TinkerPop 3.8.1's features).
"""

from __future__ import annotations

import pytest
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.strategies import SeedStrategy
from gremlin_python.process.traversal import Column, GType, P, Scope, T
from gremlin_python.structure.io.util import HashableDict

#: a complete directed graph on this many vertices: every vertex has an edge to every other one
CLIQUE = 6
WALKS_12 = CLIQUE * (CLIQUE - 1) ** 12


@pytest.fixture
def clique(empty_graph: GraphTraversalSource) -> GraphTraversalSource:
    g = empty_graph
    t = g
    for index in range(CLIQUE):
        t = t.add_v("node").property(T.id, f"n{index}").property("name", f"n{index}")
    t.iterate()
    t = g
    for a in range(CLIQUE):
        for b in range(CLIQUE):
            if a != b:
                t = t.V(f"n{a}").add_e("link").to(__.V(f"n{b}"))
    t.iterate()
    return g.with_("evaluationTimeout", 30000)


def test_a_deep_repeat_is_counted_by_bulk(clique: GraphTraversalSource) -> None:
    g = clique
    assert g.V().repeat(__.out()).times(12).count().next() == WALKS_12
    # until(loops()) is not a plain times(n): merged one start at a time, same count
    assert g.V().repeat(__.out()).until(__.loops().is_(12)).count().next() == WALKS_12
    # labels and select() keep the bulk; groupCount and group().by(count()) add it up
    assert g.V().repeat(__.out()).times(12).as_("a").out().as_("b").select("a", "b").count().next() \
        == WALKS_12 * (CLIQUE - 1)
    counts = g.V().repeat(__.out()).times(12).group_count().by("name").next()
    assert counts == {f"n{i}": WALKS_12 // CLIQUE for i in range(CLIQUE)}
    assert g.V().repeat(__.out()).times(12).group().by("name").by(__.count()).next() == counts
    assert g.V().repeat(__.out()).times(12).group("m").by("name").by(__.count()).cap("m").next() == counts
    # dedup keeps one of each; limit/emit take single traversers out of a bulk
    assert sorted(g.V().repeat(__.out()).times(12).dedup().values("name").to_list()) == \
        [f"n{i}" for i in range(CLIQUE)]
    assert len(g.V().repeat(__.out()).times(12).limit(7).to_list()) == 7
    assert g.V("n0").repeat(__.out()).emit().times(12).count().next() == \
        sum((CLIQUE - 1) ** turn for turn in range(1, 13))


def test_bulked_results_are_returned_one_by_one(modern: GraphTraversalSource) -> None:
    g = modern
    # both() from every vertex, twice: equal traversers merge, yet each walk is still one result
    names = g.V().repeat(__.both()).times(2).values("name").to_list()
    assert len(names) == g.V().both().both().count().next() == 30
    assert sorted(names) == sorted(g.V().both().both().values("name").to_list())
    # a step reading paths keeps every traverser apart
    assert len(g.V().repeat(__.both()).times(2).path().to_list()) == 30


def test_tree_key_is_whole_for_every_traverser(modern: GraphTraversalSource) -> None:
    assert modern.V().out().tree("a").select("a").count(Scope.local).to_list() == [3] * 6


def test_subgraph_is_a_side_effect_graph(modern: GraphTraversalSource) -> None:
    g = modern
    assert g.V().out_e("knows").subgraph("sg").cap("sg").is_(P.type_of(GType.GRAPH)).count().next() == 1
    assert g.V().out_e("knows").subgraph("sg").cap("sg").is_(P.not_(P.type_of(GType.GRAPH))).count().next() == 0
    assert g.V().out_e("knows").subgraph("sg").in_v().values("name").order().to_list() == ["josh", "vadas"]
    with pytest.raises(GremlinServerError, match="subgraph\\(\\) graph can not be returned"):
        g.V().out_e("knows").subgraph("sg").cap("sg").next()
    with pytest.raises(GremlinServerError, match="subgraph\\(\\) can only add edges"):
        g.V().subgraph("sg").iterate()


def test_a_map_group_key_stays_a_map(modern: GraphTraversalSource) -> None:
    g = modern
    software = g.V().has_label("software")
    grouped = software.group().by(__.project("a").by("name")).by(__.count()).next()
    assert grouped == {HashableDict.of({"a": "lop"}): 1, HashableDict.of({"a": "ripple"}): 1}
    names = g.V().has_label("software").group("x").by(__.project("a").by("name")).by(__.count()).cap("x") \
        .unfold().select(Column.keys).select("a").order().to_list()
    assert names == ["lop", "ripple"]


def test_seeded_sample_in_group_draws_as_tinkerpop(modern: GraphTraversalSource) -> None:
    g = modern.with_strategies(SeedStrategy(seed=999999))
    result = g.V().group().by(T.label).by(__.both_e().values("weight").order().sample(2).fold()).next()
    assert result == {"software": [1.0, 0.4], "person": [0.5, 1.0]}
