"""Glue connections: CreateConnection, GetConnection(s), DeleteConnection, and what a job run is told of them.

moto stores connections but has no DeleteConnection, and a run must resolve its job's ``Connections`` from
the same place, so they are ours. A connection names an endpoint a job reaches, for example the graph
server as ``NETWORK`` or as ``JDBC`` with ``JDBC_CONNECTION_URL = jdbc:wss://HOST:PORT/gremlin``
(https://docs.aws.amazon.com/glue/latest/webapi/API_Connection.html).
"""

from __future__ import annotations

import copy
import time
from typing import Any
from urllib.parse import urlparse

from emulator.core.paging import cut
from emulator.services.glue.exceptions import AlreadyExistsError, EntityNotFoundError, InvalidInputError
from emulator.services.glue.store import CONNECTION, GlueStore

#: the connection types a job here can use (others need AWS's own drivers or network)
SUPPORTED_TYPES = ("NETWORK", "JDBC", "CUSTOM", "MARKETPLACE")
JDBC_URL = "JDBC_CONNECTION_URL"
#: properties whose values GetConnection(s) hides when asked to (HidePassword)
_SECRET_PROPERTIES = ("PASSWORD", "ENCRYPTED_PASSWORD")


def graph_endpoint(properties: dict[str, str]) -> str | None:
    """The ``wss://HOST:PORT/gremlin`` (or ``ws://``) URL a JDBC connection's URL names, if it names one."""
    url = properties.get(JDBC_URL, "")
    if not url.startswith("jdbc:"):
        return None
    target = urlparse(url[len("jdbc:"):])
    if target.scheme in ("ws", "wss") and target.hostname and target.path.rstrip("/").endswith("/gremlin"):
        return url[len("jdbc:"):]
    return None


class ConnectionBackend:
    """The connections of every region, in the store."""

    def __init__(self, store: GlueStore) -> None:
        self.store = store

    def create(self, region: str, connection_input: dict[str, Any]) -> None:
        kind = connection_input["ConnectionType"]
        if kind not in SUPPORTED_TYPES:
            raise InvalidInputError(f"Connection type {kind} is not supported by mlharbor; "
                                    f"supported: {', '.join(SUPPORTED_TYPES)}.")
        properties = connection_input.get("ConnectionProperties") or {}
        url = properties.get(JDBC_URL)
        if kind == "JDBC" and not (url or "").startswith("jdbc:"):
            raise InvalidInputError(f"A JDBC connection needs a {JDBC_URL} starting with jdbc:.")
        name = connection_input["Name"]
        if self.store.get(CONNECTION, region, "", name) is not None:
            raise AlreadyExistsError(f"Connection {name} already exists.")
        now = time.time()
        connection = {**copy.deepcopy(connection_input), "CreationTime": now, "LastUpdatedTime": now,
                      "Status": "READY", "ConnectionProperties": dict(properties)}
        self.store.put(CONNECTION, region, "", name, now, connection)

    def get(self, region: str, name: str, hide_password: bool = False) -> dict[str, Any]:
        connection = self.store.get(CONNECTION, region, "", name)
        if connection is None:
            raise EntityNotFoundError(f"Connection {name} not found.")
        return _shown(connection, hide_password)

    def page(self, region: str, max_results: int, next_token: str | None, hide_password: bool,
             connection_type: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        found = [c for c in self.store.list(CONNECTION, region)
                 if connection_type is None or c["ConnectionType"] == connection_type]
        chosen, token = cut(found, max_results, next_token, f"glue-connections/{region}/{connection_type}")
        return [_shown(c, hide_password) for c in chosen], token

    def delete(self, region: str, name: str) -> None:
        if self.store.get(CONNECTION, region, "", name) is None:
            raise EntityNotFoundError(f"Connection {name} not found.")
        self.store.delete(CONNECTION, region, "", name)

    def resolve(self, region: str, names: list[str]) -> dict[str, dict[str, Any]]:
        """A run's view of its job's connections: name → type, properties, and the graph URL if one is named.

        Raises:
            EntityNotFoundError: a connection the job names does not exist.
        """
        resolved = {}
        for name in names:
            connection = self.get(region, name)
            properties = connection.get("ConnectionProperties", {})
            resolved[name] = {"ConnectionType": connection["ConnectionType"], "ConnectionProperties": properties,
                              "GraphEndpoint": graph_endpoint(properties)}
        return resolved


def _shown(connection: dict[str, Any], hide_password: bool) -> dict[str, Any]:
    shown = copy.deepcopy(connection)
    if hide_password:
        for key in _SECRET_PROPERTIES:
            shown["ConnectionProperties"].pop(key, None)
    return shown
