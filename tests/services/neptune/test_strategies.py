"""Traversal strategies over gremlinpython, both serializers (integrated/*Strategy.feature)."""

from __future__ import annotations

import pytest
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.strategies import (
    EdgeLabelVerificationStrategy,
    LazyBarrierStrategy,
    OptionsStrategy,
    PartitionStrategy,
    ProductiveByStrategy,
    ReadOnlyStrategy,
    ReservedKeysVerificationStrategy,
    SeedStrategy,
    SubgraphStrategy,
    VertexProgramStrategy,
)
from gremlin_python.process.traversal import Order, P, T, TraversalStrategy


def raises(traversal, text: str) -> None:  # noqa: ANN001 - a gremlinpython traversal
    with pytest.raises(GremlinServerError) as caught:
        traversal.to_list()
    assert text in str(caught.value)


def test_read_only(modern: GraphTraversalSource) -> None:
    g = modern.with_strategies(ReadOnlyStrategy())
    assert sorted(g.V().out("knows").values("name").to_list()) == ["josh", "vadas"]
    raises(g.add_v("person"), "The provided traversal has a mutating step and thus is not read only")
    raises(g.V().property("name", "josh"), "not read only")
    raises(g.V().local(__.drop()), "not read only")  # a mutation nested in a child traversal
    raises(g.merge_v({"name": "x"}), "not read only")
    assert modern.V().count().next() == 6  # nothing was written
    assert modern.with_strategies(ReadOnlyStrategy()).without_strategies(ReadOnlyStrategy).add_v("x").count().next() == 1


def test_subgraph(modern: GraphTraversalSource) -> None:
    sub = modern.with_strategies(SubgraphStrategy(vertices=__.has("name", P.within("josh", "lop", "ripple"))))
    assert sorted(sub.V().values("name").to_list()) == ["josh", "lop", "ripple"]
    assert sorted(sub.V().out().values("name").to_list()) == ["lop", "ripple"]
    assert sorted(sub.E().id_().to_list()) == ["10", "11"]  # both ends inside the subgraph
    assert sub.V().both().count().next() == 4
    heavy = modern.with_strategies(SubgraphStrategy(edges=__.has("weight", 1.0)))
    assert sorted(heavy.V().out().values("name").to_list()) == ["josh", "ripple"]
    assert heavy.V("1").out_e().id_().to_list() == ["8"]
    props = modern.with_strategies(SubgraphStrategy(vertex_properties=__.has_value(P.neq("marko"))))
    assert props.V("1").values().to_list() == [29]
    assert props.V("1").properties().key().to_list() == ["age"]


def test_partition(empty_graph: GraphTraversalSource) -> None:
    a = empty_graph.with_strategies(PartitionStrategy(partition_key="_p", write_partition="a", read_partitions=["a"]))
    b = empty_graph.with_strategies(PartitionStrategy(partition_key="_p", write_partition="b", read_partitions=["b"]))
    ab = empty_graph.with_strategies(PartitionStrategy(partition_key="_p", write_partition="a",
                                                       read_partitions=["a", "b"]))
    a.add_v("person").property("name", "alice").as_("x").add_e("self").to("x").iterate()
    b.add_v("person").property("name", "bob").iterate()
    b.merge_v({"name": "carol"}).iterate()
    assert empty_graph.V().has("name", "alice").values("_p").to_list() == ["a"]
    assert empty_graph.E().values("_p").to_list() == ["a"]
    assert sorted(empty_graph.V().has("_p", "b").values("name").to_list()) == ["bob", "carol"]
    assert a.V().values("name").to_list() == ["alice"]
    assert sorted(ab.V().values("name").to_list()) == ["alice", "bob", "carol"]
    assert b.V().out().count().next() == 0
    assert a.V().out().values("name").to_list() == ["alice"]
    assert a.V().values().to_list() == ["alice"]  # the partition key is hidden
    assert empty_graph.with_strategies(PartitionStrategy(partition_key="_p", write_partition="a",
                                                         read_partitions=["c"])).V().count().next() == 0


def test_seed_makes_random_steps_repeatable(modern: GraphTraversalSource) -> None:
    seeded = modern.with_strategies(SeedStrategy(seed=999999))
    first = seeded.V().order().by(Order.shuffle).id_().to_list()
    assert all(seeded.V().order().by(Order.shuffle).id_().to_list() == first for _ in range(3))
    coins = seeded.V().coin(0.5).id_().to_list()
    assert all(seeded.V().coin(0.5).id_().to_list() == coins for _ in range(3))
    samples = seeded.V().values("name").sample(2).to_list()
    assert len(samples) == 2 and seeded.V().values("name").sample(2).to_list() == samples
    assert modern.V().coin(1.0).count().next() == 6 and modern.V().coin(0.0).count().next() == 0


def test_other_strategies(modern: GraphTraversalSource) -> None:
    g = modern
    assert g.with_strategies(OptionsStrategy(myVar="myValue")).V().count().next() == 6
    assert g.with_strategies(LazyBarrierStrategy()).V().count().next() == 6  # an optimization: same results
    raises(g.with_strategies(EdgeLabelVerificationStrategy(throw_exception=True)).V().out(),
           "contains a vertex step without any specified edge label")
    assert g.with_strategies(EdgeLabelVerificationStrategy(throw_exception=False)).V().out().count().next() == 6
    raises(g.with_strategies(ReservedKeysVerificationStrategy(throw_exception=True)).add_v("p").property("id", 1),
           "is setting a property key to a reserved word: id")
    raises(g.with_strategies(VertexProgramStrategy()).V(), "does not allow the use of a GraphComputer")
    raises(g.with_strategies(TraversalStrategy("NoSuchStrategy", {}, fqcn="org.example.NoSuchStrategy")).V(),
           "Unsupported traversal strategy: NoSuchStrategy")


@pytest.mark.filterwarnings("ignore:ProductiveByStrategy is deprecated:DeprecationWarning")  # still sent by clients
def test_productive_by(modern: GraphTraversalSource) -> None:
    productive = modern.with_strategies(ProductiveByStrategy())
    assert productive.V().group().by("age").by("name").next()[None] == ["lop", "ripple"]
    assert None not in modern.V().group().by("age").by("name").next()  # without it, unproductive keys drop
    assert productive.V().group_count().by("age").next()[None] == 2
    assert productive.V().has_label("software").project("a", "b").by(__.in_e().count()).by("age").to_list() == [
        {"a": 3, "b": None}, {"a": 1, "b": None}]
    assert productive.V().group().by(T.label).by(__.count()).next() == {"person": 4, "software": 2}
    assert productive.without_strategies(ProductiveByStrategy).V().group_count().by("age").next().get(None) is None
