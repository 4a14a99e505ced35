"""Accuracy of the trainer alone on Cora (``../shared/datasets/cora``), each run once (slow).

Node classification on the Planetoid split with the 1433-dim bag of words row-normalised as GCN does: test accuracy
>= 80.5 % (GCN, Kipf & Welling 2017: 81.5 %). Link prediction on an 85/5/10 edge split: test AUC >= 0.90 (GAE,
Kipf & Welling 2016: 0.910). Cora's edge list stores each citation with the larger node index first, so its
direction carries no meaning: both runs use ``undirected`` (one relation carrying both directions).
"""

from __future__ import annotations

import processed_data
import pytest

from containers.neptune_ml.train import run_training

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cora_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cora")
    runs = {}
    node_data = processed_data.cora(root / "node", "node_class")
    runs["node_class"] = run_training(node_data, {"undirected": "true"}, root / "node-model", None, lambda line: None)
    link_data = processed_data.cora(root / "link", "link_predict")
    runs["link_predict"] = run_training(link_data, LINK_HP, root / "link-model", None, lambda line: None)
    return runs


#: One R-GCN layer over the raw features (GAE's encoder is two GCN layers; here one layer ranks better).
LINK_HP = {"undirected": "true", "layers": "1", "num-hidden": "32", "dropout": "0", "weight-decay": "0",
           "num-epochs": "200"}


def test_cora_node_classification_reaches_gcn_accuracy(cora_runs):
    accuracy = cora_runs["node_class"].metrics["test"]["acc"]
    print(f"Cora node classification test accuracy {accuracy:.4f}")
    assert accuracy >= 0.805


def test_cora_link_prediction_auc(cora_runs):
    auc = cora_runs["link_predict"].metrics["test"]["auc"]
    print(f"Cora link prediction test AUC {auc:.4f}")
    assert auc >= 0.90
