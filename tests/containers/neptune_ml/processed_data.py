"""Test-only writers of processed Neptune ML data (contract section 3), so the trainer's tests need no processing job.

- :func:`cora`: ``../shared/datasets/cora`` as processing writes it: type ``paper`` (1433-dim bag of words),
  edges ``paper__cites__paper``; target node_class on the Planetoid split, or link_predict on an 85/5/10 edge split.
- :func:`planted`: two node types and two edge types where the target is a known function of the neighbours:
  ``user.score`` = mean of the rated items' ``quality`` (first feature) + small noise (node_regression), and
  ``rates.liked`` = whether the rated item's quality exceeds the mean quality of the items the user's followees
  rate (edge_class). A user's or an edge's own features say nothing about either.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

CORA = Path(__file__).resolve().parents[4] / "shared" / "datasets" / "cora"
if not CORA.is_dir():
    CORA = Path("/work/shared/datasets/cora")
SPLIT_NAMES = ("train", "val", "test")


def write(directory: Path, metadata: dict[str, Any], nodes: dict[str, tuple[list[str], dict[str, np.ndarray]]],
          edges: dict[str, tuple[list[str], dict[str, np.ndarray]]], transforms: dict[str, Any] | None = None) -> Path:
    (directory / "nodes").mkdir(parents=True, exist_ok=True)
    (directory / "edges").mkdir(parents=True, exist_ok=True)
    for name, (ids, arrays) in nodes.items():
        (directory / "nodes" / f"{name}.ids.json").write_text(json.dumps(ids))
        np.savez(directory / "nodes" / f"{name}.npz", **arrays)
    for key, (ids, arrays) in edges.items():
        (directory / "edges" / f"{key}.ids.json").write_text(json.dumps(ids))
        np.savez(directory / "edges" / f"{key}.npz", **arrays)
    metadata = {"format": "mlharbor-neptune-ml/1", "seed": 0, **metadata}
    (directory / "metadata.json").write_text(json.dumps(metadata, indent=1))
    (directory / "feature_transforms.json").write_text(json.dumps(transforms or {"nodes": {}, "edges": {}}))
    return directory


def _masks(splits: list[str]) -> dict[str, np.ndarray]:
    return {f"{name}_mask": np.array([s == name for s in splits]) for name in SPLIT_NAMES}


def cora(directory: Path, task: str = "node_class", seed: int = 0) -> Path:
    with open(CORA / "nodes.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    ids = [row["node_id"] for row in rows]
    index = {node: i for i, node in enumerate(ids)}
    features = np.zeros((len(rows), 1433), dtype=np.float32)
    for i, row in enumerate(rows):
        features[i, [int(word) for word in row["features"].split()]] = 1.0
    with open(CORA / "edges.csv", newline="") as handle:
        pairs = [(index[row["source"]], index[row["target"]]) for row in csv.DictReader(handle)]
    src = np.array([a for a, _ in pairs], dtype=np.int64)
    dst = np.array([b for _, b in pairs], dtype=np.int64)
    edge_ids = [f"e{i}" for i in range(len(pairs))]
    classes = sorted({row["label"] for row in rows})
    paper: dict[str, np.ndarray] = {"features": features}
    cites: dict[str, np.ndarray] = {"src": src, "dst": dst, "features": np.zeros((len(src), 0), np.float32)}
    if task == "node_class":
        paper["labels"] = np.array([classes.index(row["label"]) for row in rows], dtype=np.int64)
        paper.update(_masks([row["split"] for row in rows]))
        target = {"kind": "node", "type": "paper", "property": "subject", "task": "node_class", "classes": classes,
                  "split_rate": None, "custom_split_property": "split"}
    else:
        order = np.random.default_rng(seed).permutation(len(src))
        splits = np.array(["train"] * len(src), dtype=object)
        splits[order[: int(0.05 * len(src))]] = "val"
        splits[order[int(0.05 * len(src)): int(0.15 * len(src))]] = "test"
        cites.update(_masks(list(splits)))
        target = {"kind": "edge", "type": "paper__cites__paper", "property": None, "task": "link_predict",
                  "classes": None, "split_rate": [0.85, 0.05, 0.1], "custom_split_property": None}
    metadata = {"model_type": "heterogeneous", "node_types": {"paper": {"count": len(ids), "feature_dim": 1433}},
                "edge_types": [{"key": "paper__cites__paper", "src": "paper", "relation": "cites", "dst": "paper",
                                "count": len(src), "feature_dim": 0}], "target": target}
    return write(directory, metadata, {"paper": (ids, paper)}, {"paper__cites__paper": (edge_ids, cites)})


def _random_splits(rng: np.random.Generator, count: int, rate: tuple[float, float, float]) -> list[str]:
    draws = rng.random(count)
    return ["train" if d < rate[0] else "val" if d < rate[0] + rate[1] else "test" for d in draws]


def planted(directory: Path, task: str, users: int = 400, items: int = 200, seed: int = 0) -> Path:
    """The planted graph with target ``node_regression`` (user.score) or ``edge_class`` (rates.liked)."""
    rng = np.random.default_rng(seed)
    user_x = rng.normal(size=(users, 4)).astype(np.float32)
    item_x = rng.normal(size=(items, 4)).astype(np.float32)
    quality = item_x[:, 0]
    rate_src = np.repeat(np.arange(users), 5)
    rate_dst = rng.integers(0, items, size=len(rate_src))
    follow_src = np.repeat(np.arange(users), 3)
    follow_dst = (follow_src + rng.integers(1, users, size=len(follow_src))) % users
    mean_rated = np.zeros(users)
    np.add.at(mean_rated, rate_src, quality[rate_dst])
    mean_rated /= 5
    user_ids, item_ids = [f"u{i}" for i in range(users)], [f"i{i}" for i in range(items)]
    user: dict[str, np.ndarray] = {"features": user_x}
    rates: dict[str, np.ndarray] = {"src": rate_src, "dst": rate_dst,
                                    "features": rng.normal(size=(len(rate_src), 2)).astype(np.float32)}
    follows = {"src": follow_src, "dst": follow_dst, "features": np.zeros((len(follow_src), 0), np.float32)}
    if task == "node_regression":
        score = (mean_rated + 0.05 * rng.normal(size=users)).astype(np.float32)
        user["labels"] = score
        user.update(_masks(_random_splits(rng, users, (0.6, 0.2, 0.2))))
        target = {"kind": "node", "type": "user", "property": "score", "task": "node_regression", "classes": None,
                  "label_mean": float(score.mean()), "label_std": float(score.std()), "split_rate": [0.6, 0.2, 0.2],
                  "custom_split_property": None}
    else:
        followee_mean = np.zeros(users)
        np.add.at(followee_mean, follow_src, mean_rated[follow_dst])
        followee_mean /= 3
        liked = (quality[rate_dst] > followee_mean[rate_src]).astype(np.int64)
        rates["labels"] = liked
        rates.update(_masks(_random_splits(rng, len(rate_src), (0.6, 0.2, 0.2))))
        target = {"kind": "edge", "type": "user__rates__item", "property": "liked", "task": "edge_class",
                  "classes": ["0", "1"], "split_rate": [0.6, 0.2, 0.2], "custom_split_property": None}
    metadata = {"model_type": "heterogeneous",
                "node_types": {"user": {"count": users, "feature_dim": 4}, "item": {"count": items, "feature_dim": 4}},
                "edge_types": [{"key": "user__rates__item", "src": "user", "relation": "rates", "dst": "item",
                                "count": len(rate_src), "feature_dim": 2},
                               {"key": "user__follows__user", "src": "user", "relation": "follows", "dst": "user",
                                "count": len(follow_src), "feature_dim": 0}],
                "target": target}
    return write(directory, metadata, {"user": (user_ids, user), "item": (item_ids, {"features": item_x})},
                 {"user__rates__item": ([f"r{i}" for i in range(len(rate_src))], rates),
                  "user__follows__user": ([f"f{i}" for i in range(len(follow_src))], follows)})
