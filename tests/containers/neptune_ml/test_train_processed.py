"""The trainer, prepare and the endpoint's inductive path on the real data-processing program's output (nml-data's
``containers.neptune_ml.processing`` run on a small export), not on the test-only writer."""

from __future__ import annotations

import json

from test_processing import config, friend_entry, movie_entry, output, rated_entry, run_processing, user_entry

from containers.neptune_ml.inference import load
from containers.neptune_ml.prepare import prepare
from containers.neptune_ml.train import run_training


def test_processing_output_trains_prepares_and_answers_inductively(tmp_path):
    label = {"label": ["genre", "classification"], "split_rate": [0.34, 0.33, 0.33], "separator": ";"}
    done = run_processing(tmp_path, config([user_entry(), movie_entry(**label)], [rated_entry(), friend_entry()]))
    assert done.returncode == 0, done.stderr
    data = output(tmp_path)
    result = run_training(data, {"num-epochs": "5"}, tmp_path / "model", None, lambda line: None)
    assert set(result.metrics["val"]) == {"acc"}
    spec = prepare(data, tmp_path / "prepare", 2)
    assert spec["objective"]["MetricName"] == "validation:acc"
    engine = load(tmp_path / "model")
    graph = {"vertices": [{"id": "m9", "label": "movie", "properties": {"title": "Heat Again", "year": 2001}},
                          {"id": "u1", "label": "user", "properties": {}}],
             "edges": [{"id": "r9", "label": "rated", "from": "u1", "to": "m9", "properties": {"score": 4}}]}
    answer = engine.answer({"task": "node_class", "property": "genre", "mode": "inductive", "nodes": ["m9"],
                            "limit": 2, "graph": graph})
    results = answer["predictions"][0]["results"]
    assert len(results) == 2 and {r["value"] for r in results} <= set(json.loads(
        (data / "metadata.json").read_text())["target"]["classes"])
