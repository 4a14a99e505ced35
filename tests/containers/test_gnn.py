"""mlharbor/gnn without a server: model shapes and checks, hyperparameters, checkpoint resume
(bit-identical to an uninterrupted run), the model directory and the serving predictor."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from containers.contract import checkpoints
from containers.gnn import data
from containers.gnn.config import TrainConfig, from_hyperparameters
from containers.gnn.models import GAT, GCN, GraphSAGE, build_model
from containers.gnn.serve import load
from containers.gnn.train import CHECKPOINT_PREFIX, save_model, train
from containers.serving import InvocationError


@pytest.mark.parametrize(("name", "cls", "text"), [
    ("gcn", GCN, "GCN(12, 16, 3, dropout=0.5)"),
    ("gat", GAT, "GAT(12, 8x8, 3, dropout=0.6)"),
    ("graphsage", GraphSAGE, "GraphSAGE(12, 16, 3, dropout=0.5)"),
])
def test_models_map_nodes_to_class_logits(name, cls, text):
    sizes = {"hidden_channels": 8, "heads": 8, "dropout": 0.6} if name == "gat" else {"hidden_channels": 16}
    model = build_model(name, 12, 3, **sizes)
    assert isinstance(model, cls) and repr(model) == text
    x, edge_index = torch.randn(5, 12), torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    assert model(x, edge_index).shape == (5, 3)


def test_model_arguments_are_checked():
    with pytest.raises(ValueError, match="unknown model 'gin'"):
        build_model("gin", 4, 2)
    with pytest.raises(ValueError, match="GAT: heads must be >= 1"):
        GAT(4, 2, heads=0)
    with pytest.raises(ValueError, match="GCN: dropout"):
        GCN(4, 2, dropout=1.0)


def test_hyperparameters_take_the_models_published_defaults():
    gat = from_hyperparameters({"model": "gat"})
    assert (gat.hidden, gat.heads, gat.dropout, gat.lr, gat.weight_decay, gat.epochs) == (8, 8, 0.6, 0.005, 5e-4, 200)
    gcn = from_hyperparameters({"model": '"gcn"', "epochs": "50", "normalize_features": "false",
                                "sagemaker_region": "us-east-1"})
    assert (gcn.hidden, gcn.dropout, gcn.lr, gcn.epochs, gcn.normalize_features) == (16, 0.5, 0.01, 50, False)
    with pytest.raises(ValueError, match="unknown hyperparameters \\['epoch'\\]"):
        from_hyperparameters({"epoch": "3"})
    with pytest.raises(ValueError, match="hyperparameter lr='fast' is not a valid float"):
        from_hyperparameters({"lr": "fast"})


def write_toy_channel(directory: Path, nodes: int = 60, seed: int = 0) -> list[tuple[str, str]]:
    """Two communities whose features hint at the class: graph-etl's files plus the edge list."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    labels = [node % 2 for node in range(nodes)]
    splits = ["train" if node < 20 else "val" if node < 40 else "test" for node in range(nodes)]
    (directory / "labels.csv").write_text("node_id,label\n" + "".join(f"n{i},{labels[i]}\n" for i in range(nodes)))
    (directory / "splits.csv").write_text("node_id,split\n" + "".join(f"n{i},{splits[i]}\n" for i in range(nodes)))
    rows = [f"n{i},{labels[i] * 3 + rng.randrange(3)},1.0\n" for i in range(nodes)]
    rows += [f"n{i},{rng.randrange(6)},1.0\n" for i in range(nodes)]
    (directory / "features.csv").write_text("node_id,index,value\n" + "".join(sorted(set(rows))))
    (directory / "meta.json").write_text(json.dumps({"num_features": 6, "classes": ["a", "b"],
                                                     "edge_label": "link"}))
    edges = []
    for _ in range(nodes * 3):
        a, b = rng.randrange(nodes), rng.randrange(nodes)
        if labels[a] == labels[b] or rng.random() < 0.1:
            edges.append((f"n{a}", f"n{b}"))
    return edges


@pytest.fixture
def toy_graph(tmp_path):
    edges = write_toy_channel(tmp_path / "channel")
    return data.load_graph(tmp_path / "channel", lambda: edges + [("n1", "elsewhere")])


def test_the_toy_graph_loads_as_tensors(toy_graph):
    assert toy_graph.nodes.x.shape == (60, 6) and toy_graph.skipped_edges == 1
    assert torch.allclose(toy_graph.nodes.x.sum(dim=1), torch.ones(60))  # row-normalised
    assert toy_graph.nodes.masks["train"].sum() == 20
    assert (toy_graph.edge_index[0] != toy_graph.edge_index[1]).any()


