"""The ``serve`` program of ``mlharbor/gnn``: node classes for ``POST /invocations``.

At load it rebuilds the model from the model directory (``config.json``, ``model.pt``,
``features.pt``, as :mod:`containers.gnn.train` wrote them) and reads the graph's topology from
the graph server over gremlinpython (``MLHARBOR_GRAPH_ENDPOINT``, else the training job's
``graph_endpoint``). A request ``{"node_ids": ["c1", …]}`` is answered with one prediction per id:

.. code-block:: json

    {"predictions": [{"node_id": "c1", "class": "4", "class_index": 4, "probabilities": [...]}]}

Unknown ids, an empty list or a body that is not that JSON get a 4xx with the reason.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from containers import contract
from containers.gnn import data
from containers.gnn.train import FEATURES_FILE, load_model
from containers.serving import InvocationError, serve

#: Unknown ids named in an error message (a typo in a batch of thousands should not echo them all).
MAX_NAMED_IDS = 10


@dataclass
class GnnPredictor:
    """A loaded model over a fixed graph.

    Args:
        model: the trained network (eval mode).
        classes: class names in index order.
        node_ids: the node order of ``x`` and ``edge_index``.
        x: node features ``(|V|, F)``.
        edge_index: topology ``(2, |E|)`` read from the graph server.
    """

    model: nn.Module
    classes: list[str]
    node_ids: list[str]
    x: Tensor
    edge_index: Tensor

    def __post_init__(self) -> None:
        self.index = {node_id: row for row, node_id in enumerate(self.node_ids)}

    def requested_ids(self, body: bytes, content_type: str) -> list[str]:
        """The ``node_ids`` of a request.

        Raises:
            InvocationError: not JSON, no non-empty list of strings, or ids the model does not know.
        """
        if "json" not in content_type.lower():
            raise InvocationError(f"content type {content_type!r} is not supported; send application/json", 415)
        try:
            request = json.loads(body or b"null")
        except ValueError as error:
            raise InvocationError(f"body is not JSON: {error}") from None
        ids = request.get("node_ids") if isinstance(request, dict) else None
        if not isinstance(ids, list) or not ids or not all(isinstance(item, str) for item in ids):
            raise InvocationError('expected {"node_ids": ["<id>", ...]} with at least one string id')
        unknown = [node_id for node_id in ids if node_id not in self.index]
        if unknown:
            named = ", ".join(map(repr, unknown[:MAX_NAMED_IDS])) + (" ..." if len(unknown) > MAX_NAMED_IDS else "")
            raise InvocationError(f"{len(unknown)} unknown node id(s): {named} "
                                  f"(the model knows {len(self.node_ids)} nodes, e.g. {self.node_ids[0]!r})")
        return ids

    def predict(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        ids = self.requested_ids(body, content_type)
        with torch.no_grad():
            probabilities = torch.softmax(self.model(self.x, self.edge_index), dim=1)
        rows = [self.index[node_id] for node_id in ids]
        predictions = []
        for node_id, row in zip(ids, rows, strict=True):
            best = int(probabilities[row].argmax())
            predictions.append({"node_id": node_id, "class": self.classes[best], "class_index": best,
                                "probabilities": [round(float(p), 6) for p in probabilities[row]]})
        return json.dumps({"predictions": predictions}).encode(), "application/json"


def load(model_dir: Path, edges: data.EdgeSource | None = None) -> GnnPredictor:
    """Rebuild the predictor from ``model_dir``; topology from ``edges`` (default: the graph server)."""
    model, description = load_model(model_dir)
    features: dict[str, Any] = torch.load(model_dir / FEATURES_FILE, weights_only=True)
    node_ids = list(features["node_ids"])
    if edges is None:
        explicit = os.environ.get(contract.GRAPH_ENDPOINT_ENV) or description["hyperparameters"]["graph_endpoint"]
        edges = data.gremlin_edges(data.graph_endpoint(explicit), description.get("edge_label", ""))
    index = {node_id: row for row, node_id in enumerate(node_ids)}
    edge_index, skipped = data.edge_index_from_pairs(edges(), index, description["undirected"])
    print(f"loaded {description['model']} over {len(node_ids)} nodes, {edge_index.size(1)} directed edges"
          + (f" ({skipped} edges to unknown nodes ignored)" if skipped else ""), flush=True)
    return GnnPredictor(model, list(description["classes"]), node_ids, features["x"].to_dense(), edge_index)


if __name__ == "__main__":
    serve(load)
