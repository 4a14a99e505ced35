"""Fixtures of the Neptune ML trainer's tests: processed data written by ``processed_data.py`` (no processing job)
and models trained on it once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import processed_data  # noqa: E402

from containers.neptune_ml.train import run_training  # noqa: E402

#: The planted graph's trainer settings: small, no regularisation (the signal is exact), seconds on one core.
PLANTED = {"num-epochs": "150", "dropout": "0", "weight-decay": "0", "num-hidden": "32", "patience": "30"}


def train_pair(root: Path, task: str):
    data = processed_data.planted(root / "data", task)
    graph_run = run_training(data, PLANTED, root / "model", None, lambda line: None)
    baseline = run_training(data, {**PLANTED, "layers": "0"}, root / "baseline", None, lambda line: None)
    return data, root / "model", graph_run, baseline


@pytest.fixture(scope="session")
def planted_regression(tmp_path_factory):
    """user.score regression: (data dir, model dir, R-GCN result, feature-only result)."""
    return train_pair(tmp_path_factory.mktemp("planted-regression"), "node_regression")


@pytest.fixture(scope="session")
def planted_edges(tmp_path_factory):
    """rates.liked edge classification: (data dir, model dir, R-GCN result, feature-only result)."""
    return train_pair(tmp_path_factory.mktemp("planted-edges"), "edge_class")
