"""Value fixes over gremlinpython, both serializers: local ranges keep lists, sets stay sets, BigDecimal and
BigInteger round-trip, and the suite's error scenarios raise (filter/Range.feature, data/Set.feature,
map/MergeVertex.feature, map/MergeEdge.feature, filter/Dedup.feature...).
"""

from __future__ import annotations

import decimal

import pytest
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.traversal import Column, Direction, Merge, Operator, Order, P, Scope, T
from gremlin_python.statics import BigDecimal, bigdecimal, bigint, long


def raises(traversal, text: str) -> None:  # noqa: ANN001 - a gremlinpython traversal
    with pytest.raises(GremlinServerError) as caught:
        traversal.to_list()
    assert text in str(caught.value)


def test_local_ranges_keep_the_collection(modern: GraphTraversalSource) -> None:
    g = modern
    assert g.inject([1, 2, 3]).limit(Scope.local, 1).to_list() == [[1]]
    assert g.inject([1, 2, 3], [4, 5, 6]).range_(Scope.local, 1, 2).to_list() == [[2], [5]]
    assert g.inject([1, 2, 3]).tail(Scope.local, 1).to_list() == [[3]]
    assert g.inject([1, 2, 3]).tail(Scope.local, 1).unfold().to_list() == [3]
    assert g.V().fold().range_(Scope.local, 6, 7).to_list() == [[]]
    assert g.V("1").values("age").range_(Scope.local, 20, 30).to_list() == [29]
    assert g.V("1").value_map("name").tail(Scope.local, 1).to_list() == [{"name": ["marko"]}]


def test_sets_stay_sets(modern: GraphTraversalSource) -> None:
    g = modern
    assert g.inject({"a", "b"}).to_list() == [{"a", "b"}]
    assert g.inject({"a", "b"}).unfold().order().to_list() == ["a", "b"]
    assert g.inject({1, 2, 3}).count(Scope.local).to_list() == [3]
    assert g.inject(["x", "y"]).merge({"z"}).to_list() == [{"x", "y", "z"}]
    assert g.inject({"test"}).group_count().next() == {("test",): 1}  # a Set key (gremlinpython makes it a tuple)


def test_big_numbers_round_trip(modern: GraphTraversalSource) -> None:
    g = modern
    value = bigdecimal("123.4500")
    result = g.inject(value).next()
    assert isinstance(result, BigDecimal)
    assert result.value == decimal.Decimal("123.4500")
    total = g.inject(bigdecimal("1.25"), bigdecimal("2.5")).sum_().next()
    assert total.value == decimal.Decimal("3.75")
    huge = bigint(2 ** 80 + 7)
    assert g.inject(huge).next() == 2 ** 80 + 7
    assert g.inject(huge).is_(bigint(2 ** 80 + 7)).count().next() == 1


def test_merge_errors(empty_graph: GraphTraversalSource) -> None:
    g = empty_graph
    raises(g.merge_v({T.label: "a"}).option(Merge.on_create, {T.label: "b"}),
           "option(onCreate) cannot override values from merge() argument")
    raises(g.merge_v({T.id: "1"}).option(Merge.on_create, {T.id: "2"}),
           "option(onCreate) cannot override values from merge() argument")
    raises(g.merge_v({"~id": "1"}), "Property key can not be a hidden key: ~id")
    raises(g.merge_v({}).option(Merge.on_create, {T.label: "~vertex"}), "Label can not be a hidden key: ~vertex")
    raises(g.merge_e({}), "Out Vertex not specified")
    raises(g.merge_e({T.label: "knows", Direction.OUT: "100", Direction.IN: "101"}),
           "Vertex id could not be resolved from mergeE")
    g.add_v("person").property(T.id, "1").add_v("person").property(T.id, "2").iterate()
    raises(g.merge_e({T.label: "knows", Direction.OUT: "1", Direction.IN: "2"}).option(
        Merge.on_create, {Direction.OUT: "2"}), "option(onCreate) cannot override values from merge() argument")
    # onCreate may add to the merge map, and what it repeats unchanged is fine
    created = g.merge_v({T.label: "person", "name": "x"}).option(
        Merge.on_create, {T.label: "person", "age": 3}).element_map("name", "age").next()
    assert (created["name"], created["age"]) == ("x", 3)
    assert g.V().count().next() == 3


