"""Step semantics over gremlinpython (GraphBinary and GraphSON), on TinkerPop's "modern" graph.

Expected results follow the gremlin-test Gherkin features (Neptune differences: string ids,
``set`` cardinality, references).
"""

from __future__ import annotations

import datetime as dt

import pytest
from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.traversal import Cardinality, Column, Direction, Merge, Order, P, Scope, T, TextP
from gremlin_python.statics import long
from gremlin_python.structure.graph import Edge, Vertex


def names(values: list) -> list:
    return sorted(values)


def test_v_e_and_references(modern: GraphTraversalSource) -> None:
    vertices = modern.V().to_list()
    assert sorted(v.id for v in vertices) == ["1", "2", "3", "4", "5", "6"]
    assert all(isinstance(v, Vertex) and v.label in ("person", "software") for v in vertices)
    edge = modern.E("7").next()
    assert isinstance(edge, Edge) and edge.label == "knows"
    assert (edge.outV.id, edge.inV.id) == ("1", "2")
    assert modern.V("1", "3", "nope").id_().to_list() == ["1", "3"]
    assert modern.inject(1, "a", 2.5).to_list() == [1, "a", 2.5]


def test_navigation(modern: GraphTraversalSource) -> None:
    assert names(modern.V("1").out().values("name").to_list()) == ["josh", "lop", "vadas"]
    assert names(modern.V("1").out("knows").values("name").to_list()) == ["josh", "vadas"]
    assert names(modern.V("3").in_("created").values("name").to_list()) == ["josh", "marko", "peter"]
    assert names(modern.V("4").both().values("name").to_list()) == ["lop", "marko", "ripple"]
    assert names(modern.V("1").out_e().id_().to_list()) == ["7", "8", "9"]
    assert names(modern.V("3").in_e("created").id_().to_list()) == ["11", "12", "9"]
    assert names(modern.V("4").both_e().id_().to_list()) == ["10", "11", "8"]
    assert modern.E("7").out_v().id_().to_list() == ["1"]
    assert modern.E("7").in_v().id_().to_list() == ["2"]
    assert modern.E("7").both_v().id_().to_list() == ["1", "2"]
    assert names(modern.V("4").both_e().other_v().id_().to_list()) == ["1", "3", "5"]


def test_has_family(modern: GraphTraversalSource) -> None:
    assert names(modern.V().has("age").values("name").to_list()) == ["josh", "marko", "peter", "vadas"]
    assert modern.V().has("name", "marko").id_().to_list() == ["1"]
    assert names(modern.V().has("age", P.gt(30)).values("name").to_list()) == ["josh", "peter"]
    assert modern.V().has("person", "name", "josh").id_().to_list() == ["4"]
    assert modern.V().has("software", "name", "josh").to_list() == []
    assert names(modern.V().has_label("software").values("name").to_list()) == ["lop", "ripple"]
    assert names(modern.V().has_label("software", "nope").id_().to_list()) == ["3", "5"]
    assert names(modern.V().has_id("1", "2").values("name").to_list()) == ["marko", "vadas"]
    assert names(modern.V().has_id(P.within("4", "6")).values("name").to_list()) == ["josh", "peter"]
    assert names(modern.V().has_not("age").values("name").to_list()) == ["lop", "ripple"]
    assert modern.V("1").properties().has_key("age").value().to_list() == [29]
    assert modern.V("1").properties().has_value("marko").key().to_list() == ["name"]
    assert modern.V().has(T.label, "software").count().next() == 2
    assert modern.V().has(T.id, "2").values("name").to_list() == ["vadas"]


