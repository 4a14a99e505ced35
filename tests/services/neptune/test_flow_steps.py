"""The flow and state steps over gremlinpython (GraphBinary and GraphSON), on TinkerPop's "modern" graph:
repeat/emit/until/times/loops, path/simplePath/cyclicPath, union/choose/branch/optional, side effects
(aggregate/store/cap/sideEffect, group/groupCount with a key) and sacks.

Expected results are those of TinkerPop 3.8.1's Gherkin features (Repeat, Path, Union, Local, Choose,
Branch, Aggregate, SideEffectCap, Sack, SimplePath, CyclicPath, Loops).
"""

from __future__ import annotations

import pytest
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.traversal import Operator, P, Pick, Scope, T
from gremlin_python.statics import long


def paths(results: list) -> list:
    return sorted(tuple(p.objects) for p in results)


def test_repeat_times_emit_until(modern: GraphTraversalSource) -> None:
    g = modern
    assert sorted(g.V("1").repeat(__.out()).times(2).values("name").to_list()) == ["lop", "ripple"]
    assert sorted(g.V("1").emit().repeat(__.out()).times(2).values("name").to_list()) == \
        ["josh", "lop", "lop", "marko", "ripple", "vadas"]
    assert sorted(g.V("1").repeat(__.out()).times(2).emit().values("name").to_list()) == \
        ["josh", "lop", "lop", "ripple", "vadas"]
    # until after repeat is do-while, before it is while; times(0) after still runs the body once
    marko = g.V().has("person", "name", "marko")
    assert marko.repeat(__.out("created")).times(0).values("name").to_list() == ["lop"]
    assert g.V().has("person", "name", "marko").times(0).repeat(__.out("created")).values("name").to_list() == \
        ["marko"]
    assert g.V().has("person", "name", "marko").times(1).repeat(__.out("created")).values("name").to_list() == \
        ["lop"]
    assert sorted(g.V("1").repeat(__.out()).until(__.out_e().count().is_(0)).values("name").to_list()) == \
        ["lop", "lop", "ripple", "vadas"]
    # breadth first: an unbounded loop over a cycle still finds what until() looks for
    assert paths(g.V("1").repeat(__.both()).until(__.has("name", "ripple")).limit(1).path().by("name")
                 .to_list()) == [("marko", "josh", "ripple")]
    assert sorted(g.V("1").repeat(__.out()).until(__.loops().is_(2)).values("name").to_list()) == ["lop", "ripple"]
    assert sorted(g.V("1").repeat(__.out()).emit().times(2).map(__.loops()).to_list()) == [0, 0, 0, 0, 0]


def test_named_and_nested_repeat(modern: GraphTraversalSource) -> None:
    g = modern
    inner = g.V("1").repeat("a", __.out("knows").repeat("b", __.out("created")).times(1)
                            .emit(__.loops("a").is_(0))).times(1).values("name").to_list()
    assert sorted(inner) == ["lop", "ripple"]
    assert g.V("1").repeat(__.out().repeat(__.out()).times(1)).times(1).count().next() == 2


def test_repeat_errors(modern: GraphTraversalSource) -> None:
    for bad in (modern.V().emit(), modern.V().times(5), modern.V().until(__.identity())):
        with pytest.raises(GremlinServerError, match="The repeat\\(\\)-traversal was not defined"):
            bad.to_list()
    with pytest.raises(GremlinServerError, match="The parent of inject\\(\\)-step can not be repeat\\(\\)-step"):
        modern.V().repeat(__.inject("y")).times(2).to_list()


def test_path_and_simple_cyclic(modern: GraphTraversalSource) -> None:
    g = modern
    assert paths(g.V("1").out().path().by("name").to_list()) == \
        [("marko", "josh"), ("marko", "lop"), ("marko", "vadas")]
    assert paths(g.V("1").out_e("created").in_v().path().by("name").by(T.label).to_list()) == \
        [("marko", "created", "lop")]
    labelled = g.V("1").as_("a").out("knows").as_("b").path().to_list()
    assert all(p.labels == [{"a"}, {"b"}] for p in labelled) and len(labelled) == 2
    assert paths(g.V().as_("a").out("created").as_("b").in_("created").as_("c").path().from_("b").to("c")
                 .by("name").to_list()).count(("lop", "marko")) == 3
    assert g.V().out().out().simple_path().count().next() == 2
    assert paths(g.V("1").both().both().cyclic_path().path().by("name").to_list()) == \
        [("marko", "josh", "marko"), ("marko", "lop", "marko"), ("marko", "vadas", "marko")]
    assert g.V("1").both().both().simple_path().count().next() == 4


