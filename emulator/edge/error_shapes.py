"""An error in the wire shape of the service a request was meant for, whatever refused it.

The edge answers for services of five protocols. Errors the edge itself raises before a request
reaches a service (a refused Host or Origin, a bad signature) and error pages a framework would
otherwise send as HTML (a route nobody serves, a wrong method) are written here in the shape the
caller's botocore parses:

* awsJson (``X-Amz-Target``): ``{"__type", "message"}`` and ``x-amzn-ErrorType``
* smithy rpcv2 CBOR (CloudWatch): the same map, CBOR-encoded
* rest-json (sagemaker-runtime, ``/_mlharbor``): ``{"code", "message"}`` and ``x-amzn-ErrorType``
* query (IAM, STS): ``<ErrorResponse><Error><Code>…``
* rest-xml (S3, and any request that names no service, as moto treats it): ``<Error><Code>…``
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any
from xml.sax.saxutils import escape

from emulator.core.sigv4 import Reason, scope_service


class WireProtocol(Enum):
    JSON = "json"
    CBOR = "rpc-v2-cbor"
    REST_JSON = "rest-json"
    QUERY = "query"
    S3 = "rest-xml"


#: services signed for by name whose API is rest-json (the rest are told apart by their headers)
_REST_JSON_SERVICES = frozenset({"sagemaker", "neptune-db", "lambda", "apigateway", "execute-api"})
_QUERY_SERVICES = frozenset({"iam", "sts", "sns", "ses", "cloudformation", "ec2", "rds", "autoscaling",
                             "elasticloadbalancing", "monitoring"})


def protocol_of(environ: Mapping[str, Any]) -> WireProtocol:
    """The protocol of the service a WSGI request was meant for."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        return WireProtocol.JSON
    if environ.get("HTTP_SMITHY_PROTOCOL", "").lower() == "rpc-v2-cbor":
        return WireProtocol.CBOR
    content_type = environ.get("CONTENT_TYPE", "").lower()
    if content_type.startswith("application/x-amz-json"):
        return WireProtocol.JSON
    path = environ.get("PATH_INFO", "")
    if path.startswith("/_mlharbor"):
        return WireProtocol.REST_JSON
    service = scope_service(environ.get("HTTP_AUTHORIZATION"), environ.get("QUERY_STRING", ""))
    if service in _REST_JSON_SERVICES:
        return WireProtocol.REST_JSON
    if service in _QUERY_SERVICES or content_type.startswith("application/x-www-form-urlencoded") \
            or "Action=" in environ.get("QUERY_STRING", ""):
        return WireProtocol.QUERY
    return WireProtocol.S3


@dataclass(frozen=True)
class WireError:
    """One error as the client sees it."""

    status: int
    code: str
    message: str


#: the code each protocol's real services answer a refused signature with
_AUTH_CODES: dict[WireProtocol, dict[Reason, str]] = {
    WireProtocol.JSON: {
        Reason.MISSING: "MissingAuthenticationTokenException",
        Reason.MALFORMED: "IncompleteSignatureException",
        Reason.UNKNOWN_KEY: "UnrecognizedClientException",
        Reason.MISMATCH: "InvalidSignatureException",
        Reason.STALE: "InvalidSignatureException",
        Reason.EXPIRED: "InvalidSignatureException",
    },
    WireProtocol.QUERY: {
        Reason.MISSING: "MissingAuthenticationToken",
        Reason.MALFORMED: "IncompleteSignature",
        Reason.UNKNOWN_KEY: "InvalidClientTokenId",
        Reason.MISMATCH: "SignatureDoesNotMatch",
        Reason.STALE: "SignatureDoesNotMatch",
        Reason.EXPIRED: "SignatureDoesNotMatch",
    },
    WireProtocol.S3: {
        Reason.MISSING: "AccessDenied",
        Reason.MALFORMED: "AuthorizationHeaderMalformed",
        Reason.UNKNOWN_KEY: "InvalidAccessKeyId",
        Reason.MISMATCH: "SignatureDoesNotMatch",
        Reason.STALE: "RequestTimeTooSkewed",
        Reason.EXPIRED: "AccessDenied",
    },
}
_AUTH_CODES[WireProtocol.CBOR] = _AUTH_CODES[WireProtocol.JSON]
_AUTH_CODES[WireProtocol.REST_JSON] = _AUTH_CODES[WireProtocol.JSON]


def auth_error(protocol: WireProtocol, reason: Reason, message: str) -> WireError:
    """A refused signature, coded as the service's own API codes it."""
    return WireError(403, _AUTH_CODES[protocol][reason], message)


def access_denied(protocol: WireProtocol, message: str) -> WireError:
    """A request refused by policy (its Host or Origin), not by its signature."""
    code = "AccessDenied" if protocol in (WireProtocol.S3, WireProtocol.QUERY) else "AccessDeniedException"
    return WireError(403, code, message)


