"""Neptune ML Gremlin inference queries over real gremlinpython (GraphBinary and GraphSON), the script path
and HTTP ``/gremlin``, against ``mlharbor up`` and a real SageMaker endpoint (mlharbor/pytorch, script mode)
serving :mod:`tests.services.neptune_ml.table_serving`: answers from a table, so the tests see exactly what
the graph server asked and how it shaped the answer.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gremlin_python.driver.client import Client
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.driver.serializer import GraphBinarySerializersV1, GraphSONSerializersV3d0
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.traversal import T
from gremlin_python.structure.graph import Property, Vertex, VertexProperty

from emulator.testing.requests import ROLE, model_archive, unique_name
from tests.conftest import RunningHarbor

HANDLER = (Path(__file__).parent / "table_serving.py").read_bytes()
P = f"ml{uuid.uuid4().hex[:6]}-"  # this module's ids: other modules share the harbor's graph
ML_ROLE = "arn:aws:iam::123456789012:role/NeptuneMLRole"
SCORE = "Neptune#ml.score"
SERIALIZERS = {"graphbinary": GraphBinarySerializersV1, "graphson": GraphSONSerializersV3d0}


def table() -> dict[str, Any]:
    return {
        "node_class": {"property": "genre", "answers": {
            f"{P}m1": [["Action", 0.7], ["Crime", 0.2], ["Comedy", 0.1]],
            f"{P}m2": [["Action", 0.4], ["Comedy", 0.6]],
            f"{P}m3": [["Horror", 0.9], ["Action", 0.1]]}},
        "node_regression": {"property": "rating", "answers": {f"{P}m1": 4.5, f"{P}m2": 3.25}},
        "edge_class": {"property": "liked", "answers": {
            f"{P}r1": [["yes", 0.8], ["no", 0.2]], f"{P}r2": [["no", 0.55], ["yes", 0.45]]}},
        "edge_regression": {"property": "weight", "answers": {f"{P}r1": 2.5}},
        "link_predict": {"relation": "rated",
                         "out": {f"{P}u1": [[f"{P}m2", 0.9], [f"{P}m3", 0.6], [f"{P}m9", 0.5]]},
                         "in": {f"{P}m3": [[f"{P}u1", 0.7], [f"{P}u2", 0.3]]}},
    }


@pytest.fixture(scope="module")
def ml_endpoint(harbor: RunningHarbor) -> Iterator[str]:
    """A SageMaker endpoint serving the table, InService."""
    sagemaker, s3 = harbor.client("sagemaker"), harbor.client("s3")
    bucket = unique_name("nml-gremlin")
    s3.create_bucket(Bucket=bucket)
    key = "models/table/model.tar.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=model_archive({
        "code/inference.py": HANDLER, "table.json": json.dumps(table()).encode()}))
    model, config, name = unique_name("nmlmodel"), unique_name("nmlcfg"), unique_name("nml-ep")
    sagemaker.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": "mlharbor/pytorch", "ModelDataUrl": f"s3://{bucket}/{key}"})
    sagemaker.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config)
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.5})
    yield name
    sagemaker.delete_endpoint(EndpointName=name)


def gremlin_url(harbor: RunningHarbor) -> str:
    assert harbor.graph is not None
    return harbor.graph.replace("http://", "ws://") + "/gremlin"


@pytest.fixture(scope="module")
def graph(harbor: RunningHarbor) -> Iterator[None]:
    """Users rate movies; m4 and its edge r4 came after training (inductive inference)."""
    connection = DriverRemoteConnection(gremlin_url(harbor), "g")
    g = traversal().with_(connection)
    for vid, label, props in [("u1", "user", {}), ("u2", "user", {}), ("m1", "movie", {"genre": "Drama"}),
                              ("m2", "movie", {"genre": "Drama"}), ("m3", "movie", {"genre": "Comedy"}),
                              ("m4", "movie", {})]:
        t = g.add_v(label).property(T.id, P + vid)
        for key, value in props.items():
            t = t.property(key, value)
        t.iterate()
    for eid, src, dst in [("r1", "u1", "m1"), ("r2", "u2", "m1"), ("r3", "u2", "m2"), ("r4", "u2", "m4")]:
        g.V(P + src).add_e("rated").to(__.V(P + dst)).property(T.id, P + eid).property("liked", "yes").iterate()
    yield
    g.V(*[P + v for v in ("u1", "u2", "m1", "m2", "m3", "m4")]).drop().iterate()
    connection.close()


Source = Callable[..., GraphTraversalSource]


@pytest.fixture(scope="module", params=list(SERIALIZERS))
def g(request: pytest.FixtureRequest, harbor: RunningHarbor, graph: None, ml_endpoint: str) -> Iterator[Source]:
    """``g(options)``: a fresh traversal source with the endpoint, the role and ``options``, over one serializer.

    Fresh each time: gremlinpython's ``with_()`` edits the source's one OptionsStrategy in place, so an
    option added to a shared source would stay for every later query.
    """
    connection = DriverRemoteConnection(gremlin_url(harbor), "g", message_serializer=SERIALIZERS[request.param]())

    def source(options: dict[str, Any] | None = None) -> GraphTraversalSource:
        found = traversal().with_(connection)
        for key, value in {"Neptune#ml.endpoint": ml_endpoint, "Neptune#ml.iamRoleArn": ML_ROLE,
                           **(options or {})}.items():
            found = found.with_(key, value)
        return found

    yield source
    connection.close()


def pairs(results: list[Any]) -> list[tuple[str, Any]]:
    return [(r.label if isinstance(r, VertexProperty) else r.key, r.value) for r in results]


def neptune_error(run: Callable[[], Any]) -> dict[str, Any]:
    """The ``{"code", "detailedMessage"}`` a refused query answers with."""
    with pytest.raises(GremlinServerError) as caught:
        run()
    return json.loads(caught.value.status_message)


# -- node classification and regression -----------------------------------------------------------------

def test_node_classification_answers_vertex_properties_up_to_limit_above_threshold(g):
    found = g({"Neptune#ml.limit": 2, "Neptune#ml.threshold": 0.15}).V(P + "m1", P + "m2") \
        .properties("genre").with_("Neptune#ml.classification").to_list()
    assert all(isinstance(vp, VertexProperty) for vp in found)
    assert pairs(found) == [("genre", "Action"), ("genre", "Crime"), ("genre", "Comedy"), ("genre", "Action")]
    assert len({vp.id for vp in found}) == 4  # each class is its own vertex property
    # the stored property is not what comes back: the model's classes are
    assert g().V(P + "m1").values("genre").to_list() == ["Drama"]


def test_the_default_limit_is_one_and_value_reads_the_class(g):
    found = g().V(P + "m1", P + "m2", P + "m3").properties("genre").with_("Neptune#ml.classification").value()
    assert found.to_list() == ["Action", "Comedy", "Horror"]


def test_score_entries_follow_each_class_as_neptune_returns_them(g):
    by_key = g({"Neptune#ml.limit": 2}).V(P + "m1") \
        .properties("genre", SCORE).with_("Neptune#ml.classification").to_list()
    assert pairs(by_key) == [("genre", "Action"), (SCORE, 0.7), ("genre", "Crime"), (SCORE, 0.2)]
    assert all(isinstance(vp, VertexProperty) for vp in by_key)
    by_predicate = g().V(P + "m3").properties("genre").with_("Neptune#ml.classification") \
        .with_("Neptune#ml.score").to_list()
    assert pairs(by_predicate) == [("genre", "Horror"), (SCORE, 0.9)]


def test_node_regression_answers_the_number(g):
    found = g().V(P + "m1", P + "m2").properties("rating").with_("Neptune#ml.regression").to_list()
    assert pairs(found) == [("rating", 4.5), ("rating", 3.25)]


def test_ml_properties_compose_with_filters_union_and_select(g):
    assert g({"Neptune#ml.limit": 3}).V(P + "m1").properties("genre").with_("Neptune#ml.classification") \
        .has_value("Crime").value().to_list() == ["Crime"]
    mixed = g().V(P + "m1").union(__.properties("genre").with_("Neptune#ml.classification"),
                                __.properties("genre")).value().to_list()
    assert mixed == ["Action", "Drama"]
    selected = g().V(P + "m2").as_("vertex").properties("genre").with_("Neptune#ml.classification") \
        .as_("class").select("vertex", "class").to_list()
    assert selected[0]["vertex"] == Vertex(P + "m2") and selected[0]["class"].value == "Comedy"


# -- edges ------------------------------------------------------------------------------------------------

def test_edge_classification_answers_edge_properties_with_scores(g):
    found = g().E(P + "r1", P + "r2").properties("liked", SCORE).with_("Neptune#ml.classification").to_list()
    assert all(isinstance(p, Property) and not isinstance(p, VertexProperty) for p in found)
    assert pairs(found) == [("liked", "yes"), (SCORE, 0.8), ("liked", "no"), (SCORE, 0.55)]


def test_edge_regression(g):
    assert g().E(P + "r1").properties("weight").with_("Neptune#ml.regression").value().to_list() == [2.5]


# -- link prediction --------------------------------------------------------------------------------------

def test_link_prediction_tail_and_head_with_limit_and_threshold(g):
    tails = g({"Neptune#ml.limit": 2}).V(P + "u1").out("rated").with_("Neptune#ml.prediction") \
        .has_label("movie").to_list()
    assert tails == [Vertex(P + "m2"), Vertex(P + "m3")]
    # a predicted id the graph does not hold (m9) is not answered
    assert g({"Neptune#ml.limit": 5}).V(P + "u1").out("rated").with_("Neptune#ml.prediction") \
        .has_label("movie").id_().to_list() == [P + "m2", P + "m3"]
    heads = g().V(P + "m3").in_("rated").with_("Neptune#ml.prediction").with_("Neptune#ml.limit", 2) \
        .with_("Neptune#ml.threshold", 0.5).has_label("user").id_().to_list()
    assert heads == [P + "u1"]
    paired = g().V(P + "m3").as_("source").in_("rated").with_("Neptune#ml.prediction").has_label("user") \
        .as_("target").select("source", "target").by(T.id).to_list()
    assert paired == [{"source": P + "m3", "target": P + "u1"}]


# -- the endpoint: id, ARN, URL ---------------------------------------------------------------------------

def test_the_endpoint_may_be_named_by_arn_or_invocation_url(harbor, graph, ml_endpoint):
    connection = DriverRemoteConnection(gremlin_url(harbor), "g")
    try:
        for named in (f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ml_endpoint}",
                      f"https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/{ml_endpoint}/invocations"):
            g = traversal().with_(connection).with_("Neptune#ml.endpoint", named)
            assert g.V(P + "m3").properties("genre").with_("Neptune#ml.classification").value().to_list() \
                == ["Horror"]
    finally:
        connection.close()


# -- inductive inference ------------------------------------------------------------------------------------

def endpoint_requests(harbor: RunningHarbor, endpoint: str, marker: str, timeout: float = 20) -> list[dict]:
    """The requests the endpoint printed (its CloudWatch log) whose nodes or edges include ``marker``."""
    logs = harbor.client("logs")
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for stream in logs.describe_log_streams(logGroupName=f"/aws/sagemaker/Endpoints/{endpoint}")["logStreams"]:
            events = logs.get_log_events(logGroupName=f"/aws/sagemaker/Endpoints/{endpoint}",
                                         logStreamName=stream["logStreamName"], startFromHead=True)["events"]
            for event in events:
                text = event["message"]
                if "NEPTUNE-ML-REQUEST" in text:
                    request = json.loads(text.split("NEPTUNE-ML-REQUEST", 1)[1])
                    if marker in request.get("nodes", []) + request.get("edges", []):
                        found.append(request)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def test_inductive_inference_sends_the_two_hop_neighbourhood_with_raw_properties(g, harbor, ml_endpoint):
    found = g().V(P + "m4").properties("genre", SCORE).with_("Neptune#ml.classification") \
        .with_("Neptune#ml.inductiveInference").with_("Neptune#ml.deterministic").to_list()
    # m4 <- u2 (one hop) -> m1, m2 (two hops): four vertices; their most common genre
    assert pairs(found) == [("genre", "Drama"), (SCORE, 0.04)]
    edge = g().E(P + "r4").properties("liked").with_("Neptune#ml.classification") \
        .with_("Neptune#ml.inductiveInference").value().to_list()
    assert edge == ["user->movie"]
    assert g().V(P + "m4").properties("rating").with_("Neptune#ml.regression") \
        .with_("Neptune#ml.inductiveInference").value().to_list() == [4.0]
    link = g().V(P + "m4").in_("rated").with_("Neptune#ml.prediction").with_("Neptune#ml.inductiveInference") \
        .has_label("user").id_().to_list()
    assert link == [P + "u2"]
    # the same vertex is unknown to the model without inductiveInference: the endpoint's own error
    error = neptune_error(lambda: g().V(P + "m4").properties("genre").with_("Neptune#ml.classification").to_list())
    assert error["code"] == "BadRequestException"
    assert f"unknown id {P}m4 in transductive mode" in error["detailedMessage"]

    sent = [r for r in endpoint_requests(harbor, ml_endpoint, P + "m4") if r["task"] == "node_class"]
    inductive = next(r for r in sent if r["mode"] == "inductive")
    assert inductive["deterministic"] is True and inductive["limit"] == 1 and inductive["property"] == "genre"
    vertices = {v["id"]: v for v in inductive["graph"]["vertices"]}
    assert set(vertices) == {P + "m4", P + "u2", P + "m1", P + "m2"}
    assert vertices[P + "m1"] == {"id": P + "m1", "label": "movie", "properties": {"genre": "Drama"}}
    assert {e["id"] for e in inductive["graph"]["edges"]} == {P + "r2", P + "r3", P + "r4"}
    assert {"id": P + "r4", "label": "rated", "from": P + "u2", "to": P + "m4", "properties": {"liked": "yes"}} \
        in inductive["graph"]["edges"]
    transductive = next(r for r in sent if r["mode"] == "transductive")
    assert "graph" not in transductive and transductive["deterministic"] is False


# -- Neptune's refusals -------------------------------------------------------------------------------------------

REFUSALS: list[tuple[str, Callable[[GraphTraversalSource], Any], str, str]] = [
    ("two property keys", lambda g: g().V(P + "m1").properties("genre", "other").with_("Neptune#ml.classification"),
     "InvalidParameterException", "ML inference queries are currently supported for one property key."),
    ("two keys and a score", lambda g: g().V(P + "m1").properties("genre", "other", SCORE)
     .with_("Neptune#ml.classification"), "InvalidParameterException",
     "Neptune ML inference queries are currently supported for one property key and one Neptune#ml.score "
     "property key."),
    ("no property key", lambda g: g().V(P + "m1").properties().with_("Neptune#ml.classification"),
     "MissingParameterException",
     "Property key needs to be specified using properties() step for ML inference queries."),
    ("only the score key", lambda g: g().V(P + "m1").properties(SCORE).with_("Neptune#ml.classification"),
     "MissingParameterException", "Property key needs to be specified along with Neptune#ml.score property key "
     "while using the properties() step for Neptune ML inference queries."),
    ("classification and regression", lambda g: g().V(P + "m1").properties("genre")
     .with_("Neptune#ml.classification").with_("Neptune#ml.regression"), "InvalidParameterException",
     "Both regression and classification ML predicates cannot be specified in the query."),
    ("two edge labels", lambda g: g().V(P + "u1").out("rated", "liked").with_("Neptune#ml.prediction")
     .has_label("movie"), "InvalidParameterException", "ML inference are currently supported only with one edge label."),
    ("no edge label", lambda g: g().V(P + "u1").out().with_("Neptune#ml.prediction").has_label("movie"),
     "MissingParameterException",
     "Edge label needs to be specified while using in() or out() step for ML inference queries."),
    ("both()", lambda g: g().V(P + "u1").both("rated").with_("Neptune#ml.prediction").has_label("movie"),
     "UnsupportedOperationException", "ML inference queries are currently not supported with both() step."),
    ("no predicted label", lambda g: g().V(P + "u1").out("rated").with_("Neptune#ml.prediction"),
     "UnsupportedOperationException",
     "Predicted vertex label needs to be specified using has() step for ML inference queries."),
    ("two predicted labels", lambda g: g().V(P + "u1").out("rated").with_("Neptune#ml.prediction")
     .has_label("movie", "user"), "InvalidParameterException",
     "ML inference are currently supported only with one vertex label constraint."),
    ("inside repeat()", lambda g: g().V(P + "u1").repeat(__.out("rated").with_("Neptune#ml.prediction")
                                                        .has_label("movie")).times(1),
     "UnsupportedOperationException", "Neptune ML inference queries are currently not supported inside a repeat step."),
    ("two ML queries", lambda g: g().V(P + "u1").out("rated").with_("Neptune#ml.prediction").has_label("movie")
     .properties("genre").with_("Neptune#ml.classification"), "UnsupportedOperationException",
     "Neptune ML inference queries are currently supported only with one ML inference query per gremlin query."),
    ("limit above 100", lambda g: g({"Neptune#ml.limit": 101}).V(P + "m1").properties("genre")
     .with_("Neptune#ml.classification"), "InvalidParameterException",
     "Neptune#ml.limit must be an integer from 1 to 100, got 101"),
    ("limit 0 on the step", lambda g: g().V(P + "m1").properties("genre").with_("Neptune#ml.classification")
     .with_("Neptune#ml.limit", 0), "InvalidParameterException",
     "Neptune#ml.limit must be an integer from 1 to 100, got 0"),
    ("an unknown endpoint", lambda g: g({"Neptune#ml.endpoint": "no-such-endpoint"}).V(P + "m1")
     .properties("genre").with_("Neptune#ml.classification"), "BadRequestException",
     "Endpoint no-such-endpoint not found."),
    ("a malformed endpoint", lambda g: g({"Neptune#ml.endpoint": "not an endpoint!"}).V(P + "m1")
     .properties("genre").with_("Neptune#ml.classification"), "InvalidParameterException",
     "Invalid endpoint provided for external service query."),
    ("a malformed role", lambda g: g({"Neptune#ml.iamRoleArn": "role"}).V(P + "m1").properties("genre")
     .with_("Neptune#ml.classification"), "InvalidParameterException",
     "Invalid IAM role ARN provided for external service query."),
    ("a property the model was not trained on", lambda g: g().V(P + "m1").properties("title")
     .with_("Neptune#ml.classification"), "BadRequestException",
     "property title is not the model's target (genre)"),
]


@pytest.mark.parametrize("case", REFUSALS, ids=[case[0] for case in REFUSALS])
def test_each_restriction_is_answered_with_neptunes_error(g, case):
    _, build, code, message = case
    error = neptune_error(lambda: build(g).to_list())
    assert error["code"] == code
    assert message in error["detailedMessage"]


def test_no_endpoint_given(harbor, graph):
    connection = DriverRemoteConnection(gremlin_url(harbor), "g")
    try:
        g = traversal().with_(connection)
        error = neptune_error(lambda: g.V(P + "m1").properties("genre").with_("Neptune#ml.classification").to_list())
    finally:
        connection.close()
    assert error == {"requestId": error["requestId"], "code": "MissingParameterException",
                     "detailedMessage": "No endpoint provided for external service query."}


# -- scripts: websocket eval and HTTP /gremlin --------------------------------------------------------------------

def script(endpoint: str) -> str:
    return (f'g.with("Neptune#ml.endpoint", "{endpoint}").with("Neptune#ml.iamRoleArn", "{ML_ROLE}")'
            f'.with("Neptune#ml.limit", 2).with("Neptune#ml.threshold", 0.5D)'
            f'.V("{P}m1", "{P}m3").properties("genre", "Neptune#ml.score").with("Neptune#ml.classification")')


def test_a_script_query_over_the_websocket_and_http(harbor, graph, ml_endpoint):
    client = Client(gremlin_url(harbor), "g")
    try:
        found = client.submit(script(ml_endpoint)).all().result()
    finally:
        client.close()
    assert pairs(found) == [("genre", "Action"), (SCORE, 0.7), ("genre", "Horror"), (SCORE, 0.9)]

    request = urllib.request.Request(f"{harbor.graph}/gremlin", data=json.dumps({"gremlin": script(ml_endpoint) +
                                     ".value()"}).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    values = [v["@value"] if isinstance(v, dict) else v for v in body["result"]["data"]["@value"]]
    assert values == ["Action", 0.7, "Horror", 0.9]


def test_an_http_query_is_refused_with_neptunes_error_body(harbor, graph):
    query = f'g.V("{P}m1").out("rated").with("Neptune#ml.prediction").with("Neptune#ml.endpoint", "ep")'
    request = urllib.request.Request(f"{harbor.graph}/gremlin", data=json.dumps({"gremlin": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=60)
    assert caught.value.code == 400
    body = json.loads(caught.value.read())
    assert body["code"] == "UnsupportedOperationException"
    assert body["detailedMessage"] == "Predicted vertex label needs to be specified using has() step for ML inference queries."