def test_predicates(modern: GraphTraversalSource) -> None:
    ages = lambda p: sorted(modern.V().values("age").is_(p).to_list())  # noqa: E731 - local shorthand
    assert ages(P.eq(29)) == [29]
    assert ages(P.neq(29)) == [27, 32, 35]
    assert ages(P.lt(29)) == [27]
    assert ages(P.lte(29)) == [27, 29]
    assert ages(P.gte(32)) == [32, 35]
    assert ages(P.inside(27, 32)) == [29]
    assert ages(P.outside(28, 33)) == [27, 35]
    assert ages(P.between(27, 32)) == [27, 29]
    assert ages(P.within(27, 35, 99)) == [27, 35]
    assert ages(P.without(27, 35)) == [29, 32]
    assert ages(P.gt(27).and_(P.lt(35))) == [29, 32]
    assert ages(P.lt(28).or_(P.gt(33))) == [27, 35]
    assert ages(P.not_(P.eq(29))) == [27, 32, 35]
    text = lambda p: sorted(modern.V().values("name").is_(p).to_list())  # noqa: E731
    assert text(TextP.containing("ar")) == ["marko"]
    assert text(TextP.starting_with("j")) == ["josh"]
    assert text(TextP.ending_with("e")) == ["ripple"]
    assert text(TextP.not_containing("o")) == ["peter", "ripple", "vadas"]
    assert text(TextP.not_starting_with("r")) == ["josh", "lop", "marko", "peter", "vadas"]
    assert text(TextP.not_ending_with("s")) == ["josh", "lop", "marko", "peter", "ripple"]
    assert text(TextP.regex("^[mj]")) == ["josh", "marko"]
    assert text(TextP.not_regex("o")) == ["peter", "ripple", "vadas"]
    # comparing values of different types is false, not an error
    assert modern.V().values("name").is_(P.gt(3)).to_list() == []


def test_logic_filters(modern: GraphTraversalSource) -> None:
    assert names(modern.V().where(__.out("created")).values("name").to_list()) == ["josh", "marko", "peter"]
    assert names(modern.V().not_(__.out("created")).values("name").to_list()) == ["lop", "ripple", "vadas"]
    assert modern.V().and_(__.out("knows"), __.has("age", P.gt(20))).values("name").to_list() == ["marko"]
    assert names(modern.V().or_(__.has("age", 27), __.has("lang")).values("name").to_list()) == \
        ["lop", "ripple", "vadas"]
    # where with as-labels: people who created software that others also created
    pairs = modern.V().as_("a").out("created").in_("created").where(P.neq("a")).as_("b") \
        .select("a", "b").by("name").to_list()
    assert sorted((p["a"], p["b"]) for p in pairs) == [
        ("josh", "marko"), ("josh", "peter"), ("marko", "josh"), ("marko", "peter"), ("peter", "josh"),
        ("peter", "marko")]
    older = modern.V("1").as_("a").out("knows").where("a", P.gt("a")).to_list()
    assert older == []
    assert names(modern.V("1").as_("a").out("knows").as_("b").where("a", P.lt("b")).by("age")
                 .values("name").to_list()) == ["josh"]


def test_dedup_limit_range_skip_tail_sample(modern: GraphTraversalSource) -> None:
    assert sorted(modern.V().both().dedup().id_().to_list()) == ["1", "2", "3", "4", "5", "6"]
    assert len(modern.V().both().to_list()) == 12
    assert sorted(modern.V().dedup().by(T.label).label().to_list()) == ["person", "software"]
    ordered = modern.V().order().by("name").values("name")
    assert ordered.clone().limit(2).to_list() == ["josh", "lop"]
    assert ordered.clone().range_(1, 3).to_list() == ["lop", "marko"]
    assert ordered.clone().skip(4).to_list() == ["ripple", "vadas"]
    assert ordered.clone().tail(2).to_list() == ["ripple", "vadas"]
    assert ordered.clone().tail().to_list() == ["vadas"]
    assert len(modern.V().sample(3).to_list()) == 3
    assert len(modern.V().sample(30).to_list()) == 6
    folded = modern.V().order().by("name").values("name").fold()
    assert folded.clone().limit(Scope.local, 2).next() == ["josh", "lop"]
    assert folded.clone().range_(Scope.local, 1, 2).next() == ["lop"]  # TinkerPop 3.8: a list stays a list
    assert folded.clone().tail(Scope.local, 2).next() == ["ripple", "vadas"]
    assert folded.clone().skip(Scope.local, 5).next() == ["vadas"]
    assert modern.V().values("age").fold().dedup(Scope.local).count(Scope.local).next() == 4


