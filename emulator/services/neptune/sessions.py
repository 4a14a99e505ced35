"""Gremlin sessions: ``g.tx()`` transactions that span requests, committed or rolled back as Neptune does.

A session-bound request (processor ``session``, ``args.session`` = the session id; gremlinpython's
``g.tx().begin()``) runs inside the session's open transaction; nothing it writes is seen by any
other request until ``g.tx().commit()``. ``rollback()`` discards it, and so does closing the
session (op ``close``) or its connection. Sessionless requests commit on their own.

How the open transaction is kept without holding the graph between requests: the session keeps
the requests it ran that changed something (a log) and the ids they generated. Each new request rebuilds the session's
state by running the log again inside one scope, runs itself, and the scope is rolled back when
it ends; ``commit`` runs the log once more and commits. The graph is only held while a request of
the session runs, so a client that leaves a transaction open holds back nobody, and readers never
see uncommitted changes. If a change committed by someone else meanwhile makes the log fail to
apply again, the transaction is lost with ``ConcurrentModificationException`` (Neptune's answer to
a write conflict). The cost of a request grows with the session's log: sessions are for short
transactions, as on Neptune.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from emulator.services.neptune.errors import ConcurrentModification, GraphServiceError, InvalidParameter
from emulator.services.neptune.store import GraphStore, IdSource

log = logging.getLogger(__name__)

#: a request of a session: starts its evaluation and returns the results iterator
Request = Callable[[], Iterable[Any]]

#: requests one transaction may hold before it must be committed or rolled back
MAX_REQUESTS_PER_TRANSACTION = 10_000


@dataclass
class Session:
    """One client session: the open transaction's requests and ids."""

    session_id: str
    connection: Hashable | None
    ids: IdSource = field(default_factory=IdSource)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        self.requests.clear()
        self.ids = IdSource()


class SessionRegistry:
    """The open sessions of one graph server."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def _session(self, session_id: str, connection: Hashable | None) -> Session:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                session = self._sessions[session_id] = Session(session_id, connection)
            return session

    def run(self, session_id: str, connection: Hashable | None, request: Request) -> list[Any]:
        """Run one request inside the session's transaction; its changes stay uncommitted."""
        session = self._session(session_id, connection)
        with session.lock:
            if len(session.requests) >= MAX_REQUESTS_PER_TRANSACTION:
                raise InvalidParameter(f"A transaction holds at most {MAX_REQUESTS_PER_TRANSACTION} requests; "
                                       "commit or roll back")
            issued = len(session.ids.issued)
            try:
                with self.store.session_scope(session.ids) as tx:
                    self._replay(session)
                    writes = tx.writes
                    results = list(request())
                    changed = tx.writes > writes
            except BaseException:
                session.ids.forget_after(issued)  # a failed request leaves the transaction as it was
                raise
            if changed:  # a read changes nothing to rebuild: it is not run again
                session.requests.append(request)
            return results

    def commit(self, session_id: str, connection: Hashable | None) -> None:
        session = self._session(session_id, connection)
        with session.lock:
            if session.requests:
                with self.store.session_scope(session.ids, commit=True):
                    self._replay(session)
            session.reset()

    def rollback(self, session_id: str, connection: Hashable | None) -> None:
        session = self._session(session_id, connection)
        with session.lock:
            session.reset()

    def close(self, session_id: str) -> None:
        """End a session; its open transaction is rolled back (nothing of it was ever applied)."""
        with self._lock:
            self._sessions.pop(session_id, None)

    def connection_closed(self, connection: Hashable) -> None:
        """A client connection went away: its sessions end, their transactions rolled back."""
        with self._lock:
            for session_id in [sid for sid, s in self._sessions.items() if s.connection == connection]:
                del self._sessions[session_id]

    def is_open(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._sessions

    def _replay(self, session: Session) -> None:
        try:
            for request in session.requests:
                for _ in request():
                    pass
        except GraphServiceError as error:
            log.info("session %s: its transaction no longer applies: %s", session.session_id, error)
            session.reset()
            raise ConcurrentModification("The session's transaction conflicts with a change committed meanwhile "
                                         f"and was rolled back ({error.message}); retry the transaction") from None
