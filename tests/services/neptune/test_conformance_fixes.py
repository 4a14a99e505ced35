"""The last conformance families over gremlinpython (GraphBinary and GraphSON), on TinkerPop's "modern" graph:
list steps on a Path, index(), reducers over nulls, select() by traversal / Pop.mixed / on a Path, orderability
and comparability of mixed values, fail(), flatMap() paths, to(Direction), aggregate()'s BulkSet, dedup state
across repeat() turns, barrier() sack merging and normSack, dedup(labels).by().

Expected results are those of TinkerPop 3.8.1's Gherkin features (Combine, Difference, Index, Max/Min/Sum/Mean,
Select, Orderability, Comparability, Fail, FlatMap, Vertex, Set, Repeat, Sack, Dedup).
"""

from __future__ import annotations

import decimal
import math

import pytest
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.strategies import ProductiveByStrategy
from gremlin_python.process.traversal import (
    Barrier,
    Column,
    Direction,
    GType,
    Operator,
    Order,
    P,
    Pop,
    Scope,
    T,
    WithOptions,
)
from gremlin_python.statics import bigint


def test_list_steps_take_a_path(modern: GraphTraversalSource) -> None:
    g = modern
    names = g.V("1").out("knows").has("name", "vadas").path().by("name")
    assert names.clone().combine(["x"]).to_list() == [["marko", "vadas", "x"]]
    assert names.clone().conjoin("-").to_list() == ["marko-vadas"]
    assert names.clone().difference(["vadas"]).to_list() == [{"marko"}]
    assert names.clone().intersect(__.constant(["vadas", "josh"])).to_list() == [{"vadas"}]
    assert names.clone().reverse().to_list() == [["vadas", "marko"]]
    assert g.V("1").out("knows").has("name", "vadas").path().count(Scope.local).to_list() == [2]


def test_index(modern: GraphTraversalSource) -> None:
    g = modern
    assert g.V("1").values("age").index().to_list() == [[[29, 0]]]
    assert g.V().has_label("person").values("name").fold().order(Scope.local).index() \
        .with_(WithOptions.indexer, WithOptions.map).to_list() == \
        [{0: "josh", 1: "marko", 2: "peter", 3: "vadas"}]
    assert g.V().has_label("software").values("name").fold().order(Scope.local).index().unfold().to_list() == \
        [["lop", 0], ["ripple", 1]]


def test_reducers_over_nulls(modern: GraphTraversalSource) -> None:
    g = modern
    productive = g.with_strategies(ProductiveByStrategy())
    assert productive.V().aggregate("a").by("foo").cap("a").unfold().mean().to_list() == [None]
    assert productive.V().aggregate("a").by("foo").cap("a").min_(Scope.local).to_list() == [None]
    assert productive.V().aggregate("a").by("foo").cap("a").unfold().max_().to_list() == [None]
    assert productive.V().aggregate("a").by("foo").cap("a").sum_(Scope.local).to_list() == [None]
    assert g.V().values("foo").max_().to_list() == []
    assert g.inject(1, None, 3).max_().to_list() == [3]


def test_select_by_traversal_mixed_and_on_a_path(modern: GraphTraversalSource) -> None:
    g = modern
    assert sorted(g.V().as_("a").out("knows").as_("a").select(Pop.all_, __.constant("a")).by(__.unfold()
                  .values("name").fold()).to_list()) == [["marko", "josh"], ["marko", "vadas"]]
    assert g.V("1").values("name").as_("a").concat("X").as_("a").select(Pop.mixed, "a").to_list() == \
        [["marko", "markoX"]]
    assert g.V("1").values("name").as_("a").select(Pop.mixed, "a").to_list() == ["marko"]
    assert g.V("1").as_("a", "b").out("knows").has("name", "vadas").as_("c").path().select(Column.keys) \
        .to_list() == [[{"a", "b"}, {"c"}]]
    assert g.V("1").out("knows").has("name", "vadas").path().by("name").select(Column.values).to_list() == \
        [["marko", "vadas"]]


def test_orderability_of_mixed_values(modern: GraphTraversalSource) -> None:
    g = modern
    ordered = g.inject({"k": 1}, [2], {"s"}, "b", 2, None, True, 1.5).order().to_list()
    assert ordered == [None, True, 1.5, 2, "b", {"s"}, [2], {"k": 1}]
    numbers = g.inject(float("nan"), 1.0, -1, float("-inf")).order().to_list()
    assert numbers[:3] == [float("-inf"), -1, 1.0] and math.isnan(numbers[3])
    # T.id and T.label order among the string keys by their names
    entries = g.V("1").element_map().order(Scope.local).by(Column.keys, Order.asc).unfold().to_list()
    keys = [next(iter(entry)) for entry in entries]
    assert [str(getattr(k, "name", k)) for k in keys] == ["age", "id", "label", "name"]


def test_comparability_of_null_and_nan(modern: GraphTraversalSource) -> None:
    g = modern
    assert g.inject(None).is_(P.lte(None)).to_list() == [None]
    assert g.inject(None).is_(P.gt(None)).to_list() == []
    assert g.inject(float("nan")).is_(P.gte(float("nan"))).to_list() == []
    assert g.inject(1.0).is_(P.lte(float("nan"))).to_list() == []