def test_branch_children_see_all_inputs(modern: GraphTraversalSource) -> None:
    g = modern
    # a barrier in a union branch counts every input, local() counts per input: 7 values, not 12
    assert sorted(g.V().union(__.out_e().count(), __.local(__.in_e().count())).to_list()) == [0, 0, 1, 1, 1, 3, 6]
    assert sorted(g.V("1", "2").union(__.out_e().count(), __.in_e().count(), __.out_e().values("weight").sum_())
                  .to_list()) == [1, 1.9, 3]
    assert g.V().union(__.limit(1)).count().next() == 1
    assert g.inject(1).choose(__.is_(1), __.constant(10).fold(), __.fold()).to_list() == [[10]]
    assert g.inject(2).choose(__.is_(1), __.constant(10).fold(), __.fold()).to_list() == [[2]]
    assert sorted(g.V().has_label("person").choose(__.values("age")).option(P.between(26, 30), __.values("name")
                  .fold()).option(Pick.none, __.values("name").fold()).to_list()) == [["josh", "peter"],
                                                                                     ["marko", "vadas"]]


def test_choose_and_branch_options(modern: GraphTraversalSource) -> None:
    g = modern
    chosen = g.V().choose(__.out().count()).option(long(2), __.values("name")).option(long(3), __.values("age"))
    assert sorted(map(str, chosen.to_list())) == sorted(["29", "josh", "v[2]", "v[3]", "v[5]", "v[6]"])
    first_only = g.V().has_label("person").choose(__.values("age")).option(P.between(26, 30), __.constant("x")) \
        .option(P.between(20, 30), __.constant("y")).option(Pick.none, __.constant("z"))
    assert sorted(first_only.to_list()) == ["x", "x", "z", "z"]
    unproductive = g.V().choose(__.values("age")).option(P.between(26, 30), __.values("name")) \
        .option(Pick.none, __.values("name")).option(Pick.unproductive, __.label())
    assert sorted(unproductive.to_list()) == ["josh", "marko", "peter", "software", "software", "vadas"]
    every = g.V().branch(__.label().is_("person").count()).option(long(1), __.values("age")) \
        .option(long(0), __.values("lang")).option(long(0), __.values("name"))
    assert sorted(map(str, every.to_list())) == sorted(["java", "java", "lop", "ripple", "29", "27", "32", "35"])
    with_any = g.V().has_label("software").branch(__.values("name")).option("lop", __.constant(1)) \
        .option(Pick.any_, __.constant(2))
    assert sorted(with_any.to_list()) == [1, 2, 2]
    assert g.V().choose(T.label).option("person", __.out("knows").values("name")).count().next() == 4
    assert g.V().optional(__.out("knows")).count().next() == 7


def test_side_effects(modern: GraphTraversalSource) -> None:
    g = modern
    assert sorted(g.V().aggregate("x").by("name").cap("x").next()) == \
        ["josh", "lop", "marko", "peter", "ripple", "vadas"]
    # a global aggregate is a barrier: every later step sees the whole list
    assert g.V().aggregate("x").where(P.within("x")).count().next() == 6
    assert g.V("1").out().aggregate(Scope.local, "x").cap("x").unfold().count().next() == 3
    assert sorted(g.V().out("created").aggregate(Scope.local, "s").by("name").cap("s").next()) == ["lop", "lop", "lop", "ripple"]
    assert g.V().side_effect(__.out().aggregate("y")).cap("y").unfold().count().next() == 6
    assert g.V().group_count("m").by(T.label).cap("m").next() == {"person": 4, "software": 2}
    assert g.V().group("g").by(T.label).by(__.count()).cap("g").next() == {"person": 4, "software": 2}
    assert g.V().group_count("a").by(T.label).group_count("b").by("name").cap("a", "b").next()["a"] == \
        {"person": 4, "software": 2}
    # a keyed groupCount inside repeat() counts the traversers of every turn
    assert g.V("1").repeat(__.group_count("m").by(__.loops()).out()).times(3).cap("m").next() == {0: 1, 1: 3, 2: 2}
    assert g.with_side_effect("a", ["x"]).V("1").values("name").aggregate("a").cap("a").next() == ["x", "marko"]


