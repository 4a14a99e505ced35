"""The Gremlin Server websocket protocol: one request frame in, response frames out.

A request frame starts with its mime type (GraphBinary v1 or GraphSON v3) and the response uses
the same serializer. Results stream in batches of ``batchSize`` (default 64, as Gremlin Server's
``resultIterationBatchSize``): status 206 for each partial batch, 200 for the last, 204 when there
is nothing (https://tinkerpop.apache.org/docs/3.7.0/dev/provider/#_graph_driver_provider_requirements).
Bytecode results are Traversers; script (``eval``) results are the plain values.

This module is pure: the websocket server feeds it bytes and sends what it yields.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from gremlin_python.process.traversal import Traverser

from emulator.services.neptune import errors, quick
from emulator.services.neptune.errors import GraphServiceError
from emulator.services.neptune.gremlin.bytecode import Bytecode
from emulator.services.neptune.gremlin.script import stream_script
from emulator.services.neptune.gremlin.traversal import execute_stream, request_options
from emulator.services.neptune.serializers import (
    GRAPHBINARY_MIME,
    GRAPHSON_MIMES,
    RequestDecodeError,
    RequestMessage,
    decode_graphbinary_request,
    decode_graphson_request,
    encode_graphbinary_response,
    encode_graphson_response,
    read_mime,
)
from emulator.services.neptune.sessions import SessionRegistry
from emulator.services.neptune.snapshot import graph_for
from emulator.services.neptune.store import GraphStore

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 64
_END: Any = object()
MAX_BATCH_SIZE = 100_000


@dataclass
class Codec:
    """One serializer's response writer."""

    binary: bool

    def encode(self, request_id: str | None, status: int, message: str | None, data: Any,
               traversers: bool = False) -> bytes | str:
        """One response frame; ``traversers``: ``data`` is a list of results, each sent as a Traverser of bulk 1."""
        if self.binary:
            return encode_graphbinary_response(request_id, status, message, data, traversers=traversers)
        if traversers:
            data = [Traverser(item, 1) for item in data]
        return encode_graphson_response(request_id, status, message or "", data)