def test_fail_ends_the_query(modern: GraphTraversalSource) -> None:
    with pytest.raises(GremlinServerError, match="msg"):
        modern.V().fail("msg").to_list()
    with pytest.raises(GremlinServerError, match="fail"):
        modern.V().union(__.out(), __.fail()).to_list()
    assert modern.V().has("name", "nobody").fail().to_list() == []


def test_flat_map_leaves_no_trace_in_the_path(modern: GraphTraversalSource) -> None:
    g = modern
    assert sorted(p.objects[-1].id for p in g.V("1").flat_map(__.out().out()).path().to_list()) == ["3", "5"]
    assert {len(p.objects) for p in g.V("1").flat_map(__.out().out()).path().to_list()} == {2}
    assert {len(p.objects) for p in g.V("1").local(__.out().out()).path().to_list()} == {3}


def test_to_direction_is_a_vertex_step(modern: GraphTraversalSource) -> None:
    assert sorted(modern.V("1").to(Direction.OUT, "knows").values("name").to_list()) == ["josh", "vadas"]
    assert sorted(modern.V("2").to(Direction.IN).values("name").to_list()) == ["marko"]


def test_aggregate_collects_a_set(modern: GraphTraversalSource) -> None:
    g = modern
    assert sorted(g.V().values("name").aggregate("x").cap("x").is_(P.type_of(GType.SET)).next()) == \
        ["josh", "lop", "marko", "peter", "ripple", "vadas"]
    assert g.V().values("name").aggregate("x").cap("x").is_(P.type_of(GType.LIST)).to_list() == []


def test_dedup_in_repeat_keeps_state_across_turns(modern: GraphTraversalSource) -> None:
    g = modern
    assert g.V().repeat(__.dedup()).times(2).count().next() == 0
    assert g.V().emit().repeat(__.dedup()).times(2).count().next() == 12
    assert g.V().repeat(__.dedup().both()).times(2).to_list() == []


def test_barrier_merges_sacks(modern: GraphTraversalSource) -> None:
    g = modern
    assert sorted(g.with_bulk(False).with_sack(1, Operator.sum_).V().out().barrier().sack().to_list()) == [1, 1, 1, 3]
    assert sorted(g.with_sack(1, Operator.sum_).V().out().barrier().sack().to_list()) == [1, 1, 1, 3, 3, 3]
    assert g.with_bulk(False).with_sack(1.0, Operator.sum_).V("1").local(
        __.out_e("knows").barrier(Barrier.norm_sack).in_v()).in_("knows").barrier().sack().to_list() == [1.0]
    shares = g.with_sack(bigint(10 ** 40), Operator.assign).V().local(__.out("knows").barrier(Barrier.norm_sack)) \
        .in_("knows").barrier().sack().to_list()
    assert [as_decimal(share) for share in shares] == [decimal.Decimal("0.5"), decimal.Decimal("0.5")]


def as_decimal(value: object) -> decimal.Decimal:
    """A BigDecimal as gremlinpython gives it (its own class from GraphBinary, Decimal from GraphSON)."""
    if isinstance(value, decimal.Decimal):
        return value
    return decimal.Decimal(value.unscaled_value).scaleb(-value.scale)  # type: ignore[attr-defined]


def test_dedup_labels_by(modern: GraphTraversalSource) -> None:
    rows = modern.V("1").as_("a").both().as_("b").both().as_("c").dedup("a", "b").by("age") \
        .select("a", "b", "c").by("name").to_list()
    assert len(rows) == 2 and {row["b"] for row in rows} <= {"vadas", "josh"}


def test_tree(modern: GraphTraversalSource) -> None:
    g = modern
    assert g.V().has("name", "marko").out().tree().is_(P.type_of(GType.TREE)).count().next() == 1
    tree = g.V("1").out("knows").tree().by("name").next()
    assert tree == {"marko": {"vadas": {}, "josh": {}}}
    assert sorted(g.V().out().order().by("name").local(__.tree("a").select("a").count(Scope.local)).to_list()) == \
        [1, 1, 2, 3, 3, 3]  # the roots seen so far: marko, then josh, then peter


def test_without_connective_strategy_infix_connectives_stay_empty(modern: GraphTraversalSource) -> None:
    from gremlin_python.process.strategies import ConnectiveStrategy
    g = modern
    folded = g.V().has("name", "marko").or_().where(__.in_("knows").has("name", "marko")).to_list()
    assert sorted(v.id for v in folded) == ["1", "2", "4"]
    plain = g.without_strategies(ConnectiveStrategy)
    assert plain.V().has("name", "marko").or_().where(__.in_("knows").has("name", "marko")).to_list() == []
    assert plain.V().has("name", "marko").and_().values("name").to_list() == ["marko"]


def test_seed_strategy_draws_javas_sequence(modern: GraphTraversalSource) -> None:
    from gremlin_python.process.strategies import SeedStrategy
    g = modern.with_strategies(SeedStrategy(seed=999999))
    assert g.V().order().by("name").coin(0.5).values("name").to_list() == ["josh"]  # Java's Random(999999)
    assert g.V().group().by(T.label).by(__.bothE().values("weight").order().fold().sample(Scope.local, 5)) \
        .next() == {"software": [0.2, 0.4, 0.4, 1.0], "person": [0.5, 1.0, 0.4, 0.2, 1.0]}