def test_sacks(modern: GraphTraversalSource) -> None:
    g = modern
    assert sorted(g.with_sack(1.0).V("1").repeat(__.out_e().sack(Operator.mult).by("weight").in_v()).times(2)
                  .sack().to_list()) == [0.4, 1.0]
    assert sorted(g.with_sack(0).V().out_e().sack(Operator.sum_).by("weight").sack().to_list()) == \
        [0.2, 0.4, 0.4, 0.5, 1.0, 1.0]
    assert g.with_sack(long(10)).V("1").sack(Operator.minus).by("age").sack().next() == -19
    assert sorted(g.with_sack([]).V("1").out().values("name").fold().sack(Operator.add_all).sack().next()) == \
        ["josh", "lop", "vadas"]
    # without withSack() the sack is null, and assign still works
    assert sorted(g.V().sack(Operator.assign).by("age").sack().to_list()) == [27, 29, 32, 35]
    with pytest.raises(GremlinServerError, match="Sack step can only have one by modulator"):
        g.V().sack(Operator.assign).by("age").by("name").sack().to_list()


def test_side_effect_operators_and_seeds(modern: GraphTraversalSource) -> None:
    g = modern
    assert g.with_side_effect("a", 1, Operator.sum_).V().aggregate("a").by("age").cap("a").next() == 124
    assert g.with_side_effect("a", 100, Operator.min_).V().aggregate(Scope.local, "a").by("age").cap("a") \
        .next() == 27
    assert sorted(g.with_side_effect("a", [1, 2, 3], Operator.assign).V().aggregate("a").by("age").cap("a")
                  .next()) == [27, 29, 32, 35]
    with pytest.raises(GremlinServerError, match="Aggregate step can only have one by modulator"):
        g.V().aggregate("x").by("name").by("age").cap("x").to_list()


def test_infix_connectives_and_path_values(modern: GraphTraversalSource) -> None:
    g = modern
    assert paths(g.V("1").repeat(__.both().simple_path()).until(__.has("name", "peter").or_().loops().is_(3))
                 .has("name", "peter").path().by("name").to_list()) == \
        [("marko", "josh", "lop", "peter"), ("marko", "lop", "peter")]
    assert sorted(g.V().emit(__.has("name", "marko").or_().loops().is_(2)).repeat(__.out()).values("name")
                  .to_list()) == ["lop", "marko", "ripple"]
    assert g.V().choose(__.has_label("person").and_().out("created"), __.out("knows"), __.identity()) \
        .values("name").count().next() == 5
    # a by() that cannot map a path object filters the traverser out
    assert paths(g.V("1").out().path().by("age").to_list()) == [(29, 27), (29, 32)]
    assert g.V("1").out("knows").path().unfold().count().next() == 4


def test_where_over_as_labels(modern: GraphTraversalSource) -> None:
    g = modern
    knows = g.V().as_("a").out().as_("b").where(__.as_("a").out("knows").as_("b")).select("a", "b").by("name")
    assert sorted((m["a"], m["b"]) for m in knows.to_list()) == [("marko", "josh"), ("marko", "vadas")]
    josh_made = g.V().as_("a").out("created").as_("b").where(__.as_("b").in_("created").has("name", "josh")) \
        .select("a", "b").by("name")
    assert sorted((m["a"], m["b"]) for m in josh_made.to_list()) == \
        [("josh", "lop"), ("josh", "ripple"), ("marko", "lop"), ("peter", "lop")]
    older = g.V().as_("a").out("created").in_("created").as_("b").where("a", P.gt("b")).by("age") \
        .select("a", "b").by("name")
    assert sorted((m["a"], m["b"]) for m in older.to_list()) == \
        [("josh", "marko"), ("peter", "josh"), ("peter", "marko")]


