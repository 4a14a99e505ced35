"""``TextP.regex`` on RE2: TinkerPop's find-anywhere semantics, linear time, RE2's syntax limits answered."""

from __future__ import annotations

import uuid

import pytest
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.process.graph_traversal import GraphTraversalSource
from gremlin_python.process.traversal import TextP


@pytest.fixture
def words(g: GraphTraversalSource) -> tuple[GraphTraversalSource, str]:
    label = f"re{uuid.uuid4().hex[:8]}"
    for name in ("marko", "Tinkerpop\u00a9", "a" * 30 + "b", "a" * 30):
        g.add_v(label).property("name", name).iterate()
    return g, label


def matching(words: tuple[GraphTraversalSource, str], predicate: TextP) -> list[str]:
    g, label = words
    return sorted(g.V().has_label(label).has("name", predicate).values("name").to_list())


def test_regex_matches_anywhere_in_the_value(words: tuple[GraphTraversalSource, str]) -> None:
    assert matching(words, TextP.regex("ark")) == ["marko"]  # find(), not a full match
    assert matching(words, TextP.regex("^mar")) == ["marko"]
    assert matching(words, TextP.regex("Tinker.*\u00a9")) == ["Tinkerpop\u00a9"]
    assert matching(words, TextP.not_regex("a")) == ["Tinkerpop\u00a9"]


def test_a_catastrophic_pattern_runs_in_linear_time(words: tuple[GraphTraversalSource, str]) -> None:
    """``^(a+)+$`` backtracks 2^30 ways on 30 a's and a b with a backtracking engine; RE2 does not."""
    assert matching(words, TextP.regex("^(a+)+$")) == ["a" * 30]
    assert matching(words, TextP.not_regex("^(a+)+$")) == sorted(["marko", "Tinkerpop\u00a9", "a" * 30 + "b"])


def test_a_pattern_re2_cannot_run_is_refused(words: tuple[GraphTraversalSource, str]) -> None:
    with pytest.raises(GremlinServerError) as error:
        matching(words, TextP.regex(r"(a)\1"))  # a backreference: not a regular language
    assert error.value.status_code == 597
    assert "MalformedQueryException" in str(error.value) and "RE2 syntax" in str(error.value)
