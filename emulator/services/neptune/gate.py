"""The graph server's front door: Host, Origin and Neptune IAM (SigV4) checks for every request.

The same policies as the edge (:mod:`emulator.core.origin`, :mod:`emulator.core.sigv4`) as an aiohttp
middleware, so they cover the HTTP API and the ``/gremlin`` websocket handshake alike (the handshake
is an ordinary GET until it is upgraded). Neptune IAM authentication signs for service
``neptune-db``; the websocket client signs its handshake GET the same way (neptune-python-utils
does). Refusals are Neptune's JSON error shape with HTTP 403.
"""

from __future__ import annotations

import logging
import uuid

from aiohttp import web
from aiohttp.typedefs import Middleware

from emulator.core.origin import HostPolicy, OriginPolicy, path_under
from emulator.core.sigv4 import IncomingRequest, Reason, SignatureRejected, SigV4Verifier
from emulator.runners.docker.relay import JOB_SOURCE_ADDRESS
from emulator.services.neptune import errors
from emulator.services.neptune.http_api import Handler, json_response

log = logging.getLogger(__name__)

#: Neptune's codes for a refused signature (it answers every one as AccessDeniedException but the
#: unknown key and bad signature cases, which keep the names every AWS JSON API uses)
_AUTH_CODES = {
    Reason.MISSING: "AccessDeniedException",
    Reason.MALFORMED: "AccessDeniedException",
    Reason.UNKNOWN_KEY: "UnrecognizedClientException",
    Reason.MISMATCH: "InvalidSignatureException",
    Reason.STALE: "InvalidSignatureException",
    Reason.EXPIRED: "InvalidSignatureException",
}


#: paths a Docker job's container may not use: Neptune ML and the export act with the graph server's own key, so the
#: SageMaker work they start would not stay on the Docker runner as a job's own requests to the edge do
JOB_REFUSED_PREFIXES = ("/ml", "/v1/neptune-export")


class Refused(errors.GraphServiceError):
    """A request the gate does not let through (HTTP 403, Gremlin status 401)."""

    http_status = 403
    gremlin_status = errors.UNAUTHORIZED

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


async def incoming_request(request: web.Request) -> IncomingRequest:
    path, _, query = request.raw_path.partition("?")
    headers = {name.lower(): value for name, value in request.headers.items()}
    body = await request.read() if request.can_read_body else b""  # aiohttp keeps it for the handler
    return IncomingRequest(request.method, request.headers.get("Host", ""), path, query, headers, body)


def gate_middleware(hosts: HostPolicy, origins: OriginPolicy, verifier: SigV4Verifier | None) -> Middleware:
    """The middleware; put it before the error middleware so refusals never reach a handler."""

    @web.middleware
    async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            await check(request, hosts, origins, verifier)
        except Refused as refused:
            return json_response(refused.neptune_body(str(uuid.uuid4())), refused.http_status)
        response = await handler(request)
        if not response.prepared:  # a websocket is already on the wire; HTTP answers carry no CORS of others
            for name in [name for name in response.headers if name.lower().startswith("access-control-")]:
                del response.headers[name]
        return response

    return gate


async def check(request: web.Request, hosts: HostPolicy, origins: OriginPolicy,
                verifier: SigV4Verifier | None) -> None:
    """Raise :class:`Refused` for a request the server must not answer."""
    host = request.headers.get("Host")
    if not hosts.allows(host):
        log.warning("graph server refused a request for Host %r", host)
        raise Refused("AccessDeniedException", f"Host {host!r} is not a name this server answers to "
                                               "(DNS rebinding protection)")
    origin = request.headers.get("Origin")
    if not origins.allows(origin, host, request.headers.get("Sec-Fetch-Site")):
        log.warning("graph server refused a cross-origin request from %r", origin)
        raise Refused("AccessDeniedException", f"Requests from the web origin {origin!r} are not allowed")
    if request.remote == JOB_SOURCE_ADDRESS and path_under(request.path, JOB_REFUSED_PREFIXES):
        log.warning("graph server refused %s %s from a job's container", request.method, request.path)
        raise Refused("AccessDeniedException", f"{request.path} is not available to a job's container: Neptune ML "
                                               "and the export act with the graph server's own credentials")
    if verifier is None:
        return
    try:
        verifier.verify(await incoming_request(request))
    except SignatureRejected as rejected:
        raise Refused(_AUTH_CODES[rejected.reason], rejected.message) from None
