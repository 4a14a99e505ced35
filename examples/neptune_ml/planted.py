"""A generated heterogeneous graph whose Neptune ML targets are known functions of the neighbourhood.

Two vertex types, ``user`` and ``item``, each with a ``feat`` vector (``;``-separated, one string property:
standard normal, ``DIM`` values) and a ``split`` property (``train``/``val``/``test``: the export's
``custom_split_property``, so the caller knows which answers are held out); two edge types:
every user ``follows`` exactly ``FOLLOWS`` other users and ``buys`` exactly ``BUYS`` items.

* Node regression target, on users: ``score(u) = mean over the items u buys of w·feat(item)``. A user's own
  features say nothing about it (they are drawn independently), so a model on the user's features alone
  does no better than the mean; a GNN that aggregates the ``buys`` neighbours can recover it.
* Edge classification target, on ``buys`` edges: ``kind = "high"`` when ``m(u) + r·feat(item) > 0``, else
  ``"low"``, where ``m(u)`` is the mean of ``q·feat(v)`` over the users ``v`` that ``u`` follows. It depends
  on both ends, and most of it on the user's neighbourhood (``m`` has variance 1, ``r·feat(item)`` 0.25):
  a model on the two ends' own features sees only the item's part and is right about 65 % of the time.

Everything is drawn from one seeded generator: the same seed gives the same graph.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

DIM = 6
FOLLOWS = 4
BUYS = 3
#: the Neptune ML export's targets and features for the two tasks (``split`` is mlharbor's custom_split_property)
FEATURES = [{"node": "user", "property": "feat", "type": "numerical", "norm": "none", "separator": ";"},
            {"node": "item", "property": "feat", "type": "numerical", "norm": "none", "separator": ";"}]
REGRESSION_TARGETS = [{"node": "user", "property": "score", "type": "regression", "custom_split_property": "split"}]
REGRESSION_FEATURES = [*FEATURES, {"edge": ["user", "buys", "item"], "property": "kind", "type": "none"},
                       {"edge": ["user", "buys", "item"], "property": "split", "type": "none"}]
EDGE_TARGETS = [{"edge": ["user", "buys", "item"], "property": "kind", "type": "classification",
                 "custom_split_property": "split"}]
EDGE_FEATURES = [*FEATURES, {"node": "user", "property": "score", "type": "none"},
                 {"node": "user", "property": "split", "type": "none"}]
#: small HPO ranges: the signal is one hop away, a few hundred vertices
HPO = {"num-hidden": [32, 64], "num-epochs": [150, 150], "lr": [0.01, 0.02], "dropout": [0.0, 0.0],
       "weight-decay": [0.0, 0.0]}
#: the share of users (for the regression) and of buys edges (for the classification) in train/val/test
SPLIT = (0.7, 0.1, 0.2)


@dataclass(frozen=True)
class PlantedGraph:
    user_ids: list[str]
    item_ids: list[str]
    user_feat: np.ndarray          # [users, DIM]
    item_feat: np.ndarray          # [items, DIM]
    follows: list[tuple[int, int]]   # (user, user) index pairs
    buys: list[tuple[int, int]]      # (user, item) index pairs
    score: np.ndarray              # [users] regression target
    kind: list[str]                # per buys edge: "high" | "low"
    user_split: list[str]
    buys_split: list[str]

    def buys_ids(self) -> list[str]:
        return [f"buys:{self.user_ids[u]}:{self.item_ids[i]}" for u, i in self.buys]


def _splits(count: int, rng: np.random.Generator) -> list[str]:
    order = rng.permutation(count)
    train_end, val_end = int(SPLIT[0] * count), int((SPLIT[0] + SPLIT[1]) * count)
    names = np.empty(count, dtype=object)
    names[order[:train_end]], names[order[train_end:val_end]], names[order[val_end:]] = "train", "val", "test"
    return list(names)


def generate(users: int = 600, items: int = 300, seed: int = 0) -> PlantedGraph:
    rng = np.random.default_rng(seed)
    user_feat = rng.standard_normal((users, DIM))
    item_feat = rng.standard_normal((items, DIM))
    follows = [(u, int(v)) for u in range(users)
               for v in rng.choice(np.delete(np.arange(users), u), FOLLOWS, replace=False)]
    buys = [(u, int(i)) for u in range(users) for i in rng.choice(items, BUYS, replace=False)]
    w, q, r = (rng.standard_normal(DIM) for _ in range(3))
    w, q, r = w / np.linalg.norm(w), q / np.linalg.norm(q), r / np.linalg.norm(r)
    item_value = item_feat @ w
    score = np.array([item_value[[i for _, i in buys[u * BUYS:(u + 1) * BUYS]]].mean() for u in range(users)])
    # m(u): mean of q·feat over the FOLLOWS users u follows, scaled to variance 1
    followed = user_feat @ q
    m = np.array([followed[[v for _, v in follows[u * FOLLOWS:(u + 1) * FOLLOWS]]].mean() for u in range(users)])
    m *= np.sqrt(FOLLOWS)
    kind = ["high" if m[u] + 0.5 * float(item_feat[i] @ r) > 0 else "low" for u, i in buys]
    return PlantedGraph([f"u{n}" for n in range(users)], [f"i{n}" for n in range(items)], user_feat, item_feat,
                        follows, buys, 10.0 * score, kind, _splits(users, rng), _splits(len(buys), rng))


def _vector(values: np.ndarray) -> str:
    return ";".join(f"{value:.5f}" for value in values)


def bulk_load_files(graph: PlantedGraph) -> dict[str, str]:
    """``{file name: CSV text}`` for Neptune's ``/loader``: one vertex and one edge file per type."""
    def table(header: list[str], rows: list[list[str]]) -> str:
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return text.getvalue()

    users = table(["~id", "~label", "feat:String(single)", "score:Double(single)", "split:String(single)"],
                  [[uid, "user", _vector(graph.user_feat[n]), f"{graph.score[n]:.6f}", graph.user_split[n]]
                   for n, uid in enumerate(graph.user_ids)])
    items = table(["~id", "~label", "feat:String(single)"],
                  [[iid, "item", _vector(graph.item_feat[n])] for n, iid in enumerate(graph.item_ids)])
    follows = table(["~id", "~from", "~to", "~label"],
                    [[f"follows:{graph.user_ids[u]}:{graph.user_ids[v]}", graph.user_ids[u], graph.user_ids[v],
                      "follows"] for u, v in graph.follows])
    buys = table(["~id", "~from", "~to", "~label", "kind:String", "split:String"],
                 [[eid, graph.user_ids[u], graph.item_ids[i], "buys", kind, split]
                  for eid, (u, i), kind, split in zip(graph.buys_ids(), graph.buys, graph.kind, graph.buys_split,
                                                      strict=True)])
    return {"user-vertices.csv": users, "item-vertices.csv": items, "follows-edges.csv": follows,
            "buys-edges.csv": buys}


def feature_only_baselines(graph: PlantedGraph) -> tuple[float, float]:
    """(test RMSE of a ridge regression of ``score`` on the user's own features, test accuracy of a logistic
    regression of ``kind`` on the two ends' own features), trained on the train split as the GNN is."""
    from sklearn.linear_model import LogisticRegression, Ridge

    train = np.array([s == "train" for s in graph.user_split])
    test = np.array([s == "test" for s in graph.user_split])
    ridge = Ridge(alpha=1.0).fit(graph.user_feat[train], graph.score[train])
    rmse = float(np.sqrt(np.mean((ridge.predict(graph.user_feat[test]) - graph.score[test]) ** 2)))
    ends = np.array([np.concatenate([graph.user_feat[u], graph.item_feat[i]]) for u, i in graph.buys])
    labels = np.array(graph.kind)
    edge_train = np.array([s == "train" for s in graph.buys_split])
    edge_test = np.array([s == "test" for s in graph.buys_split])
    logistic = LogisticRegression(max_iter=1000).fit(ends[edge_train], labels[edge_train])
    accuracy = float((logistic.predict(ends[edge_test]) == labels[edge_test]).mean())
    return rmse, accuracy
