"""The value steps (strings, lists, types, math, element) over gremlinpython, both serializers.

Expected values are those of TinkerPop 3.8.1's feature files (map/Concat.feature, map/Math.feature...).
"""

from __future__ import annotations

import datetime as dt

import pytest
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.traversal import DT, Order, P, Scope, TextP
from gremlin_python.statics import long
from gremlin_python.structure.graph import Vertex

UTC = dt.UTC


def raises(traversal, text: str) -> None:  # noqa: ANN001 - a gremlinpython traversal
    with pytest.raises(GremlinServerError) as caught:
        traversal.to_list()
    assert text in str(caught.value)


def test_string_steps(modern: GraphTraversalSource) -> None:
    g = modern
    assert g.inject("a", "b").concat("c", "d").to_list() == ["acd", "bcd"]
    assert g.inject(None, "a").concat(None, "b").to_list() == ["b", "ab"]
    assert g.V().has_label("software").as_("a").values("name").concat(" uses ").concat(
        __.select("a").values("lang")).to_list() == ["lop uses java", "ripple uses java"]
    raises(g.inject(["a", "b"], "c").concat("d"), "String concat() can only take string as argument")
    assert g.inject("feature", "tESt", None).to_upper().to_list() == ["FEATURE", "TEST", None]
    assert g.inject(["feature", "tESt", None]).to_lower(Scope.local).to_list() == [["feature", "test", None]]
    raises(g.inject(["a", "b"]).to_upper(), "The toUpper() step can only take string as argument")
    assert g.inject("  feature  ", "\u3000abc\u3000").trim().to_list() == ["feature", "abc"]
    assert g.inject("  feature  ").l_trim().to_list() == ["feature  "]
    assert g.inject("  feature  ").r_trim().to_list() == ["  feature"]
    raises(g.inject([1, 2]).l_trim(Scope.local), "The lTrim(local) step can only take string or list of strings")
    assert g.inject("that", "this", None).split("h").to_list() == [["t", "at"], ["t", "is"], None]
    assert g.inject("hello world").split(None).to_list() == [["hello", "world"]]
    assert g.inject("abc").split("").to_list() == [["a", "b", "c"]]
    names = g.V().has_label("software").values("name")
    assert names.clone().substring(1, 4).to_list() == ["op", "ipp"]
    assert names.clone().substring(-4, 2).to_list() == ["lo", ""]
    assert names.clone().substring(1, -1).to_list() == ["o", "ippl"]
    assert names.clone().replace("p", "g").to_list() == ["log", "riggle"]
    assert names.clone().order().fold().replace(Scope.local, "p", "g").to_list() == [["log", "riggle"]]
    assert g.inject("feature", None).length().to_list() == [7, None]
    assert g.V().values("name").order().fold().length(Scope.local).to_list() == [[4, 3, 5, 5, 6, 5]]


def test_format(modern: GraphTraversalSource) -> None:
    g = modern
    assert g.V().format_("%{name} is %{age} years old").to_list() == [
        "marko is 29 years old", "vadas is 27 years old", "josh is 32 years old", "peter is 35 years old"]
    assert g.inject(1).as_("age").V().has_label("software").format_("%{name} is %{age}").to_list() == [
        "lop is 1", "ripple is 1"]
    assert g.V().has_label("person").format_("%{_} %{_} %{_}").by(__.constant("hello")).by(
        __.values("name")).limit(1).to_list() == ["hello marko hello"]
    assert g.V().has("name", "marko").format_("%{name} has %{_} connections").by(
        __.both_e().count()).to_list() == ["marko has 3 connections"]


def test_list_steps(modern: GraphTraversalSource) -> None:
    g = modern
    ages = g.V().values("age").fold()
    assert g.V().values("age").fold().merge(__.constant(27).fold()).to_list() == [{27, 29, 32, 35}]
    assert g.V().values("age").order().fold().combine([27]).to_list() == [[27, 29, 32, 35, 27]]
    assert ages.clone().difference(__.constant(27).fold()).to_list() == [{29, 32, 35}]
    assert g.inject(["marko"]).intersect(__.V().values("name").fold()).to_list() == [{"marko"}]
    assert g.inject(["a", "b"]).disjunct(["b", "c"]).to_list() == [{"a", "c"}]
    assert g.inject(["marko"]).product(["x", "y"]).to_list() == [[["marko", "x"], ["marko", "y"]]]
    assert g.V().has("name", "marko").element_map().merge(
        __.V().has("name", "lop").element_map()).select("name", "age", "lang").to_list() == [
        {"name": "lop", "age": 29, "lang": "java"}]
    raises(g.inject(None).merge(__.inject(1)), "Incoming traverser for merge step can't be null")
    raises(g.V().values("name").combine(__.V().fold()),
           "combine step can only take an array or an Iterable type for incoming traversers")
    raises(g.V().fold().difference(__.constant(None)),
           "traversal argument for difference step must yield an iterable type, not null")
    raises(g.V().fold().merge({"k": "v"}), "step type mismatch: expected argument to be Iterable but got Map")
    assert g.V().values("age").order().fold().conjoin(";").to_list() == ["27;29;32;35"]
    assert g.inject(["a", None, "b"]).conjoin("xyz").to_list() == ["axyzb"]
    assert g.inject("feature", [3, "three"], 29, None).reverse().to_list() == ["erutaef", ["three", 3], 29, None]
    assert g.inject([5, 8, 10], [10, 7]).all_(P.gte(7)).to_list() == [[10, 7]]
    assert g.inject([None, "abc"]).any_(TextP.starting_with("a")).to_list() == [[None, "abc"]]
    assert g.inject([None, 1], []).none(P.eq(None)).to_list() == [[]]
    assert g.inject(7).all_(P.eq(7)).to_list() == []


