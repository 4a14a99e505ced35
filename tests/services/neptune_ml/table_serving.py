"""A test-only Neptune ML endpoint: mlharbor/pytorch script-mode handlers answering from a table.

Packaged as ``code/inference.py`` beside ``table.json`` (see test_gremlin_ml.py). It speaks the Neptune
ML helpers' contract (section 6): it checks the request as the real serve program does, answers known ids
from the table (classification: top ``limit`` classes at or above ``threshold``), and answers new elements
in inductive mode from the subgraph it was sent, so a test can see what the graph server sent. Each request
is printed (the endpoint's CloudWatch log) for the tests that check the request itself.
"""

import json
import os
from collections import Counter

FORMAT = "mlharbor-neptune-ml/1"


def model_fn(model_dir):
    with open(os.path.join(model_dir, "table.json")) as handle:
        return json.load(handle)


def input_fn(body, content_type):
    if content_type != "application/json":
        raise ValueError(f"content type {content_type} is not application/json")
    return json.loads(body)


def _inductive(request, element_id, model):
    """A new element: the class most common among the subgraph's other vertices; score = subgraph size / 100."""
    graph = request.get("graph") or {}
    vertices = graph.get("vertices", [])
    if request["task"].startswith("edge_"):
        edge = next((e for e in graph.get("edges", []) if e["id"] == element_id), None)
        if edge is None:
            raise ValueError(f"edge {element_id} is not in the subgraph sent")
        labels = {v["id"]: v["label"] for v in vertices}
        return [[f"{labels[edge['from']]}->{labels[edge['to']]}", len(vertices) / 100]]
    if element_id not in {v["id"] for v in vertices}:
        raise ValueError(f"vertex {element_id} is not in the subgraph sent")
    if request["task"] == "link_predict":
        link = request["link"]
        near = sorted(v["id"] for v in vertices if v["label"] == link["other_label"])
        return [[vid, round(1 - i / 10, 3)] for i, vid in enumerate(near)]
    found = Counter(v["properties"].get(model["property"]) for v in vertices if v["id"] != element_id)
    found.pop(None, None)
    value, _ = found.most_common(1)[0]
    return [[value, len(vertices) / 100]]


def predict_fn(request, table):
    print("NEPTUNE-ML-REQUEST", json.dumps(request, sort_keys=True), flush=True)
    if request.get("version") != FORMAT:
        raise ValueError(f"unknown request version {request.get('version')!r}")
    task = request["task"]
    model = table.get(task)
    if model is None:
        raise ValueError(f"this model does not serve task {task}")
    if task != "link_predict" and request.get("property") != model["property"]:
        raise ValueError(f"property {request.get('property')} is not the model's target ({model['property']})")
    if task == "link_predict" and request["link"]["relation"] != model["relation"]:
        raise ValueError(f"relation {request['link']['relation']} is not the model's ({model['relation']})")
    ids = request["edges"] if task.startswith("edge_") else request["nodes"]
    answers = model[request["link"]["direction"]] if task == "link_predict" else model["answers"]
    predictions = []
    for element_id in ids:
        if element_id in answers and request["mode"] == "transductive":
            found = answers[element_id]
        elif request["mode"] == "inductive" and task.endswith("_regression"):
            found = float(len((request.get("graph") or {}).get("vertices", [])))
        elif request["mode"] == "inductive":
            found = _inductive(request, element_id, model)
        else:
            raise ValueError(f"unknown id {element_id} in transductive mode")
        if task.endswith("_regression"):
            results = [{"value": found, "score": None}]
        else:
            ranked = sorted(found, key=lambda pair: -pair[1])
            results = [{"value": v, "score": s} for v, s in ranked if s >= request["threshold"]][:request["limit"]]
        predictions.append({"id": element_id, "results": results})
    return {"predictions": predictions}


def output_fn(prediction, accept):
    return json.dumps(prediction), "application/json"