def test_match(modern: GraphTraversalSource) -> None:
    g = modern
    pairs = g.V().match(__.as_("a").out().as_("b")).to_list()
    assert sorted((m["a"].id, m["b"].id) for m in pairs) == \
        [("1", "2"), ("1", "3"), ("1", "4"), ("4", "3"), ("4", "5"), ("6", "3")]
    chain = g.V().match(__.as_("a").out("knows").as_("b"), __.as_("b").out("created").as_("c")) \
        .select("a", "b", "c").by("name").to_list()
    assert sorted((m["a"], m["b"], m["c"]) for m in chain) == [("marko", "josh", "lop"), ("marko", "josh", "ripple")]
    # labels bound before match() are used; an end label already bound must be reached again
    bound = g.V().as_("a").out().as_("b").match(__.as_("a").out().count().as_("c"),
                                                 __.as_("b").in_().count().as_("c")).to_list()
    assert [(m["a"].id, m["b"].id, m["c"]) for m in bound] == [("1", "3", 3)]
    negated = g.V().match(__.as_("a").out().as_("b"), __.not_(__.as_("a").out("created").as_("b"))).to_list()
    assert sorted(m["b"].id for m in negated) == ["2", "4"]
    assert sorted(g.V().match(__.as_("a").out("knows").count().as_("b")).select("b").to_list()) == [0, 0, 0, 0, 0, 2]
    # the incoming object binds the start label no pattern ends at; and() patterns bind labels too
    reversed_order = g.V().match(__.as_("b").out("created").as_("c"), __.as_("a").out("knows").as_("b")).to_list()
    assert sorted((m["a"].id, m["b"].id, m["c"].id) for m in reversed_order) == [("1", "4", "3"), ("1", "4", "5")]
    nested = g.V().match(__.as_("a").out("knows").as_("b"),
                         __.and_(__.as_("a").out("created").as_("c"), __.as_("b").out("created").as_("c"))).to_list()
    assert [(m["a"].id, m["b"].id, m["c"].id) for m in nested] == [("1", "4", "3")]
    # an infix and() inside a pattern keeps the labels on its left: c must equal b's in-degree
    either = g.V().as_("a").out().as_("b").match(
        __.as_("a").out().count().as_("c"),
        __.or_(__.as_("a").out("knows").as_("b"), __.as_("b").in_().count().as_("c").and_().as_("c").is_(P.gt(2)))) \
        .to_list()
    assert sorted((m["a"].id, m["b"].id, m["c"]) for m in either) == [("1", "2", 3), ("1", "3", 3), ("1", "4", 3)]
    filtered = g.V().match(__.where("a", P.neq("c")), __.as_("a").out("created").as_("b"),
                           __.as_("b").in_("created").as_("c")).select("a", "c").by("name").to_list()
    assert sorted((m["a"], m["c"]) for m in filtered) == \
        [("josh", "marko"), ("josh", "peter"), ("marko", "josh"), ("marko", "peter"), ("peter", "josh"),
         ("peter", "marko")]


def test_keyed_groups_are_barriers_sharing_one_map(modern: GraphTraversalSource) -> None:
    g = modern
    assert g.V().group_count("a").select("a").count(Scope.local).to_list() == [6] * 6
    assert g.V().local(__.group_count("a").select("a").count(Scope.local)).to_list() == [1, 2, 3, 4, 5, 6]
    assert g.V().local(__.group("a").by("name").select("a").count(Scope.local)).to_list() == [1, 2, 3, 4, 5, 6]
    assert g.V().has("no").group_count("a").cap("a").to_list() == [{}]
    merged = g.V().union(__.repeat(__.out()).times(2).group_count("m").by("lang"),
                         __.repeat(__.in_()).times(2).group_count("m").by("name")).cap("m").next()
    assert merged == {"java": 2, "marko": 2}


def test_where_connectives_and_optional_runs_once(empty_graph: GraphTraversalSource) -> None:
    g = empty_graph
    g.add_v("person").property(T.id, "w1").property("name", "a").iterate()
    assert g.V("w1").optional(__.add_v("dog")).label().to_list() == ["dog"]
    assert g.V().count().next() == 2  # the child ran once, not once to test and once to produce


def test_where_and_or_over_labels(modern: GraphTraversalSource) -> None:
    g = modern
    both = g.V().as_("a").out().as_("b").where(__.and_(__.as_("a").out("knows").as_("b"),
                                                         __.or_(__.as_("b").out("created").has("name", "ripple"),
                                                                __.as_("b").in_().count().is_(P.gt(2))))) \
        .select("a", "b").by("name").to_list()
    assert sorted((m["a"], m["b"]) for m in both) == [("marko", "josh")]


def test_where_by_modulators_follow_the_labels(modern: GraphTraversalSource) -> None:
    g = modern
    found = g.V().as_("a").out_e("created").as_("b").in_v().as_("c").in_("created").as_("d") \
        .where("a", P.lt("b").or_(P.gt("c")).and_(P.neq("d"))).by("age").by("weight") \
        .by(__.in_("created").values("age").min_()).select("a", "c", "d").by("name").to_list()
    assert sorted((m["a"], m["c"], m["d"]) for m in found) == \
        [("josh", "lop", "marko"), ("josh", "lop", "peter"), ("peter", "lop", "josh"), ("peter", "lop", "marko")]


def test_choose_refuses_a_traversal_pick_token(modern: GraphTraversalSource) -> None:
    with pytest.raises(GremlinServerError, match="Traversal is not allowed as a Pick token"):
        modern.V().choose(__.values("name")).option(__.is_("marko"), __.values("age")).to_list()
    # branch() takes one: the option runs when the traversal yields something for the pick
    assert modern.V().branch(__.identity()).option(__.has("name", "vadas"), __.values("age")).to_list() == [27]
