"""The reference for the gnn overhead benchmark: the same GCN training as ``mlharbor/gnn``, as a bare
PyTorch Geometric script (no job, no graph server, no checkpoints, no log shipping).

Reads graph-etl's outputs from local files: ``features.csv``/``labels.csv``/``splits.csv``/``meta.json``
in ``--features`` and the Neptune edge CSV ``--edges``. Prints ``train_seconds=`` and ``test_acc=``.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch_geometric.nn import GCNConv


class Net(torch.nn.Module):
    def __init__(self, features: int, classes: int) -> None:
        super().__init__()
        self.conv1, self.conv2 = GCNConv(features, 16), GCNConv(16, classes)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        x = F.dropout(x, 0.5, self.training)
        x = F.dropout(torch.relu(self.conv1(x, edge_index)), 0.5, self.training)
        return self.conv2(x, edge_index)


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--edges", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    meta = json.loads((args.features / "meta.json").read_text())
    labels = rows(args.features / "labels.csv")
    index = {row["node_id"]: i for i, row in enumerate(labels)}
    y = torch.tensor([int(row["label"]) for row in labels])
    x = torch.zeros(len(labels), meta["num_features"])
    for row in rows(args.features / "features.csv"):
        x[index[row["node_id"]], int(row["index"])] = float(row["value"])
    x = x / x.sum(1, keepdim=True).clamp(min=1e-12)
    split = {row["node_id"]: row["split"] for row in rows(args.features / "splits.csv")}
    masks = {name: torch.tensor([split[node] == name for node in index]) for name in ("train", "val", "test")}
    pairs = {(index[r["~from"]], index[r["~to"]]) for r in rows(args.edges)}
    pairs |= {(t, s) for s, t in pairs}
    edge_index = torch.tensor(sorted(pairs)).t().contiguous()

    model = Net(x.size(1), len(meta["classes"]))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    best_val, best_state = -1.0, None
    started = time.perf_counter()
    epoch_seconds = []
    for epoch in range(1, args.epochs + 1):
        epoch_started = time.perf_counter()
        model.train()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x, edge_index)[masks["train"]], y[masks["train"]])
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            logits = model(x, edge_index)
        val_acc = float((logits[masks["val"]].argmax(1) == y[masks["val"]]).float().mean())
        if val_acc > best_val:
            best_val, best_state = val_acc, {k: v.clone() for k, v in model.state_dict().items()}
        print(f"epoch={epoch} train_loss={float(loss.detach()):.4f} val_acc={val_acc:.4f}", flush=True)
        epoch_seconds.append(time.perf_counter() - epoch_started)
    train_seconds = time.perf_counter() - started
    model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        pred = model(x, edge_index).argmax(1)
    print(f"train_seconds={train_seconds:.4f} epoch_seconds_median={statistics.median(epoch_seconds):.5f} "
          f"epoch_seconds_min={min(epoch_seconds):.5f}")
    print(f"test_acc={float((pred[masks['test']] == y[masks['test']]).float().mean()):.4f}")


if __name__ == "__main__":
    main()
