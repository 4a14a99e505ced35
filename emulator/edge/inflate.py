"""Gzip-compressed request bodies, inflated once before moto sees them.

botocore compresses some request bodies (CloudWatch ``PutMetricData`` over 10 KiB) and says so with
``Content-Encoding: gzip``. moto 5.2's server inflates such a body twice: once in its Flask
``before_request`` hook and again when its response class reads the body, so the second pass meets
plain JSON and the call fails with an internal error. The edge inflates the body itself (bounded) and
drops the header, so moto reads the plain body once. S3 is left alone: there ``Content-Encoding`` is a
property of the stored object, not of the request.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Iterable
from typing import Any

from emulator.edge.error_shapes import WireError, WireProtocol, protocol_of, render

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: the most an inflated body may hold (CloudWatch's largest request is 1 MB; a gzip bomb stops here)
MAX_INFLATED_BYTES = 16 * 1024 * 1024


class BodyError(ValueError):
    """The body is not the gzip it claims to be, or inflates past the limit."""


def inflate(compressed: bytes, limit: int = MAX_INFLATED_BYTES) -> bytes:
    """The gzip member ``compressed`` inflated, refusing more than ``limit`` bytes of output."""
    decoder = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        plain = decoder.decompress(compressed, limit + 1)
    except zlib.error as error:
        raise BodyError(f"the request body is not valid gzip ({error})") from None
    if len(plain) > limit or decoder.unconsumed_tail:
        raise BodyError(f"the request body inflates to more than {limit} bytes")
    if not decoder.eof:
        raise BodyError("the request body is truncated gzip")
    return plain


class InflatingApp:
    """Wraps moto's application: a gzip body of a non-S3 request reaches it inflated, header dropped."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_CONTENT_ENCODING", "").strip().lower() != "gzip":
            return self.app(environ, start_response)
        protocol = protocol_of(environ)
        if protocol is WireProtocol.S3:
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            if length > MAX_INFLATED_BYTES:  # never read a hostile multi-GiB "compressed" body into memory
                raise BodyError(f"the compressed request body is more than {MAX_INFLATED_BYTES} bytes")
            plain = inflate(environ["wsgi.input"].read(length) if length > 0 else b"")
        except BodyError as error:
            headers, body = render(protocol, WireError(400, "InvalidParameterValue" if protocol is
                                                       WireProtocol.QUERY else "SerializationException", str(error)))
            start_response("400 Bad Request", [*headers, ("Content-Length", str(len(body)))])
            return [body]
        del environ["HTTP_CONTENT_ENCODING"]
        environ["wsgi.input"] = io.BytesIO(plain)
        environ["CONTENT_LENGTH"] = str(len(plain))
        return self.app(environ, start_response)
