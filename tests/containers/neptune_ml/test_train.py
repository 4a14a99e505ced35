"""The Neptune ML trainer without a server: graph loading, the models, hyperparameters, checkpoints and resume,
the model directory, and accuracy (the planted graph here; Cora, marked slow, in test_train_cora.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import processed_data
import pytest
import torch

from containers.neptune_ml import graph as graph_module
from containers.neptune_ml.hyperparameters import parse
from containers.neptune_ml.models import ModelShape, build_model
from containers.neptune_ml.models.decoders import score, score_candidates
from containers.neptune_ml.models.rgcn import RelGraphConv
from containers.neptune_ml.tasks import auc_score
from containers.neptune_ml.train import CHECKPOINT_PREFIX, run_training


def test_graph_adds_a_reverse_relation_per_stored_edge_type(tmp_path):
    graph = graph_module.load(processed_data.planted(tmp_path / "d", "node_regression", users=20, items=10))
    relations = graph.relation_types()
    assert ("item", "rev-rates", "user") in relations and ("user", "rev-follows", "user") in relations
    edges = graph.message_edges()
    rates = graph.edges[("user", "rates", "item")]
    assert torch.equal(edges[("item", "rev-rates", "user")], rates.edge_index.flip(0))
    undirected = graph.message_edges(undirected=True)
    assert ("user", "rev-follows", "user") not in undirected and undirected[("user", "follows", "user")].size(1) == 120
    assert graph.nodes["user"].labels.dtype == torch.float32 and graph.nodes["user"].masks["train"].dtype == torch.bool


def test_graph_errors_name_the_file(tmp_path):
    with pytest.raises(graph_module.GraphError, match="missing metadata.json"):
        graph_module.load(tmp_path)
    data = processed_data.planted(tmp_path / "d", "node_regression", users=20, items=10)
    arrays = dict(np.load(data / "edges" / "user__rates__item.npz"))
    arrays["dst"][0] = 999
    np.savez(data / "edges" / "user__rates__item.npz", **arrays)
    with pytest.raises(graph_module.GraphError, match="outside node type 'item'"):
        graph_module.load(data)


def test_rgcn_layer_is_the_mean_per_relation_plus_self_loop_and_bases_share_weights():
    relations = [("p", "c", "p"), ("p", "rev-c", "p")]
    conv = RelGraphConv(3, 2, relations, num_bases=0, self_loop=True)
    h = {"p": torch.randn(4, 3)}
    index = torch.tensor([[0, 1, 2], [3, 3, 0]])
    out = conv(h, {relations[0]: index, relations[1]: index.flip(0)})["p"]
    w_c = conv.weight[0]
    expected = conv.self_loop(h["p"][3]) + (h["p"][0] + h["p"][1]) @ w_c / 2 + conv.bias
    assert torch.allclose(out[3], expected, atol=1e-6)
    based = RelGraphConv(3, 2, relations * 2 + [("p", "x", "p")], num_bases=2)
    assert based.use_bases and based.bases.shape == (2, 3, 2) and based.coefficients.shape == (5, 2)


def test_decoders_score_pairs_and_candidates_alike():
    head, tail, relation = torch.randn(3, 8), torch.randn(5, 8), torch.randn(8)
    for decoder, rel in (("distmult", relation), ("transe", relation), ("rotate", torch.randn(4))):
        every = score_candidates(decoder, head, rel, tail, True)
        assert every.shape == (3, 5)
        assert torch.allclose(every[1, 2], score(decoder, head[1], rel, tail[2]), atol=1e-5)
    assert torch.allclose(score("transe", torch.ones(2), torch.ones(2), 2 * torch.ones(2), gamma=1.0),
                          torch.tensor(1.0))
    assert auc_score(torch.tensor([3.0, 2.0]), torch.tensor([1.0, 2.0])) == pytest.approx(0.875)


def test_hyperparameters_take_neptunes_names_and_ignore_unknown_ones():
    parsed = parse({"num-hidden": "32", "use-self-loop": "false", "lr": "0.05", "num-epochs": "10.0",
                    "fanout": "5", "sagemaker_region": "us-east-1"})
    assert parsed.values["num-hidden"] == 32 and parsed.values["self-loop"] is False
    assert parsed.values["num-epochs"] == 10 and parsed.ignored == ["fanout"]
    with pytest.raises(ValueError, match="dropout must be in"):
        parse({"dropout": "1.5"})
    with pytest.raises(ValueError, match="num-hidden='many' is not a valid int"):
        parse({"num-hidden": "many"})


def test_build_model_checks_task_and_model():
    shape = ModelShape({"p": 3}, {"p": 4}, [("p", "c", "p")], link_keys=("p__c__p",))
    hp = parse({}).values
    with pytest.raises(ValueError, match="only does link_predict"):
        build_model("node_class", "transe", shape, hp)
    with pytest.raises(ValueError, match="unknown model 'gat'"):
        build_model("node_class", "gat", shape, hp)


def test_planted_regression_beats_the_feature_only_baseline(planted_regression):
    data, model_dir, graph_run, baseline = planted_regression
    rgcn, features_only = graph_run.metrics["test"]["rmse"], baseline.metrics["test"]["rmse"]
    print(f"planted node regression test rmse: R-GCN {rgcn:.3f}, feature-only {features_only:.3f}")
    assert rgcn < 0.5 * features_only  # the score is a function of the neighbours: features alone cannot see it


def test_planted_edge_classification_beats_the_feature_only_baseline(planted_edges):
    data, model_dir, graph_run, baseline = planted_edges
    rgcn, features_only = graph_run.metrics["test"]["acc"], baseline.metrics["test"]["acc"]
    print(f"planted edge classification test acc: R-GCN {rgcn:.3f}, feature-only {features_only:.3f}")
    assert rgcn >= features_only + 0.15 and rgcn >= 0.9


def test_model_dir_is_self_contained_in_neptunes_layout(planted_edges):
    data, model_dir, graph_run, _ = planted_edges
    config = json.loads((model_dir / "model_config.json").read_text())
    assert config["task"] == "edge_class" and config["model"] == "rgcn" and config["format"] == "mlharbor-neptune-ml/1"
    assert config["target"]["type"] == "user__rates__item" and config["hyperparameters"]["num-hidden"] == 32
    info = json.loads((model_dir / "eval_metrics_info.json").read_text())
    assert info["edge_class"]["acc"]["test"] == pytest.approx(graph_run.metrics["test"]["acc"], abs=1e-5)
    probs = np.load(model_dir / "predictions" / "user__rates__item.npz")["probs"]
    assert probs.shape == (2000, 2) and np.allclose(probs.sum(1), 1.0, atol=1e-5)
    assert (model_dir / "graph" / "metadata.json").is_file() and (model_dir / "graph" / "nodes" / "user.npz").is_file()


@pytest.mark.parametrize("model", ["transe", "distmult", "rotate"])
def test_kge_models_learn_links(tmp_path, model):
    data = processed_data.cora(tmp_path / "d", "link_predict")
    metadata = json.loads((data / "metadata.json").read_text())
    metadata["model_type"] = "kge"
    (data / "metadata.json").write_text(json.dumps(metadata))
    result = run_training(data, {"model": model, "num-epochs": "30", "lr": "0.05", "hidden-dim-kge": "32",
                                 "num-negs": "2"}, tmp_path / "model", None, lambda line: None)
    assert result.metrics["test"]["auc"] > 0.6, result.metrics
    embeddings = np.load(tmp_path / "model" / "predictions" / "embeddings" / "paper.npy")
    relations = np.load(tmp_path / "model" / "predictions" / "relations.npz")
    assert embeddings.shape == (2708, 32) and relations["paper__cites__paper"].shape == ((16,) if model == "rotate"
                                                                                         else (32,))


def test_a_stopped_job_resumes_from_its_checkpoint_to_the_same_model(tmp_path):
    data = processed_data.planted(tmp_path / "d", "node_regression", users=60, items=30)
    hp = {"num-epochs": "12", "checkpoint-every": "4", "dropout": "0.3", "early-stop": "false"}
    whole = run_training(data, hp, tmp_path / "whole", None, lambda line: None)
    checkpoints = tmp_path / "checkpoints"
    run_training(data, {**hp, "num-epochs": "8"}, tmp_path / "first", checkpoints, lambda line: None)
    assert sorted(p.name for p in checkpoints.iterdir()) == [f"{CHECKPOINT_PREFIX}000004.pt",
                                                             f"{CHECKPOINT_PREFIX}000008.pt"]
    lines: list[str] = []
    resumed = run_training(data, hp, tmp_path / "second", checkpoints, lines.append)
    assert any("resuming from nml-000008.pt" in line for line in lines)
    assert resumed.first_epoch == 9 and resumed.epochs_run == 4
    assert resumed.metrics["test"]["rmse"] == pytest.approx(whole.metrics["test"]["rmse"], rel=1e-6)
    with pytest.raises(ValueError, match="belongs to another set-up"):
        run_training(data, {**hp, "lr": "0.1"}, tmp_path / "third", checkpoints, lambda line: None)


def test_train_program_prints_metrics_and_writes_failure(tmp_path):
    data = processed_data.planted(tmp_path / "d", "edge_class", users=60, items=30)
    base = tmp_path / "opt"
    (base / "input" / "config").mkdir(parents=True)
    (base / "input" / "config" / "hyperparameters.json").write_text(json.dumps({"num-epochs": "3", "fanout": "4"}))
    env = {"SAGEMAKER_BASE_DIR": str(base), "SM_CHANNEL_GRAPH": str(data), "SM_MODEL_DIR": str(base / "model"),
           "PATH": "/usr/bin:/bin", "PYTHONPATH": str(processed_data.Path(__file__).resolve().parents[3])}
    done = subprocess.run([sys.executable, "-m", "containers.neptune_ml.train"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "epoch=3 train_loss=" in done.stdout and "validation:acc=" in done.stdout
    assert "test:acc=" in done.stdout and "ignoring hyperparameter fanout" in done.stdout
    assert (base / "model" / "model.pt").is_file()
    env["SM_CHANNEL_GRAPH"] = str(tmp_path / "nothing")
    failed = subprocess.run([sys.executable, "-m", "containers.neptune_ml.train"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert failed.returncode == 1 and "missing metadata.json" in (base / "output" / "failure").read_text()
