"""The graph pages' reads: label counts, loader jobs, vertex search and bounded neighbourhoods.

The graph server runs in its own process (so a heavy traversal never slows the edge); the console asks
it as any Neptune client does, over its HTTP API (``POST /gremlin`` and ``GET /loader``), with short
timeouts. Every value a user types reaches a script only as an escaped string literal (the server's
parser never evaluates code), and a property key must look like one.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from gremlin_python.structure.io.graphsonV3d0 import GraphSONReader

from emulator.core.errors import ValidationError

#: how many neighbours one click may bring at most, and by default
MAX_NEIGHBOURS = 200
DEFAULT_NEIGHBOURS = 25
SEARCH_LIMIT = 25
LOADER_JOBS_SHOWN = 20
TIMEOUT_SECONDS = 30.0
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$")


class GraphUnavailable(Exception):
    """The graph server did not answer (down, restarting, or the query failed)."""


class GraphRefused(GraphUnavailable):
    """The graph server answered a 4xx: the request was wrong (an unknown ML id), the server is fine.

    A subclass so that every page that only knows :class:`GraphUnavailable` still catches it; the console
    shows it with its own status and Neptune's message.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def literal(text: str) -> str:
    """``text`` as a Gremlin single-quoted string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def property_key(text: str) -> str:
    if not _KEY.match(text):
        raise ValidationError(f"{text!r} is not a property key (letters, digits, _ . : -)")
    return text


def bound(text: str | None) -> int:
    """The neighbour bound a click asked for, within ``1..MAX_NEIGHBOURS``."""
    try:
        value = int(text) if text else DEFAULT_NEIGHBOURS
    except ValueError:
        value = DEFAULT_NEIGHBOURS
    return max(1, min(MAX_NEIGHBOURS, value))


@dataclass(frozen=True)
class GraphReader:
    """Reads the graph server at ``url`` (``http://host:port``)."""

    url: str

    def gremlin(self, script: str) -> Any:
        body = json.dumps({"gremlin": script}).encode()
        answer = self._call(urllib.request.Request(self.url + "/gremlin", data=body, method="POST",
                                                   headers={"Content-Type": "application/json"}))
        return plain(GraphSONReader().to_object(answer["result"]["data"]))

    def label_counts(self) -> tuple[dict[str, int], dict[str, int]]:
        vertices = self.gremlin("g.V().groupCount().by(label)")
        edges = self.gremlin("g.E().groupCount().by(label)")
        return _first_map(vertices), _first_map(edges)

    def loader_jobs(self) -> list[dict[str, Any]]:
        """The most recent loader jobs, each with its status, counts and errors."""
        listed = self._call(urllib.request.Request(self.url + f"/loader?limit={LOADER_JOBS_SHOWN}"))
        jobs = []
        for load_id in listed.get("payload", {}).get("loadIds", [])[:LOADER_JOBS_SHOWN]:
            status = self._call(urllib.request.Request(
                self.url + f"/loader/{load_id}?details=true&errors=true&errorsPerPage=10"))
            jobs.append({"loadId": load_id, **status.get("payload", {})})
        return jobs

    def search(self, vertex_id: str = "", key: str = "", value: str = "") -> list[dict[str, Any]]:
        if vertex_id:
            return self.gremlin(f"g.V({literal(vertex_id)}).elementMap()")
        if key:
            return self.gremlin(f"g.V().has({literal(property_key(key))}, {literal(value)})"
                                f".limit({SEARCH_LIMIT}).elementMap()")
        return []

    def neighbourhood(self, vertex_id: str, limit: int) -> dict[str, Any]:
        """The vertex and at most ``limit`` of its edges (both directions) with the vertices at their ends."""
        centre = self.gremlin(f"g.V({literal(vertex_id)}).elementMap()")
        if not centre:
            raise ValidationError(f"No vertex {vertex_id!r}.")
        edges = self.gremlin(f"g.V({literal(vertex_id)}).bothE().limit({int(limit) + 1}).elementMap()")
        more = len(edges) > limit
        nodes = {str(centre[0]["id"]): {"id": str(centre[0]["id"]), "label": centre[0]["label"]}}
        links = []
        for edge in edges[:limit]:
            ends = {direction: edge[direction] for direction in ("OUT", "IN")}
            for end in ends.values():
                nodes.setdefault(str(end["id"]), {"id": str(end["id"]), "label": end["label"]})
            links.append({"id": str(edge["id"]), "label": edge["label"], "source": str(ends["OUT"]["id"]),
                          "target": str(ends["IN"]["id"])})
        return {"centre": str(centre[0]["id"]), "nodes": list(nodes.values()), "edges": links, "more": more}

    def get(self, path: str, timeout: float = TIMEOUT_SECONDS) -> Any:
        """``GET`` of ``path`` (already escaped by the caller), as JSON."""
        return self._call(urllib.request.Request(self.url + path), timeout)

    def _call(self, request: urllib.request.Request, timeout: float = TIMEOUT_SECONDS) -> Any:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            if 400 <= error.code < 500:
                raise GraphRefused(error.code, neptune_message(detail)) from None
            raise GraphUnavailable(f"the graph server answered {error.code}: {detail}") from None
        except (OSError, ValueError) as error:
            raise GraphUnavailable(f"the graph server at {self.url} did not answer: {error}") from None


def neptune_message(body: str) -> str:
    """The text of a Neptune error answer (``{"code", "detailedMessage"}``), or the body as it came."""
    try:
        answer = json.loads(body)
    except ValueError:
        return body
    if not isinstance(answer, dict):
        return body
    code, message = answer.get("code"), answer.get("detailedMessage") or answer.get("message")
    return f"{code}: {message}" if code and message else str(message or body)


def plain(value: Any) -> Any:
    """GraphSON's objects as JSON-able values (``T.id`` → ``"id"``, ``Direction.OUT`` → ``"OUT"``)."""
    if isinstance(value, dict):
        return {_key(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(item) for item in value]
    return value


def _key(key: Any) -> str:
    return key.name if hasattr(key, "name") and not isinstance(key, str) else str(key)


def _first_map(value: Any) -> dict[str, int]:
    if isinstance(value, list):
        value = value[0] if value else {}
    return {str(k): int(v) for k, v in sorted(value.items())}