def test_type_steps(modern: GraphTraversalSource) -> None:
    g = modern
    assert g.inject(1, 2.5, True).as_string().to_list() == ["1", "2.5", "true"]
    assert g.V().has_label("person").values("age").as_string().concat(" years").limit(1).to_list() == ["29 years"]
    assert g.V("1").value_map("name").as_string().to_list() == ["{name=[marko]}"]
    assert g.E("7").as_string().to_list() == ["e[7][1-knows->2]"]
    assert g.V("1").properties("age").as_string().to_list() == ["vp[age->29]"]
    raises(g.inject(None, 1).as_string(), "Can't parse")
    assert g.inject("5", "0x5", "2.5", 4).as_number().to_list() == [5, 5, 2.5, 4]
    raises(g.inject("test").as_number(), "Can't parse string 'test' as number.")
    raises(g.inject([1, 2]).as_number(), "Can't parse type ArrayList as number.")
    assert g.inject(1, 0, -0.0, "tRUe", "false").as_bool().to_list() == [True, False, False, True, False]
    raises(g.inject("hello").as_bool(), "Can't parse hello as Boolean.")
    assert g.inject("2023-08-02T00:00:00Z").as_date().to_list() == [dt.datetime(2023, 8, 2, tzinfo=UTC)]
    assert g.inject(long(1694017707000)).as_date().to_list() == [dt.datetime(2023, 9, 6, 16, 28, 27, tzinfo=UTC)]
    raises(g.inject("not a date").as_date(), "Can't parse")
    # dates are made on the server (asDate): a request carrying an aware datetime needs G1's OffsetDateTime decoding
    start = g.inject("2023-08-02T00:00:00Z").as_date()
    assert start.clone().date_add(DT.hour, 2).to_list() == [dt.datetime(2023, 8, 2, 2, tzinfo=UTC)]
    assert start.clone().date_add(DT.day, -1).to_list() == [dt.datetime(2023, 8, 1, tzinfo=UTC)]
    assert start.clone().date_diff(__.constant("2023-08-09T00:00:00Z").as_date()).to_list() == [-604800000]
    assert start.clone().date_diff(__.constant(None)).to_list() == [1690934400000]


def test_math(modern: GraphTraversalSource) -> None:
    g = modern
    assert sorted(g.V().out_e().math("0-_").by("weight").to_list()) == [-1.0, -1.0, -0.5, -0.4, -0.4, -0.2]
    assert g.V().math("_+_").by("age").to_list() == [58.0, 54.0, 64.0, 70.0]  # lop/ripple have no age
    assert sorted(g.V().as_("a").out("created").as_("b").math("b + a").by(__.in_("created").count()).by(
        "age").to_list()) == [32.0, 33.0, 35.0, 38.0]
    assert sorted(g.with_side_effect("x", 100).V().values("age").math("_ + x").to_list()) == [127.0, 129.0,
                                                                                               132.0, 135.0]
    assert g.inject(2).math("-2^2 + 10 % 3 - cbrt(27) + ceil(1.2) + abs(-1) + sqrt _").to_list() == [
        pytest.approx(-3.0 + 2 ** 0.5)]
    assert g.inject(0).math("sin _ + cos(_) + exp(_) + log10(100) + signum(-3)").to_list() == [3.0]
    assert g.V("1", "2").project("a", "b").by("age").by(__.both_e().count()).order().by(
        __.math("a / b"), Order.desc).select("a").to_list() == [27, 29]
    raises(g.inject(1).math("__import__('os')"), "math()")


def test_element(modern: GraphTraversalSource) -> None:
    assert modern.V().properties("age").element().to_list() == [Vertex("1"), Vertex("2"), Vertex("4"), Vertex("6")]
    assert modern.E("7").properties().element().id_().to_list() == ["7"]
