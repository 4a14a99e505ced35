"""Neptune's HTTP API through boto3 neptunedata: /status and Gremlin scripts on POST /gremlin."""

from __future__ import annotations

from typing import Any

import pytest
from gremlin_python.process.graph_traversal import GraphTraversalSource
from gremlin_python.structure.io.graphsonV3d0 import GraphSONReader


def run(neptune: Any, query: str) -> Any:
    result = neptune.execute_gremlin_query(gremlinQuery=query)
    assert result["status"]["code"] == 200
    return GraphSONReader().to_object(result["result"]["data"])


def test_engine_status(neptune: Any) -> None:
    status = neptune.get_engine_status()
    assert status["status"] == "healthy"
    assert status["role"] == "writer"
    assert status["gremlin"]["version"].startswith("tinkerpop-3")


def test_scripts_are_parsed_not_evaluated(neptune: Any, empty_graph: GraphTraversalSource) -> None:
    run(neptune, "g.addV('person').property(T.id, 'h1').property('name', 'ann').property('age', 30)"
                 ".addV('person').property(id, 'h2').property('name', \"bob\").property('age', 40L).iterate()")
    run(neptune, "g.V('h1').addE('knows').to(__.V('h2')).property('w', 0.5d)")
    assert run(neptune, "g.V().has('age', gt(35)).values('name')") == ["bob"]
    assert run(neptune, "g.V().has('age', P.within([30, 31])).values('name').toList()") == ["ann"]
    assert run(neptune, "g.V('h1').out('knows').values('name').next()") == ["bob"]
    assert run(neptune, "g.V().hasLabel('person').order().by('age', desc).values('name')") == ["bob", "ann"]
    assert run(neptune, "g.V('h1').outE().project('to', 'w').by(inV().id()).by('w')") == [{"to": "h2", "w": 0.5}]
    assert run(neptune, "g.V().group().by(label).by(count())") == [{"person": 2}]
    assert run(neptune, "g.V().values('name').is(TextP.startingWith('a'))") == ["ann"]
    assert run(neptune, "g.V().count(); g.E().count()") == [1]
    merged = run(neptune, "g.mergeV([(T.id): 'h3', name: 'cy']).option(Merge.onCreate, [age: 1]).id()")
    assert merged == ["h3"]
    assert run(neptune, "g.V('h3').valueMap()") == [{"name": ["cy"], "age": [1]}]
    assert run(neptune, "g.V('h1').valueMap(true)")[0]["name"] == ["ann"]
    assert run(neptune, "g.inject(1, 2, 3).sum()") == [6]


@pytest.mark.parametrize("query", [
    "g.V().map{ it.get() }",
    "__import__('os').system('true')",
    "g.V().values('name'",
    "g.V().foo()",
    "g.V(); System.exit(0)",
    "g.V().has('name', 'x' + 'y')",
])
def test_hostile_or_broken_scripts_are_refused(neptune: Any, query: str) -> None:
    with pytest.raises((neptune.exceptions.MalformedQueryException,
                        neptune.exceptions.UnsupportedOperationException)) as error:
        neptune.execute_gremlin_query(gremlinQuery=query)
    assert error.value.response["detailedMessage"]


def test_query_errors_use_neptune_codes(neptune: Any, empty_graph: GraphTraversalSource) -> None:
    run(neptune, "g.addV('a').property(T.id, 'dup-h')")
    with pytest.raises(neptune.exceptions.ConstraintViolationException) as error:
        neptune.execute_gremlin_query(gremlinQuery="g.addV('a').property(T.id, 'dup-h')")
    assert "already exists" in str(error.value)
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
