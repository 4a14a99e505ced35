"""The endpoint's request body and the reading of its answer (contract section 6, ``mlharbor-neptune-ml/1``)."""

from __future__ import annotations

import math
from typing import Any

from emulator.services.neptune.gremlin.ml.query import MLQuery, Result, asked_ids

FORMAT = "mlharbor-neptune-ml/1"


class AnswerError(ValueError):
    """The endpoint's answer is not in the Neptune ML format."""


def request_body(query: MLQuery) -> dict[str, Any]:
    body: dict[str, Any] = {"version": FORMAT, "task": query.task,
                            "mode": "inductive" if query.inductive else "transductive",
                            "limit": query.limit, "threshold": query.threshold, "deterministic": query.deterministic}
    if query.property is not None:
        body["property"] = query.property
    if query.task.startswith("edge_"):
        body["edges"] = list(query.edges)
    else:
        body["nodes"] = list(query.nodes)
    if query.link is not None:
        body["link"] = {"relation": query.link.relation, "direction": query.link.direction,
                        "other_label": query.link.other_label}
    if query.inductive and query.graph is not None:
        body["graph"] = {"vertices": query.graph.vertices, "edges": query.graph.edges}
    return body


def _score(raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or math.isnan(raw):
        raise AnswerError(f"a score must be a number or null, got {raw!r}")
    return float(raw)


def read_predictions(answer: Any, query: MLQuery) -> dict[str, list[Result]]:
    """Results per asked id; classes and links at or above the threshold, best first, at most ``limit``.

    The endpoint already applies limit and threshold; applying them again keeps the query's promise
    whatever the endpoint does.

    Raises:
        AnswerError: not ``{"predictions": [{"id", "results": [{"value", "score"}]}]}``.
    """
    if not isinstance(answer, dict) or not isinstance(answer.get("predictions"), list):
        raise AnswerError("the answer has no predictions list")
    asked = set(asked_ids(query))
    found: dict[str, list[Result]] = {}
    for entry in answer["predictions"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("results"), list):
            raise AnswerError(f"a prediction needs an id and a results list, got {entry!r}")
        element_id = str(entry.get("id"))
        if element_id not in asked:
            continue
        results = []
        for item in entry["results"]:
            if not isinstance(item, dict) or "value" not in item:
                raise AnswerError(f"a result needs a value, got {item!r}")
            results.append(Result(value=item["value"], score=_score(item.get("score"))))
        if query.task.endswith("_regression"):
            found[element_id] = results[:1]
            continue
        kept = [r for r in results if r.score is None or r.score >= query.threshold]
        kept.sort(key=lambda r: -(r.score or 0.0))
        found[element_id] = kept[:query.limit]
    return found
