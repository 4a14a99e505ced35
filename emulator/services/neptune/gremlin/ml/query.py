"""What an ML step asks a model, what the model answers, and the client that answers for a graph.

The engine knows nothing of SageMaker: the graph server binds an :class:`Inference` to its store with
:func:`bind_inference` and the ML steps find it with :func:`inference_for`.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, Protocol

from emulator.services.neptune import quick
from emulator.services.neptune.store import GraphStore

#: Neptune ML's task names (the model's ``task_type``)
TASKS = frozenset({"node_class", "node_regression", "edge_class", "edge_regression", "link_predict"})


@dataclass(frozen=True)
class LinkTarget:
    """A link-prediction question: ``out`` predicts tails for the given heads, ``in`` heads for the tails."""

    relation: str
    direction: str
    other_label: str | None = None


@dataclass
class Subgraph:
    """The vertices and edges around the asked elements, with their raw properties (inductive inference)."""

    vertices: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class MLQuery:
    """One call to a model: the task, the elements asked about and the ``Neptune#ml.*`` settings."""

    endpoint: str
    task: str
    iam_role_arn: str | None = None
    property: str | None = None
    nodes: list[str] = field(default_factory=list)
    edges: list[str] = field(default_factory=list)
    link: LinkTarget | None = None
    limit: int = 1
    threshold: float = 0.0
    inductive: bool = False
    deterministic: bool = False
    graph: Subgraph | None = None


def asked_ids(query: MLQuery) -> list[str]:
    """The ids the answer is keyed by, in request order."""
    return query.edges if query.task.startswith("edge_") else query.nodes


@dataclass(frozen=True)
class Result:
    """One predicted value (a class, a number, a vertex id) and its score (``None`` for regression)."""

    value: Any
    score: float | None


class Inference(Protocol):
    """Answers ML queries; raises a :class:`~emulator.services.neptune.errors.GraphServiceError` to refuse."""

    def predict(self, query: MLQuery) -> dict[str, list[Result]]:
        """Results per asked id (best first); an id the model gave nothing for may be missing."""
        ...


_BOUND: weakref.WeakKeyDictionary[GraphStore, Inference] = weakref.WeakKeyDictionary()


def bind_inference(store: GraphStore, inference: Inference) -> None:
    """Make ``inference`` the model client of the traversals run on ``store``."""
    _BOUND[store] = inference


def inference_for(store: GraphStore) -> Inference | None:
    quick.give_up_if_attempting()  # a model is asked over HTTP: never on the event loop
    # a read-only request runs over a snapshot.ReadView of the store; the client is bound to the store itself
    return _BOUND.get(getattr(store, "live", store))