def newest(directory):
    return checkpoints.checkpoint_epochs(directory, CHECKPOINT_PREFIX)[0][1]


def test_a_damaged_newest_checkpoint_is_skipped_and_the_one_before_resumed(tmp_path, toy_graph):
    train(TrainConfig(epochs=6, checkpoint_every=3), toy_graph, tmp_path, lambda line: None)
    assert not list(tmp_path.glob("*.tmp"))  # written under a temporary name, renamed into place
    newest(tmp_path).write_bytes(b"cut off by a copy taken mid-write")
    lines: list[str] = []
    resumed = train(TrainConfig(epochs=6, checkpoint_every=3), toy_graph, tmp_path, lines.append)
    assert lines[0].startswith("skipping checkpoint checkpoint-000006.pt")
    assert lines[1] == "resuming from checkpoint-000003.pt (epoch 3)"
    assert resumed.first_epoch == 4


def test_a_resumed_run_ends_exactly_where_an_uninterrupted_one_does(tmp_path, toy_graph):
    lines: list[str] = []
    straight = train(TrainConfig(epochs=12, checkpoint_every=3), toy_graph, tmp_path / "a", lines.append)
    assert [line.split()[0] for line in lines] == [f"epoch={n}" for n in range(1, 13)]
    first = train(TrainConfig(epochs=6, checkpoint_every=3), toy_graph, tmp_path / "b", lambda line: None)
    assert first.first_epoch == 1 and newest(tmp_path / "b").name == "checkpoint-000006.pt"
    lines.clear()
    resumed = train(TrainConfig(epochs=12, checkpoint_every=3), toy_graph, tmp_path / "b", lines.append)
    assert lines[0] == "resuming from checkpoint-000006.pt (epoch 6)"
    assert lines[1].startswith("epoch=7 ")
    assert resumed.first_epoch == 7
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["checkpoint-000009.pt", "checkpoint-000012.pt"]
    with pytest.raises(ValueError, match="use a fresh checkpoint location"):
        train(TrainConfig(model="sage", epochs=13), toy_graph, tmp_path / "b", lambda line: None)


def test_the_saved_model_is_served_with_clear_errors(tmp_path, toy_graph):
    config = TrainConfig(epochs=40, checkpoint_every=0)
    result = train(config, toy_graph, None, lambda line: None)
    save_model(tmp_path / "model", result, config, toy_graph)
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["config.json", "features.pt", "model.pt"]
    edges = [(toy_graph.nodes.node_ids[s], toy_graph.nodes.node_ids[t]) for s, t in toy_graph.edge_index.t().tolist()]
    predictor = load(tmp_path / "model", edges=lambda: edges)
    body, content_type = predictor.predict(json.dumps({"node_ids": ["n3", "n0"]}).encode(), "application/json",
                                           "application/json")
    predictions = json.loads(body)["predictions"]
    assert content_type == "application/json" and [p["node_id"] for p in predictions] == ["n3", "n0"]
    expected = result.model(toy_graph.nodes.x, toy_graph.edge_index).argmax(dim=1)
    assert [p["class_index"] for p in predictions] == [int(expected[3]), int(expected[0])]
    assert predictions[0]["class"] == ["a", "b"][predictions[0]["class_index"]]
    assert abs(sum(predictions[0]["probabilities"]) - 1) < 1e-4
    with pytest.raises(InvocationError, match="2 unknown node id\\(s\\): 'zz', 'n999'") as caught:
        predictor.predict(b'{"node_ids": ["n1", "zz", "n999"]}', "application/json", "application/json")
    assert caught.value.status == 400
    for bad in (b"not json", b'{"node_ids": []}', b'{"ids": ["n1"]}', b'{"node_ids": [1]}'):
        with pytest.raises(InvocationError):
            predictor.predict(bad, "application/json", "application/json")
    with pytest.raises(InvocationError, match="not supported") as caught:
        predictor.predict(b"n1", "text/csv", "application/json")
    assert caught.value.status == 415


def test_missing_channel_files_say_what_is_expected(tmp_path):
    with pytest.raises(data.DataError, match="missing meta.json .* graph-etl features output"):
        data.load_graph(tmp_path, lambda: [])
    write_toy_channel(tmp_path / "c")
    with pytest.raises(data.DataError, match="no edges between the 60 nodes .* was the bulk load run"):
        data.load_graph(tmp_path / "c", lambda: [("x", "y")])
