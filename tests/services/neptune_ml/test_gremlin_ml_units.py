"""The pure parts of Gremlin ML inference: naming the endpoint, the request body, reading the answer, the
inductive neighbourhood, and the ML steps against a stand-in model client (no server, no endpoint)."""

from __future__ import annotations

import pytest

from emulator.services.neptune.errors import InvalidParameter, UnsupportedOperation
from emulator.services.neptune.gremlin.bytecode import Bytecode
from emulator.services.neptune.gremlin.ml.neighbourhood import neighbourhood
from emulator.services.neptune.gremlin.ml.query import LinkTarget, MLQuery, Result, Subgraph, bind_inference
from emulator.services.neptune.gremlin.traversal import execute
from emulator.services.neptune.ml.inference.endpoints import check_role_arn, endpoint_name
from emulator.services.neptune.ml.inference.payload import AnswerError, read_predictions, request_body
from emulator.services.neptune.store import GraphStore


@pytest.mark.parametrize("given", [
    "movies-ep", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/movies-ep",
    "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/movies-ep/invocations",
    "http://127.0.0.1:4566/endpoints/movies-ep/invocations"])
def test_an_endpoint_id_arn_or_url_names_the_sagemaker_endpoint(given):
    assert endpoint_name(given) == "movies-ep"


@pytest.mark.parametrize("given", ["", "has space", "-leading", "a" * 64, "arn:aws:sagemaker:us-east-1:1:endpoint/x",
                                   "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/bad_name/invocations"])
def test_a_malformed_endpoint_is_refused_with_neptunes_text(given):
    with pytest.raises(InvalidParameter, match="Invalid endpoint provided for external service query."):
        endpoint_name(given)


def test_role_arns():
    check_role_arn(None)
    check_role_arn("arn:aws:iam::123456789012:role/service-role/NeptuneML")
    with pytest.raises(InvalidParameter, match="Invalid IAM role ARN provided for external service query."):
        check_role_arn("arn:aws:iam::123456789012:user/bob")


def test_the_request_body_follows_the_contract():
    link = MLQuery(endpoint="ep", task="link_predict", nodes=["u1"], limit=3, threshold=0.25,
                   link=LinkTarget("rated", "out", "movie"))
    assert request_body(link) == {"version": "mlharbor-neptune-ml/1", "task": "link_predict", "mode": "transductive",
                                  "nodes": ["u1"], "limit": 3, "threshold": 0.25, "deterministic": False,
                                  "link": {"relation": "rated", "direction": "out", "other_label": "movie"}}
    edge = MLQuery(endpoint="ep", task="edge_class", property="liked", edges=["e1"], inductive=True,
                   deterministic=True, graph=Subgraph(vertices=[{"id": "a"}], edges=[]))
    body = request_body(edge)
    assert body["edges"] == ["e1"] and "nodes" not in body and body["mode"] == "inductive"
    assert body["graph"] == {"vertices": [{"id": "a"}], "edges": []} and body["property"] == "liked"


def test_the_answer_is_kept_to_limit_and_threshold_best_first_and_to_the_asked_ids():
    query = MLQuery(endpoint="ep", task="node_class", property="genre", nodes=["m1"], limit=2, threshold=0.2)
    answer = {"predictions": [
        {"id": "m1", "results": [{"value": "A", "score": 0.3}, {"value": "B", "score": 0.6},
                                 {"value": "C", "score": 0.1}, {"value": "D", "score": 0.25}]},
        {"id": "other", "results": [{"value": "X", "score": 1.0}]}]}
    assert read_predictions(answer, query) == {"m1": [Result("B", 0.6), Result("A", 0.3)]}
    regression = MLQuery(endpoint="ep", task="node_regression", property="rating", nodes=["m1"])
    assert read_predictions({"predictions": [{"id": "m1", "results": [{"value": 4.5, "score": None}]}]},
                            regression) == {"m1": [Result(4.5, None)]}


@pytest.mark.parametrize("answer", [[], {"predictions": {}}, {"predictions": [{"id": "m1"}]},
                                    {"predictions": [{"id": "m1", "results": [{"score": 1}]}]},
                                    {"predictions": [{"id": "m1", "results": [{"value": "A", "score": "high"}]}]}])