def test_one_by_modulator(modern: GraphTraversalSource) -> None:
    g = modern
    raises(g.V().both().dedup().by("lang").by("name"), "Dedup step can only have one by modulator")
    raises(g.V("1").value_map("name").by(__.unfold()).by(), "ValueMap step can only have one by modulator")
    raises(g.V().out("created").group_count().by("name").by("age"), "GroupCount step can only have one by modulator")
    assert g.V().both().has_label("software").dedup().by("lang").count().next() == 1


def test_dedup_local_gives_a_set_and_edge_properties_compare_by_value(modern: GraphTraversalSource) -> None:
    g = modern
    assert g.V().out().in_().values("name").fold().dedup(Scope.local).to_list() == [{"marko", "josh", "peter"}]
    assert g.V().both_e().properties().dedup().count().next() == 4  # weights 0.5, 1.0, 0.4, 0.2
    assert g.V().properties().dedup().count().next() == 12  # vertex properties stay distinct per vertex


def test_null_keys_are_ignored(modern: GraphTraversalSource) -> None:
    assert modern.V("1").value_map("name", "age", None).to_list() == [{"name": ["marko"], "age": [29]}]
    assert modern.V("1").element_map("name", None).select("name").to_list() == ["marko"]


def test_weighted_sample(modern: GraphTraversalSource) -> None:
    g = modern
    assert g.E().sample(2).by("weight").count().next() == 2
    assert g.V().local(__.out_e().sample(1).by("weight")).count().next() == 3
    assert g.V().sample(3).by("age").has_label("software").count().next() == 0  # no age: weight 0, never drawn
    raises(g.V().sample(1).by("age").by(T.id), "Sample step can only have one by modulator")


def test_merge_options_checked(empty_graph: GraphTraversalSource) -> None:
    g = empty_graph
    g.add_v("person").property("name", "marko").iterate()
    # a constant option is checked even when a vertex matches and the option is never used
    raises(g.merge_v({"name": "marko"}).option(Merge.on_match, {"~label": "x"}),
           "Property key can not be a hidden key: ~label")
    raises(g.merge_v({"name": "marko"}).option(Merge.on_create, {"name": "mike"}),
           "option(onCreate) cannot override values from merge() argument")
    # a traversal-valued onCreate is only checked when it is used (TinkerPop's "sketchily allowed")
    assert g.with_side_effect("c", {"name": "mike"}).merge_v({"name": "marko"}).option(
        Merge.on_create, __.select("c")).count().next() == 1
    raises(g.with_side_effect("c", {"name": "mike"}).merge_v({"name": "zed"}).option(Merge.on_create, __.select("c")),
           "option(onCreate) cannot override values from merge() argument")
    assert g.V().count().next() == 1


def test_type_of(modern: GraphTraversalSource) -> None:
    """``P.typeOf`` by Java class name (GType tokens decode once the protocol branch's GType reader is in)."""
    g = modern
    assert g.V().values("name").is_(P.type_of("String")).count().next() == 6
    assert g.V().values("age").is_(P.type_of("java.lang.Integer")).count().next() == 4
    assert g.V().values("age").is_(P.not_(P.type_of("String"))).count().next() == 4
    assert g.V().has("age", P.type_of("Integer")).values("name").order().to_list() == ["josh", "marko", "peter",
                                                                                        "vadas"]
    assert g.inject(long(5), bigint(2 ** 70), 2.5, True, None).is_(P.type_of("Number")).count().next() == 3
    assert g.inject(bigdecimal("1.5")).is_(P.type_of("BigDecimal")).count().next() == 1
    assert g.inject({"a"}, ["a"], {"a": 1}).is_(P.type_of("Set")).to_list() == [{"a"}]
    assert g.V("1").is_(P.type_of("Vertex")).count().next() == 1
    assert g.V("1").properties("age").is_(P.type_of("VertexProperty")).count().next() == 1
    raises(g.V().values("age").is_(P.type_of("non-registered-Name")), "is not a GType or a type name")


def test_property_forms(empty_graph: GraphTraversalSource) -> None:
    g = empty_graph
    assert g.add_v().property(T.label, "person").label().next() == "person"
    assert g.add_v("empty").property(None).values().to_list() == []
    assert g.add_v("empty").property({}).values().to_list() == []
    assert g.add_v().property("name", "marko").with_("key", "value").values("name", "key").to_list() == ["marko"]
    assert g.with_side_effect("k", "name").add_v().property(__.select("k"), "vadas").values("name").next() == "vadas"
    raises(g.V().has_label("person").property(T.label, "x"), "The label of an existing vertex cannot be changed")