def test_element_maps(modern: GraphTraversalSource) -> None:
    assert modern.V("1").value_map().next() == {"name": ["marko"], "age": [29]}
    assert modern.V("1").value_map(True).next() == {T.id: "1", T.label: "person", "name": ["marko"], "age": [29]}
    assert modern.V("1").value_map("name").next() == {"name": ["marko"]}
    assert modern.V("1").value_map().with_("~tinkerpop.valueMap.tokens").next()[T.label] == "person"
    assert modern.V("1").value_map("name").by(__.unfold()).next() == {"name": "marko"}
    assert modern.E("7").value_map(True).next() == {T.id: "7", T.label: "knows", "weight": 0.5}
    assert modern.V("3").element_map().next() == {T.id: "3", T.label: "software", "name": "lop", "lang": "java"}
    assert modern.E("9").element_map().next() == {
        T.id: "9", T.label: "created", Direction.IN: {T.id: "3", T.label: "software"},
        Direction.OUT: {T.id: "1", T.label: "person"}, "weight": 0.4}
    props = modern.V("1").properties().to_list()
    assert sorted((p.label, p.value) for p in props) == [("age", 29), ("name", "marko")]
    assert modern.V("1").properties("name").value().to_list() == ["marko"]
    assert modern.E("7").properties().key().to_list() == ["weight"]
    assert modern.V("2").label().next() == "person"
    assert sorted(modern.V("1").values().to_list(), key=str) == [29, "marko"]


def test_project_select_constant_fold(modern: GraphTraversalSource) -> None:
    rows = modern.V().has_label("person").project("name", "knows", "c").by("name") \
        .by(__.out("knows").count()).by(__.constant("x")).to_list()
    assert sorted((r["name"], r["knows"], r["c"]) for r in rows) == [
        ("josh", 0, "x"), ("marko", 2, "x"), ("peter", 0, "x"), ("vadas", 0, "x")]
    row = modern.V("1").as_("a").out("created").as_("b").select("a", "b").by("name").next()
    assert row == {"a": "marko", "b": "lop"}
    assert modern.V("1").as_("a").out().select("a").dedup().id_().to_list() == ["1"]
    assert modern.V("1").identity().id_().next() == "1"
    assert sorted(modern.V().values("age").fold().next()) == [27, 29, 32, 35]
    assert sorted(modern.V().values("age").fold().unfold().to_list()) == [27, 29, 32, 35]
    group = modern.V().group().by(T.label).by("name").next()
    assert sorted(group["person"]) == ["josh", "marko", "peter", "vadas"]
    assert modern.V().group().by(T.label).by(__.count()).next() == {"person": 4, "software": 2}
    assert modern.V().group_count().by(T.label).next() == {"person": 4, "software": 2}
    assert modern.V().out().group_count().by("name").next() == {"vadas": 1, "josh": 1, "lop": 3, "ripple": 1}
    keys = modern.V().group_count().by(T.label).select(Column.keys).next()
    assert sorted(keys) == ["person", "software"]


def test_coalesce_local_union_optional_choose(modern: GraphTraversalSource) -> None:
    assert names(modern.V().coalesce(__.values("lang"), __.values("name")).to_list()) == \
        ["java", "java", "josh", "marko", "peter", "vadas"]
    assert modern.V().has_label("person").local(__.out_e().limit(1)).count().next() == 3
    assert sorted(modern.V("1").union(__.out("knows"), __.out("created")).values("name").to_list()) == \
        ["josh", "lop", "vadas"]
    assert modern.V("2").optional(__.out()).id_().to_list() == ["2"]
    assert modern.V().has_label("person").choose(__.has("age", P.gt(30)), __.constant("old"),
                                                 __.constant("young")).group_count().next() == \
        {"old": 2, "young": 2}


def test_count_order_and_numbers(modern: GraphTraversalSource) -> None:
    assert modern.V().count().next() == 6
    assert modern.E().count().next() == 6
    assert modern.V("nope").count().next() == 0
    assert modern.V().values("age").order().to_list() == [27, 29, 32, 35]
    assert modern.V().values("age").order().by(Order.desc).to_list() == [35, 32, 29, 27]
    assert modern.V().has_label("person").order().by("age", Order.desc).values("name").to_list() == \
        ["peter", "josh", "marko", "vadas"]
    assert modern.V().order().by(T.label).by("name", Order.desc).values("name").to_list() == \
        ["vadas", "peter", "marko", "josh", "ripple", "lop"]
    assert sorted(modern.V().values("age").order().by(Order.shuffle).to_list()) == [27, 29, 32, 35]
    assert modern.V().values("age").sum_().next() == 123
    assert modern.V().values("age").min_().next() == 27
    assert modern.V().values("age").max_().next() == 35
    assert modern.V().values("age").mean().next() == pytest.approx(30.75)
    assert modern.V().values("name").max_().next() == "vadas"
    assert modern.V().values("age").fold().sum_(Scope.local).next() == 123
    assert modern.V().values("nope").sum_().to_list() == []
    assert modern.E().values("weight").sum_().next() == pytest.approx(3.5)
    assert modern.V().values("age").fold().order(Scope.local).by(Order.desc).next() == [35, 32, 29, 27]
    big = modern.inject(long(2**40)).next()
    assert big == 2**40