def test_an_answer_not_in_the_format_is_refused(answer):
    with pytest.raises(AnswerError):
        read_predictions(answer, MLQuery(endpoint="ep", task="node_class", property="genre", nodes=["m1"]))


def chain_store() -> GraphStore:
    """a -> b -> c -> d, and x alone."""
    store = GraphStore(None)
    with store.transaction() as tx:
        vertices = {v: tx.add_vertex(v, "n") for v in "abcdx"}
        for index, (src, dst) in enumerate(["ab", "bc", "cd"]):
            tx.add_edge(f"e{index}", "next", vertices[src], vertices[dst])
        tx.set_vertex_property(vertices["a"], "tags", "t1")
        tx.set_vertex_property(vertices["a"], "tags", "t2")
    return store


def test_the_neighbourhood_is_the_vertices_within_the_layers_and_their_edges():
    store = chain_store()
    sub = neighbourhood([store.vertices["b"]], layers=1)
    assert [v["id"] for v in sub.vertices] == ["b", "c", "a"]  # out-edges first, then in-edges
    assert [e["id"] for e in sub.edges] == ["e1", "e0"]
    two = neighbourhood([store.vertices["a"]], layers=2)
    assert [v["id"] for v in two.vertices] == ["a", "b", "c"]
    assert two.vertices[0]["properties"] == {"tags": "t1;t2"}


class Recorder:
    """A stand-in model client: records the queries, answers every asked id with its own id."""

    def __init__(self) -> None:
        self.queries: list[MLQuery] = []

    def predict(self, query: MLQuery) -> dict[str, list[Result]]:
        self.queries.append(query)
        ids = query.edges if query.task.startswith("edge_") else query.nodes
        return {i: [Result("d" if query.task == "link_predict" else f"class-of-{i}", 0.5)] for i in ids}


def run(store: GraphStore, steps: list[tuple[str, list]], sources: list[tuple[str, list]] | None = None) -> list:
    return execute(store, Bytecode(steps=steps, sources=sources or [("with", ["Neptune#ml.endpoint", "ep"])]))


def test_one_request_for_all_traversers_with_the_source_and_step_predicates():
    store, model = chain_store(), Recorder()
    bind_inference(store, model)
    found = run(store, [("V", ["a", "b", "a"]), ("properties", ["genre"]), ("with", ["Neptune#ml.classification"]),
                        ("with", ["Neptune#ml.limit", 3]), ("value", [])],
                [("with", ["Neptune#ml.endpoint", "ep"]), ("with", ["Neptune#ml.limit", 2]),
                 ("with", ["Neptune#ml.threshold", 0.5]), ("with", ["Neptune#ml.deterministic"])])
    assert found == ["class-of-a", "class-of-b", "class-of-a"]
    [query] = model.queries
    assert (query.nodes, query.limit, query.threshold, query.task) == (["a", "b"], 3, 0.5, "node_class")
    assert query.deterministic is False and query.graph is None  # deterministic only counts with inductive


def test_link_prediction_answers_store_vertices_and_keeps_plain_steps_plain():
    store, model = chain_store(), Recorder()
    bind_inference(store, model)
    found = run(store, [("V", ["a"]), ("out", ["next"]), ("with", ["Neptune#ml.prediction"]), ("hasLabel", ["n"]),
                        ("id", [])])
    assert found == ["d"] and model.queries[0].link == LinkTarget("next", "out", "n")
    assert run(store, [("V", ["a"]), ("out", ["next"]), ("id", [])]) == ["b"]
    assert len(model.queries) == 1


def test_an_ml_step_nested_in_a_repeat_is_refused_at_run_time_too():
    store = chain_store()
    bind_inference(store, Recorder())
    inner = Bytecode(steps=[("union", [Bytecode(steps=[("out", ["next"]), ("with", ["Neptune#ml.prediction"]),
                                                        ("hasLabel", ["n"])])])])
    with pytest.raises(UnsupportedOperation, match="not supported inside a repeat step"):
        run(store, [("V", ["a"]), ("repeat", [inner]), ("times", [1])])