def test_reducers_skip_nulls_and_null_keys_are_ignored(modern: GraphTraversalSource) -> None:
    g = modern
    assert g.inject(None, 10, 5, None).sum_().next() == 15
    assert g.inject([None, 10, 20, None]).mean(Scope.local).next() == 15.0
    assert g.inject(None, 10, 5).min_().next() == 5
    assert g.V("1").values("name", "age", None).to_list() == ["marko", 29]
    assert g.V("1").properties("name", None).value().to_list() == ["marko"]


def test_inject_in_a_child_traversal_follows_its_start(modern: GraphTraversalSource) -> None:
    g = modern
    assert g.inject("a", "b").concat(__.inject("c")).to_list() == ["aa", "bb"]
    assert g.V("1").values("name").inject("daniel").to_list() == ["daniel", "marko"]  # mid-traversal: first


def test_add_e_modulators_after_property(empty_graph: GraphTraversalSource) -> None:
    g = empty_graph
    g.add_v("person").property(T.id, "1").add_v("person").property(T.id, "2").iterate()
    edge = g.add_e("knows").property("weight", 0.5).from_(__.V("1")).to(__.V("2")).element_map().next()
    assert (edge[Direction.OUT][T.id], edge[Direction.IN][T.id], edge["weight"]) == ("1", "2", 0.5)
    raises(g.add_e("knows").from_(__.V("1")).to(__.V("2")).add_e("knows").from_(__.V("1")),
           "must resolve to a Vertex or the ID of a Vertex present in the graph")


def test_select_keys_gives_a_set(modern: GraphTraversalSource) -> None:
    g = modern
    assert g.V("1").value_map().select(Column.keys).next() == {"name", "age"}
    assert g.V("1").value_map().select(Column.values).next() == [["marko"], [29]]
    assert g.V("1").value_map().unfold().map(__.select(Column.keys)).to_list() == ["name", "age"]  # entries


def test_group_value_traversal_without_a_reducer_takes_its_first_result(modern: GraphTraversalSource) -> None:
    g = modern
    assert g.V().group().by(__.values("name").substring(0, 1)).by(__.constant(1)).next() == {
        "m": 1, "v": 1, "l": 1, "j": 1, "r": 1, "p": 1}
    grouped = g.V().has("person", "name", P.within("vadas", "peter")).group().by().by(__.out().order()).next()
    assert [(k.id, v.id) for k, v in grouped.items()] == [("6", "3")]  # vadas has no out(): no entry
    assert g.V().group().by(T.label).by(__.values("name").order().fold()).next()["software"] == ["lop", "ripple"]
    assert g.V().group().by(T.label).by(__.count()).next() == {"person": 4, "software": 2}


def test_fold_with_a_seed_and_an_operator(modern: GraphTraversalSource) -> None:
    g = modern
    assert g.V().values("age").fold(0, Operator.sum_).next() == 123
    assert g.V().values("age").fold(0, Operator.max_).next() == 35
    assert g.inject({"a": 1}, {"b": 2}).fold({}, Operator.add_all).next() == {"a": 1, "b": 2}
    raises(g.inject("x").fold(0, Operator.sum_), "Operator.sum needs numbers")


def test_has_null_key_matches_nothing(modern: GraphTraversalSource) -> None:
    assert modern.V().has(None).to_list() == []
    assert modern.E().has(None, "x").to_list() == []


def test_on_match_traversal_starts_at_the_matched_element(empty_graph: GraphTraversalSource) -> None:
    g = empty_graph
    g.add_v("person").property(T.id, "1").add_v("person").property(T.id, "2").iterate()
    g.add_e("knows").from_(__.V("1")).to(__.V("2")).property("weight", 1).iterate()
    g.merge_e({T.label: "knows", Direction.OUT: "1", Direction.IN: "2"}).option(
        Merge.on_match, __.side_effect(__.property("weight", 0)).constant({})).iterate()
    assert g.E().values("weight").to_list() == [0]
    g.merge_v({T.id: "1"}).option(Merge.on_match, __.side_effect(__.property("seen", True)).constant({})).iterate()
    assert g.V("1").values("seen").to_list() == [True]


def test_select_keys_keeps_the_map_order(modern: GraphTraversalSource) -> None:
    ranked = modern.V().out_e().label().group_count().order(Scope.local).by(Column.values, Order.desc)
    assert ranked.clone().select(Column.keys).unfold().limit(1).next() == "created"
    assert ranked.clone().select(Column.keys).next() == {"created", "knows"}  # a Set on the wire