def test_mutations_and_cardinality(empty_graph: GraphTraversalSource) -> None:
    g = empty_graph
    v = g.add_v("thing").property("tag", "a").next()
    assert isinstance(v.id, str) and len(v.id) == 36  # a generated UUID string
    g.V(v.id).property("tag", "b").property("tag", "a").iterate()  # set cardinality by default
    assert sorted(g.V(v.id).values("tag").to_list()) == ["a", "b"]
    g.V(v.id).property(Cardinality.single, "tag", "c").iterate()
    assert g.V(v.id).values("tag").to_list() == ["c"]
    g.add_v("thing").property(T.id, "t2").property("when", dt.datetime(2024, 1, 2, 3, 4, 5)).iterate()
    assert g.V("t2").values("when").next() == dt.datetime(2024, 1, 2, 3, 4, 5)
    e = g.V(v.id).add_e("link").to(__.V("t2")).property("w", 2).next()
    assert (e.outV.id, e.inV.id, e.label) == (v.id, "t2", "link")
    g.add_e("link").from_(__.V("t2")).to(__.V(v.id)).property(T.id, "back").iterate()
    assert g.E("back").out_v().id_().next() == "t2"
    g.V("t2").as_("x").add_v("thing").property(T.id, "t3").add_e("from").to("x").iterate()
    assert g.V("t3").out("from").id_().next() == "t2"
    g.V(v.id).properties("tag").drop().iterate()
    assert g.V(v.id).values("tag").to_list() == []
    g.E("back").drop().iterate()
    assert g.E("back").to_list() == []
    g.V("t2").drop().iterate()
    assert g.V("t2").to_list() == [] and g.E().has_label("link").count().next() == 0
    assert g.V("t3").out_e().count().next() == 0


def test_merge_v_and_merge_e(empty_graph: GraphTraversalSource) -> None:
    g = empty_graph
    created = g.merge_v({T.id: "m1", T.label: "person", "name": "ann"}).option(
        Merge.on_create, {"age": 30}).option(Merge.on_match, {"seen": True}).next()
    assert created.id == "m1"
    assert g.V("m1").value_map().next() == {"name": ["ann"], "age": [30]}
    g.merge_v({T.id: "m1"}).option(Merge.on_match, {"age": 31}).iterate()
    assert g.V("m1").values("age").to_list() == [31]  # onMatch replaces (single)
    g.merge_v({"name": "bob"}).iterate()
    g.merge_v({"name": "bob"}).iterate()
    assert g.V().has("name", "bob").count().next() == 1
    bob = g.V().has("name", "bob").id_().next()
    g.merge_e({T.label: "knows", Direction.OUT: "m1", Direction.IN: bob}).option(
        Merge.on_create, {"since": 2020}).iterate()
    g.merge_e({T.label: "knows", Direction.OUT: "m1", Direction.IN: bob}).option(
        Merge.on_match, {"since": 2021}).iterate()
    assert g.E().has_label("knows").count().next() == 1
    assert g.E().has_label("knows").values("since").next() == 2021


def test_failed_write_is_rolled_back(empty_graph: GraphTraversalSource) -> None:
    from gremlin_python.driver.protocol import GremlinServerError

    g = empty_graph
    g.add_v("a").property(T.id, "dup").iterate()
    with pytest.raises(GremlinServerError) as error:
        g.add_v("a").property(T.id, "new1").add_v("a").property(T.id, "dup").iterate()
    assert error.value.status_code == 597
    assert "already exists" in str(error.value)
    assert g.V("new1").to_list() == []
    with pytest.raises(GremlinServerError) as error:
        g.add_v("a").property("bad", Cardinality.list_, "x").iterate() if False else \
            g.V("dup").property(Cardinality.list_, "k", "v").iterate()
    assert "not supported by Neptune" in str(error.value)
