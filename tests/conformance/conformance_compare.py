"""The suite's value notation (``d[1].l``, ``v[marko]``, ``m[{...}]``...) and its result comparisons.

The notation and the rules follow gremlin-python's own feature steps: numbers compare by value whatever their
suffix, ``v[name]``/``e[a-label->b]`` are looked up in the loaded graph, paths compare without their labels,
NaN compares by its notation, and a table is ``ordered``, ``unordered`` (a multiset) or ``of`` (each result is
one of the rows).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gremlin_python.process.traversal import Direction, Merge, T
from gremlin_python.statics import bigdecimal, long
from gremlin_python.structure.graph import Edge, Path, Vertex, VertexProperty

NAN = "d[NaN]"


@dataclass
class Lookups:
    """The loaded graph's elements by the names the notation uses."""

    vertices: dict[str, Vertex] = field(default_factory=dict)  # name -> vertex
    edges: dict[str, Edge] = field(default_factory=dict)  # "marko-knows->vadas" -> edge
    vertex_properties: Callable[[], dict[str, VertexProperty]] = dict  # "marko-name->marko" -> property

    def vertex(self, name: str) -> Vertex:
        # an unknown name stands for a reference vertex with that id, as upstream does
        return self.vertices.get(name) or Vertex(name)

    def edge(self, name: str) -> Edge:
        found = self.edges.get(name)
        if found is None:
            raise KeyError(f"no edge {name!r} in the loaded graph")
        return found


_DIRECTIONS = {"from": "from_"}
_MERGES = {"inV": "in_v", "outV": "out_v", "onCreate": "on_create", "onMatch": "on_match"}


def _number(text: str, suffix: str) -> Any:
    if suffix == "m":
        return bigdecimal(text)
    if text == "NaN":
        return math.nan
    if text in ("Infinity", "-Infinity"):
        return float(text.replace("Infinity", "inf"))
    if "." in text or "e" in text.lower():
        return float(text)
    return long(int(text))


def convert(value: Any, lookups: Lookups) -> Any:  # noqa: C901 - one branch per notation
    """A notation string (or a JSON value from ``m[...]``) as the Python value gremlinpython would return."""
    if isinstance(value, dict):
        converted = {}
        for key, item in value.items():
            new_key = convert(key, lookups)
            converted[tuple(new_key) if isinstance(new_key, list | set) else new_key] = convert(item, lookups)
        return converted
    if isinstance(value, list):
        return [convert(item, lookups) for item in value]
    if not isinstance(value, str):
        return value
    if value == "null":
        return None
    if value in ("true", "false"):
        return value == "true"
    match = re.fullmatch(r"(l|s|str|dt|uuid|d|v|e|vp|m|p|t|D|M)\[(.*)\](?:\.(\w+))?", value, re.DOTALL)
    if match is None:
        return value
    kind, body, suffix = match.groups()
    if kind == "d":
        return _number(body, suffix or "")
    if suffix and kind not in ("v", "e"):
        return value
    if kind == "l":
        return [convert(item, lookups) for item in body.split(",")] if body else []
    if kind == "s":
        return {convert(item, lookups) for item in body.split(",")} if body else set()
    if kind == "str":
        return body
    if kind == "dt":
        return dt.datetime.fromisoformat(body.replace("Z", "+00:00"))
    if kind == "uuid":
        return uuid.UUID(body)
    if kind in ("v", "e"):
        element = lookups.vertex(body) if kind == "v" else lookups.edge(body)
        if suffix == "id":
            return element.id
        if suffix == "sid":
            return str(element.id)
        return element
    if kind == "vp":
        found = lookups.vertex_properties().get(body)
        if found is None:
            raise KeyError(f"no vertex property {body!r} in the loaded graph")
        return found
    if kind == "m":
        return convert(json.loads(body), lookups)
    if kind == "p":
        return Path([set()], [convert(item, lookups) for item in body.split(",")])
    if kind == "t":
        return T[body]
    if kind == "D":
        return Direction[_DIRECTIONS.get(body, body)]
    return Merge[_MERGES.get(body, body)]


def normalise_result(value: Any) -> Any:
    """A result as the comparison sees it: paths without labels, NaN as its notation."""
    if isinstance(value, Path):
        return Path([set()], value.objects)
    if isinstance(value, float) and math.isnan(value):
        return NAN
    return value


def _expected(rows: list[str], lookups: Lookups) -> list[Any]:
    values = []
    for row in rows:
        value = convert(row, lookups)
        values.append(NAN if isinstance(value, float) and math.isnan(value) else value)
    return values


def check_table(kind: str, rows: list[str], results: list[Any], lookups: Lookups) -> str | None:
    """Compare results with a data table; returns None when they match, else what differs."""
    expected = _expected(rows, lookups)
    if kind == "of":
        for result in results:
            if result not in expected:
                return f"result {result!r} is none of {expected!r}"
        return None
    if len(results) != len(expected):
        return f"expected {len(expected)} results, got {len(results)}: {results!r}"
    if kind == "ordered":
        for index, (want, got) in enumerate(zip(expected, results, strict=True)):
            if want != got:
                return f"result {index}: expected {want!r}, got {got!r}"
        return None
    remaining = list(results)
    for want in expected:
        if want not in remaining:
            return f"expected {want!r} among {remaining!r}"
        remaining.remove(want)
    return None