_STATUS_CODES: dict[int, tuple[str, str]] = {
    # status: (code for rpc-style APIs, code for S3 and rest-json)
    400: ("ValidationException", "InvalidRequest"),
    403: ("AccessDeniedException", "AccessDenied"),
    404: ("UnknownOperationException", "NotFound"),
    405: ("UnknownOperationException", "MethodNotAllowed"),
    411: ("ValidationException", "MissingContentLength"),
    413: ("ValidationException", "EntityTooLarge"),
    415: ("UnsupportedMediaTypeException", "InvalidRequest"),
    501: ("NotImplementedException", "NotImplemented"),
}


def from_status(protocol: WireProtocol, status: int, message: str) -> WireError:
    """The error for an HTTP status a framework produced with no AWS code of its own."""
    rpc_code, rest_code = _STATUS_CODES.get(status, ("InternalFailure", "InternalError") if status >= 500
                                            else ("ValidationException", "InvalidRequest"))
    rpc_style = protocol in (WireProtocol.JSON, WireProtocol.CBOR, WireProtocol.QUERY)
    code = rpc_code if rpc_style else rest_code
    if protocol is WireProtocol.QUERY and status in (404, 405):
        code = "InvalidAction"
    return WireError(status, code, message)


def must_inspect(protocol: WireProtocol, status: int, content_type: str) -> bool:
    """Whether a response may be one botocore cannot parse, so its body must be looked at.

    moto labels its JSON answers ``text/html``, so the label alone does not make an HTML page.
    """
    kind = _media_type(content_type)
    rpc = protocol in (WireProtocol.JSON, WireProtocol.CBOR)
    return (kind == "text/html" and (status >= 400 or rpc)) or (rpc and "xml" in kind)


def replacement_for(protocol: WireProtocol, status: int, content_type: str, body: bytes, method: str,
                    path: str) -> WireError | None:
    """The error to send instead of an inspected response, or ``None`` to keep it.

    That is an HTML page (a route nobody serves, a wrong method, a framework's 500), and for an
    awsJson or CBOR call an XML answer: moto answers an ``X-Amz-Target`` it does not know as if it
    were an S3 call.
    """
    rpc = protocol in (WireProtocol.JSON, WireProtocol.CBOR)
    if rpc and ("xml" in _media_type(content_type) or (status < 400 and looks_like_html(body))):
        return WireError(400, "UnknownOperationException", "The X-Amz-Target names no operation this endpoint serves")
    if status >= 400 and looks_like_html(body):
        message = f"No operation answers {method} {path}" if status in (404, 405) \
            else f"The request could not be served (HTTP {status})"
        return from_status(protocol, status, message)
    return None


def looks_like_html(body: bytes) -> bool:
    head = body[:64].lstrip().lower()
    return head.startswith((b"<!doctype", b"<html", b"<title", b"<h1", b"<head", b"<body"))


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def render(protocol: WireProtocol, error: WireError) -> tuple[list[tuple[str, str]], bytes]:
    """The response headers and body of ``error`` in ``protocol``."""
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id)]
    if protocol is WireProtocol.S3:
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{escape(error.code)}</Code>'
                f"<Message>{escape(error.message)}</Message><RequestId>{request_id}</RequestId></Error>")
        headers += [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
        return headers, body.encode()
    if protocol is WireProtocol.QUERY:
        kind = "Receiver" if error.status >= 500 else "Sender"
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>{kind}</Type>'
                f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>")
        return headers + [("Content-Type", "text/xml")], body.encode()
    headers.append(("x-amzn-ErrorType", error.code))
    if protocol is WireProtocol.CBOR:
        payload = cbor_text_map({"__type": error.code, "message": error.message})
        return headers + [("Content-Type", "application/cbor"), ("Smithy-Protocol", "rpc-v2-cbor")], payload
    document: dict[str, str] = {"__type": error.code, "message": error.message}
    if protocol is WireProtocol.REST_JSON:
        document["code"] = error.code
    content_type = "application/x-amz-json-1.1" if protocol is WireProtocol.JSON else "application/json"
    return headers + [("Content-Type", content_type)], json.dumps(document).encode()


def cbor_text_map(items: Mapping[str, str]) -> bytes:
    """A CBOR map of text to text (RFC 8949 major types 5 and 3): all an error body needs."""
    out = bytearray(_cbor_head(5, len(items)))
    for key, value in items.items():
        for text in (key, value):
            data = text.encode()
            out += _cbor_head(3, len(data)) + data
    return bytes(out)


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    for extra, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if length < 1 << (8 * size):
            return bytes([major << 5 | extra]) + length.to_bytes(size, "big")
    raise ValueError("CBOR length too large")
