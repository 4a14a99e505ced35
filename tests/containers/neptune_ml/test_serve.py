"""The Neptune ML endpoint over real HTTP: ``python -m containers.neptune_ml.serve`` on a trained model directory,
its /ping and /invocations (transductive and inductive answers, link prediction, 400 {"error"} answers); and the
transform program recomputing the model directory."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import processed_data
import pytest

from containers.neptune_ml.train import run_training
from containers.neptune_ml.transform import transform

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint(planted_regression):
    data, model_dir, _, _ = planted_regression
    port = free_port()
    env = {**os.environ, "SM_MODEL_DIR": str(model_dir), "SAGEMAKER_BIND_TO_PORT": str(port),
           "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "containers.neptune_ml.serve"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with urllib.request.urlopen(url + "/ping", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        raise AssertionError(process.stdout.read())
    yield url, data, model_dir
    process.terminate()
    process.wait(timeout=10)


def invoke(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url + "/invocations", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


REQUEST = {"version": "mlharbor-neptune-ml/1", "task": "node_regression", "property": "score", "mode": "transductive"}


def test_transductive_answers_come_from_the_precomputed_predictions(endpoint):
    url, _, model_dir = endpoint
    status, body = invoke(url, {**REQUEST, "nodes": ["u3", "u1"]})
    assert status == 200
    values = np.load(model_dir / "predictions" / "user.npz")["value"]
    assert [p["id"] for p in body["predictions"]] == ["u3", "u1"]
    assert body["predictions"][0]["results"] == [{"value": pytest.approx(float(values[3]), abs=1e-5), "score": None}]


def test_inductive_answer_for_a_new_vertex_uses_its_sent_neighbourhood(endpoint):
    url, data, _ = endpoint
    item_x = np.load(data / "nodes" / "item.npz")["features"]
    good = [int(i) for i in np.argsort(-item_x[:, 0])[:5]]
    bad = [int(i) for i in np.argsort(item_x[:, 0])[:5]]

    def ask(items: list[int]) -> float:
        graph = {"vertices": [{"id": "new-user", "label": "user", "properties": {"traits": "0.1;-0.2;0.3;0.0"}}]
                 + [{"id": f"i{i}", "label": "item", "properties": {}} for i in items],
                 "edges": [{"id": f"n{i}", "label": "rates", "from": "new-user", "to": f"i{i}",
                            "properties": {"weights": "0.5;0.5"}}
                           for i in items]}
        status, body = invoke(url, {**REQUEST, "mode": "inductive", "nodes": ["new-user"], "graph": graph})
        assert status == 200, body
        return body["predictions"][0]["results"][0]["value"]

    # the planted score is the mean quality of the rated items: the model must read it from the sent edges
    assert ask(good) > ask(bad) + 1.0


@pytest.mark.parametrize(("change", "message"), [
    ({"task": "node_class"}, "not this model's task"),
    ({"property": "age"}, "not this model's target"),
    ({"nodes": ["nobody"]}, "unknown user id 'nobody'"),
    ({"nodes": []}, "non-empty list"),
    ({"limit": 0}, "limit must be"),
    ({"mode": "inductive", "nodes": ["u1"]}, "inductive mode needs"),
])
def test_requests_the_model_cannot_answer_get_400_with_an_error(endpoint, change, message):
    url, _, _ = endpoint
    status, body = invoke(url, {**REQUEST, "nodes": ["u1"], **change})
    assert status == 400 and message in body["error"]


def test_link_prediction_ranks_new_tails_and_skips_the_edges_it_learnt(tmp_path):
    data = processed_data.planted(tmp_path / "d", "node_regression", users=60, items=30)
    metadata = json.loads((data / "metadata.json").read_text())
    metadata["target"] = {"kind": "edge", "type": "user__rates__item", "task": "link_predict", "property": None,
                          "classes": None}
    (data / "metadata.json").write_text(json.dumps(metadata))
    arrays = dict(np.load(data / "edges" / "user__rates__item.npz"))
    split = np.random.default_rng(0).random(len(arrays["src"]))
    arrays.update(train_mask=split < 0.8, val_mask=(split >= 0.8) & (split < 0.9), test_mask=split >= 0.9)
    np.savez(data / "edges" / "user__rates__item.npz", **arrays)
    run_training(data, {"num-epochs": "5"}, tmp_path / "model", None, lambda line: None)
    from containers.neptune_ml.inference import load

    engine = load(tmp_path / "model")
    answer = engine.answer({"task": "link_predict", "nodes": ["u0"], "limit": 30,
                            "link": {"relation": "rates", "direction": "out", "other_label": "item"}})
    tails = [r["value"] for r in answer["predictions"][0]["results"]]
    pairs = list(zip(arrays["src"], arrays["dst"], arrays["train_mask"], strict=True))
    learnt = {f"i{d}" for s, d, train in pairs if s == 0 and train}
    held_out = {f"i{d}" for s, d, train in pairs if s == 0 and not train} - learnt
    assert tails and not learnt & set(tails) and len(tails) == 30 - len(learnt)
    assert held_out <= set(tails)  # an edge the model never trained on can be predicted
    scores = [r["score"] for r in answer["predictions"][0]["results"]]
    assert scores == sorted(scores, reverse=True)
    heads = engine.answer({"task": "link_predict", "nodes": ["i0"], "link": {"relation": "rates", "direction": "in"}})
    assert heads["predictions"][0]["results"][0]["value"].startswith("u")


def test_transform_recomputes_predictions_on_new_data(planted_edges, tmp_path):
    data, model_dir, _, _ = planted_edges
    transform(data, model_dir, tmp_path / "out")
    assert (tmp_path / "out" / "model.tar.gz").is_file()
    before = np.load(model_dir / "predictions" / "user__rates__item.npz")["probs"]
    after = np.load(tmp_path / "out" / "predictions" / "user__rates__item.npz")["probs"]
    assert np.allclose(before, after, atol=1e-5)
    grown = processed_data.planted(tmp_path / "grown", "edge_class", users=50, items=20, seed=1)
    transform(grown, model_dir, tmp_path / "grown-out")
    assert np.load(tmp_path / "grown-out" / "predictions" / "user__rates__item.npz")["probs"].shape == (250, 2)
    with pytest.raises(ValueError, match="missing metadata.json"):
        transform(tmp_path / "nowhere", model_dir, tmp_path / "bad")
