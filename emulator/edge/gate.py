"""The edge's front door: a WSGI middleware every request passes before any service sees it.

In order, for each request:

1. a Host this server is not bound as is refused (DNS rebinding, see :mod:`emulator.core.origin`);
2. a request from a browser page on an origin that is neither configured nor the server's own is
   refused, so a form POST or a no-cors ``fetch`` from a web page reaches no API;
3. an ``OPTIONS`` preflight is answered here, never by a service (moto's CORS would approve any
   origin); it grants CORS only to a configured origin;
4. with SigV4 authentication on, the signature is verified (the body is read once and put back for
   the service);
5. on the way out, ``Access-Control-*`` headers a service added are dropped (ours replace them for a
   configured origin), and an HTML error page from a framework becomes the AWS error shape of the
   service the request was for.

Refusals use that shape too (:mod:`emulator.edge.error_shapes`), so botocore raises a ClientError
with a code rather than failing to parse.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

from emulator.console.paths import is_console_request
from emulator.core.origin import HostPolicy, OriginPolicy
from emulator.core.sigv4 import IncomingRequest, SignatureRejected, SigV4Verifier
from emulator.edge import error_shapes
from emulator.edge.error_shapes import WireError, WireProtocol

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
#: answered without a signature: a liveness probe that reveals nothing a caller could use
UNSIGNED_PATHS = frozenset({"/_mlharbor/health"})
#: what a configured origin may read from a response (the ids and codes botocore looks at)
EXPOSED_HEADERS = "x-amzn-RequestId, x-amzn-ErrorType, x-amz-request-id, x-amz-id-2, ETag, x-amz-version-id"
PREFLIGHT_MAX_AGE_S = "600"
_ALLOWED_METHODS = "GET, PUT, POST, DELETE, HEAD"


def raw_target(environ: dict[str, Any]) -> tuple[str, str]:
    """The path and query as the client sent them, still percent-encoded (what SigV4 signed)."""
    uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if uri:
        parts = urlsplit(uri)
        return parts.path or "/", parts.query
    path = environ.get("PATH_INFO", "").encode("latin-1")
    return quote(path, safe="/~") or "/", environ.get("QUERY_STRING", "")


def read_body(environ: dict[str, Any]) -> bytes:
    """Read the whole body and put it back as ``wsgi.input`` for the app behind."""
    stream = environ.get("wsgi.input")
    length = environ.get("CONTENT_LENGTH")
    if stream is None:
        body = b""
    elif length:
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated") or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def incoming_request(environ: dict[str, Any], body: bytes) -> IncomingRequest:
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    path, query = raw_target(environ)
    return IncomingRequest(environ.get("REQUEST_METHOD", "GET"), environ.get("HTTP_HOST", ""), path, query,
                           headers, body)


class EdgeGate:
    """Wraps the edge's dispatcher with the Host, Origin, preflight and signature checks.

    Args:
        app: the WSGI app behind (the edge dispatcher).
        hosts: the Host names answered.
        origins: the browser origins served, and those granted CORS.
        verifier: checks SigV4 signatures; ``None`` when authentication is off.
    """

    def __init__(self, app: WSGIApp, hosts: HostPolicy, origins: OriginPolicy,
                 verifier: SigV4Verifier | None = None) -> None:
        self.app = app
        self.hosts = hosts
        self.origins = origins
        self.verifier = verifier

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        protocol = error_shapes.protocol_of(environ)
        host = environ.get("HTTP_HOST")
        origin = environ.get("HTTP_ORIGIN")
        if not self.hosts.allows(host):
            log.warning("refused a request for Host %r (not a name this server is bound as)", host)
            return self._refuse(start_response, protocol, error_shapes.access_denied(
                protocol, f"Host {host!r} is not a name this server answers to (DNS rebinding protection); "
                          "use localhost, 127.0.0.1 or the configured host"))
        if not self.origins.allows(origin, host, environ.get("HTTP_SEC_FETCH_SITE")):
            log.warning("refused a cross-origin request from %r", origin)
            return self._refuse(start_response, protocol, error_shapes.access_denied(
                protocol, f"Requests from the web origin {origin!r} are not allowed; "
                          "configure it with --cors-origin to allow it"))
        if environ.get("REQUEST_METHOD") == "OPTIONS":
            return self._preflight(environ, start_response, origin)
        if self.verifier is not None and environ.get("PATH_INFO") not in UNSIGNED_PATHS:
            try:
                self.verifier.verify(incoming_request(environ, read_body(environ)))
            except SignatureRejected as rejected:
                return self._refuse(start_response, protocol,
                                    error_shapes.auth_error(protocol, rejected.reason, rejected.message))
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target is not None and "." not in target.strip("."):
            return self._refuse(start_response, protocol, WireError(
                400, "UnknownOperationException", f"X-Amz-Target {target!r} is not of the form Service.Operation"),
                origin)
        return self._forward(environ, start_response, protocol, origin)

    # -- responses ---------------------------------------------------------------------------------
    def _cors_headers(self, origin: str | None) -> list[tuple[str, str]]:
        if not self.origins.is_cors_origin(origin):
            return []
        assert origin is not None
        return [("Access-Control-Allow-Origin", origin), ("Access-Control-Expose-Headers", EXPOSED_HEADERS),
                ("Vary", "Origin")]

    def _preflight(self, environ: dict[str, Any], start_response: Callable[..., Any],
                   origin: str | None) -> Iterable[bytes]:
        headers = [("Allow", _ALLOWED_METHODS), ("Content-Length", "0")]
        if self.origins.is_cors_origin(origin):
            requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
            headers += self._cors_headers(origin) + [("Access-Control-Allow-Methods", _ALLOWED_METHODS),
                                                     ("Access-Control-Max-Age", PREFLIGHT_MAX_AGE_S)]
            if requested:
                headers.append(("Access-Control-Allow-Headers", requested))
        start_response("200 OK", headers)
        return [b""]

    def _refuse(self, start_response: Callable[..., Any], protocol: WireProtocol, error: WireError,
                origin: str | None = None) -> Iterable[bytes]:
        headers, body = error_shapes.render(protocol, error)
        headers = headers + self._cors_headers(origin) + [("Content-Length", str(len(body)))]
        start_response(f"{error.status} {_REASONS.get(error.status, 'Error')}", headers)
        return [body]

    def _forward(self, environ: dict[str, Any], start_response: Callable[..., Any], protocol: WireProtocol,
                 origin: str | None) -> Iterable[bytes]:
        held: list[tuple[int, str, list[tuple[str, str]]]] = []  # a response kept back until its body is seen
        held_body: list[bytes] = []
        started: list[bool] = []
        cors = self._cors_headers(origin)
        console = is_console_request(environ)  # the console's own HTML error pages are meant for people

        def intercept(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
            started.append(True)
            kept = [(name, value) for name, value in headers if not name.lower().startswith("access-control-")]
            code = int(status.split(" ", 1)[0])
            content_type = next((value for name, value in headers if name.lower() == "content-type"), "")
            if not console and error_shapes.must_inspect(protocol, code, content_type):
                held.append((code, status, kept + cors))
                return held_body.append
            return start_response(status, kept + cors, exc_info)

        try:
            result = self.app(environ, intercept)
            chunks: Iterator[bytes] = iter(result)
            first: list[bytes] = []
            if not started:  # an app may call start_response on its first chunk only
                chunk = next(chunks, None)
                first = [] if chunk is None else [chunk]
            if held:
                held_body.extend(first)
                held_body.extend(chunks)
                _close(result)
        except Exception as error:  # a service's bug: its error shape, never the server's HTML page
            log.exception("unhandled error serving %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            if started and not held:
                raise  # headers are out: nothing better can be sent
            status = 501 if isinstance(error, NotImplementedError) else 500  # moto's way to say "not emulated"
            return self._refuse(start_response, protocol, error_shapes.from_status(
                protocol, status, f"mlharbor internal error: {type(error).__name__}"), origin)
        if not held:
            return _Chain(first, chunks, result)
        code, status, headers = held[0]
        body = b"".join(held_body)
        content_type = next((value for name, value in headers if name.lower() == "content-type"), "")
        replacement = error_shapes.replacement_for(protocol, code, content_type, body,
                                                   environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))
        if replacement is not None:
            return self._refuse(start_response, protocol, replacement, origin)
        start_response(status, headers)
        return [body]


def _close(result: Iterable[bytes]) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()


class _Chain:
    """The app's body after a peeked first chunk, passing ``close()`` on as WSGI requires."""

    def __init__(self, first: list[bytes], rest: Iterator[bytes], original: Iterable[bytes]) -> None:
        self._first = first
        self._rest = rest
        self._original = original

    def __iter__(self) -> Iterator[bytes]:
        yield from self._first
        yield from self._rest

    def close(self) -> None:
        _close(self._original)


_REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            500: "Internal Server Error", 501: "Not Implemented"}