def _batch_size(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return min(value, MAX_BATCH_SIZE)
    return DEFAULT_BATCH_SIZE


def _timeout(args: dict[str, Any]) -> float | None:
    for key in ("evaluationTimeout", "scriptEvaluationTimeout"):
        value = args.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
    return None


def _refusal(codec: Codec, request_id: str | None, error: GraphServiceError) -> bytes | str:
    """The one error frame for a request that is not evaluated."""
    return codec.encode(request_id, error.gremlin_status, error.gremlin_message(request_id or ""), None)


class GremlinProtocol:
    """Answers request frames against one :class:`GraphStore`.

    Args:
        store: the graph.
        default_timeout_ms: evaluation timeout when the request sets none (Neptune: 120 s).
    """

    def __init__(self, store: GraphStore, default_timeout_ms: float = 120_000) -> None:
        self.store = store
        self.default_timeout_ms = default_timeout_ms
        self.sessions = SessionRegistry(store)

    def handle(self, frame: bytes | str, connection: Hashable | None = None) -> Iterator[bytes | str]:
        """Yield the response frames for one request frame (never raises).

        Every answer carries the request id once it could be read, so the client can match it: a frame
        that fails to decode after its id gets a 498 with that id, and only a frame whose id itself is
        unreadable is answered without one. ``connection`` names the client connection, whose sessions end
        with it (:meth:`connection_closed`).
        """
        if isinstance(frame, str):
            frame = frame.encode("utf-8")
        codec = Codec(binary=True)
        try:
            mime, start = read_mime(frame)
            if mime == GRAPHBINARY_MIME:
                request = decode_graphbinary_request(frame[start:])
            elif mime in GRAPHSON_MIMES or mime.startswith("application/vnd.gremlin-v3.0+json"):
                codec = Codec(binary=False)
                request = decode_graphson_request(frame[start:])
            else:
                raise errors.MalformedRequest(f"Unsupported serializer mime type {mime!r}; use "
                                              f"{GRAPHBINARY_MIME} or application/vnd.gremlin-v3.0+json")
        except GraphServiceError as error:
            yield _refusal(codec, None, error)
            return
        except RequestDecodeError as error:
            yield _refusal(codec, error.request_id, errors.MalformedRequest(f"Malformed request message: {error}"))
            return
        except Exception as error:  # noqa: BLE001 - whatever the bytes were, the client gets an answer
            yield _refusal(codec, None, errors.MalformedRequest(f"Malformed request message: {error}"))
            return
        yield from self._answer(request, codec, connection)

    def connection_closed(self, connection: Hashable) -> None:
        """The client connection is gone: its sessions' open transactions are rolled back."""
        self.sessions.connection_closed(connection)

    def _answer(self, request: RequestMessage, codec: Codec,
                connection: Hashable | None = None) -> Iterator[bytes | str]:
        """Stream the results in batches; the last batch is 200, an empty result 204.

        An error after some batches were sent ends the stream with the error status, as Gremlin
        Server does.
        """
        request_id = request.request_id
        ok_message = None if codec.binary else ""
        try:
            results, as_traversers, batch_size = self._evaluate(request, connection)
            iterator = iter(results)
            pending = next(iterator, _END)
            if pending is _END:
                yield codec.encode(request_id, errors.NO_CONTENT, ok_message, None)
                return
            while True:
                batch = [pending]
                for item in iterator:
                    batch.append(item)
                    if len(batch) >= batch_size:
                        break
                pending = next(iterator, _END)
                last = pending is _END
                try:
                    frame = codec.encode(request_id, errors.SUCCESS if last else errors.PARTIAL_CONTENT,
                                         ok_message, batch, as_traversers)
                except Exception as error:  # a result the serializer cannot write
                    failure = errors.InternalFailure(f"Could not serialize a result: {type(error).__name__}: {error}")
                    yield codec.encode(request_id, errors.SERVER_SERIALIZATION, failure.gremlin_message(request_id),
                                       None)
                    return
                yield frame
                if last:
                    return
        except GraphServiceError as error:
            yield codec.encode(request_id, error.gremlin_status, error.gremlin_message(request_id), None)
        except Exception as error:  # a bug of ours: answer rather than leave the client waiting
            log.exception("request %s failed", request_id)
            failure = errors.InternalFailure(f"{type(error).__name__}: {error}")
            yield codec.encode(request_id, failure.gremlin_status, failure.gremlin_message(request_id), None)

    def _evaluate(self, request: RequestMessage, connection: Hashable | None = None) -> tuple[Iterable[Any], bool, int]:
        """Start the request; returns (results, wrap as Traversers, batch size)."""
        session_id = request.args.get("session")
        if request.processor == "session" or session_id is not None:
            quick.give_up_if_attempting()  # a session's transaction is held between requests, on workers
            return self._evaluate_in_session(request, session_id, connection)
        return self._evaluate_sessionless(request)

    def _evaluate_in_session(self, request: RequestMessage, session_id: Any,
                             connection: Hashable | None) -> tuple[Iterable[Any], bool, int]:
        """A session-bound request (``g.tx()``): see :mod:`emulator.services.neptune.sessions`."""
        if not isinstance(session_id, str | uuid.UUID) or not str(session_id):
            raise errors.InvalidParameter("A session request needs the session id in args.session")
        session_id = str(session_id)
        op, gremlin = request.op, request.args.get("gremlin")
        if op == "close":
            self.sessions.close(session_id)
            return [], False, DEFAULT_BATCH_SIZE
        if op == "bytecode" and isinstance(gremlin, Bytecode) and any(name == "tx" for name, _ in gremlin.sources):
            action = next(args for name, args in gremlin.sources if name == "tx")
            if action == ["commit"]:
                self.sessions.commit(session_id, connection)
            elif action == ["rollback"]:
                self.sessions.rollback(session_id, connection)
            else:
                raise errors.InvalidParameter(f"Unsupported transaction operation {action!r} (commit, rollback)")
            return [], True, DEFAULT_BATCH_SIZE
        _, as_traversers, batch = self._evaluate_sessionless(request)  # checks the request; runs nothing yet

        def evaluate() -> Iterable[Any]:  # run again each time the session rebuilds its transaction
            return self._evaluate_sessionless(request)[0]

        return self.sessions.run(session_id, connection, evaluate), as_traversers, batch

    def _evaluate_sessionless(self, request: RequestMessage) -> tuple[Iterable[Any], bool, int]:
        op, args = request.op, request.args
        timeout = _timeout(args) or self.default_timeout_ms
        if op == "bytecode":
            gremlin = args.get("gremlin")
            if not isinstance(gremlin, Bytecode):
                raise errors.InvalidParameter("A bytecode request needs a traversal in args.gremlin")
            if any(name == "tx" for name, _ in gremlin.sources):
                return [], True, DEFAULT_BATCH_SIZE  # sessionless: every request already commits
            options = request_options(gremlin)
            batch = _batch_size(options.get("batchSize", args.get("batchSize")))
            option_timeout = _timeout(options)
            # a read-only traversal reads the last commit while another request writes (see snapshot.py)
            graph = graph_for(self.store, gremlin)
            if graph is self.store:
                quick.give_up_if_attempting()  # it may write
            return execute_stream(graph, gremlin, option_timeout or timeout), True, batch
        if op == "eval":
            quick.give_up_if_attempting()  # a script's steps are not known before it runs
            script = args.get("gremlin")
            if not isinstance(script, str):
                raise errors.InvalidParameter("An eval request needs a Gremlin script string in args.gremlin")
            bindings = args.get("bindings") or {}
            if not isinstance(bindings, dict):
                raise errors.InvalidParameter("args.bindings must be a map")
            return (stream_script(self.store, script, bindings, timeout, partial(graph_for, self.store)), False,
                    _batch_size(args.get("batchSize")))
        if op in ("close", "authentication"):
            return [], False, DEFAULT_BATCH_SIZE
        raise errors.InvalidParameter(f"Unsupported op {op!r} for processor {request.processor!r} "
                                      "(supported: bytecode, eval)")
