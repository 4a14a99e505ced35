"""S3 requests the embedded moto cannot answer, refused before it sees them, as S3 itself refuses them.

moto's S3 crashes (an HTTP 500) on a few malformed requests that real S3 answers with a 400; each
rule here is one of those, found by the fuzz suite, and names S3's own error code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from emulator.edge import error_shapes
from emulator.edge.error_shapes import WireError, WireProtocol
from emulator.edge.gate import read_body

#: bucket-level POST sub-resources moto answers itself (DeleteObjects); any other bucket POST is a form upload
_BUCKET_POST_ACTIONS = ("delete",)
#: the object-level POST sub-resources S3 has (multipart uploads, restore, select)
_OBJECT_POST_ACTIONS = ("uploads", "uploadId", "restore", "select", "select-type")


def _post_target(environ: dict[str, Any]) -> tuple[int, dict[str, list[str]]] | None:
    """For a POST: how many path segments it names (1: a bucket, 2+: an object) and its query; else ``None``."""
    if environ.get("REQUEST_METHOD") != "POST":
        return None
    segments = [part for part in environ.get("PATH_INFO", "").split("/") if part]
    return len(segments), parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)


def refused_object_post(environ: dict[str, Any]) -> WireError | None:
    """S3's error for ``POST /<bucket>/<key>`` that names none of S3's object POST actions, else ``None``."""
    target = _post_target(environ)
    if target is None or target[0] < 2 or any(action in target[1] for action in _OBJECT_POST_ACTIONS):
        return None
    return WireError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")


def is_form_upload(environ: dict[str, Any]) -> bool:
    """A browser-form upload: ``POST /<bucket>`` with no sub-resource (its body is a small form)."""
    target = _post_target(environ)
    return target is not None and target[0] == 1 and not any(action in target[1] for action in _BUCKET_POST_ACTIONS)


def refused_form_upload(content_type: str, body: bytes) -> WireError | None:
    """S3's error for a form upload moto would crash on (one without a ``key`` field), else ``None``."""
    if not _form_has_key(content_type, body):
        return WireError(400, "InvalidArgument", "Bucket POST must contain a field named 'key'.")
    return None


def _form_has_key(content_type: str, body: bytes) -> bool:
    if content_type.lower().startswith("multipart/form-data"):
        return b'name="key"' in body  # the form field's header; the field's value may be anything
    return "key" in parse_qs(body.decode("latin-1"), keep_blank_values=True)


class S3Guard:
    """moto's server application, with the requests it would serve as S3 checked first by the rules above.

    Args:
        app: what serves the request once it passed (moto's dispatcher, or a wrapper of it).
        dispatcher: moto's dispatcher, which says which of its services a request goes to.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], dispatcher: DomainDispatcherApplication) -> None:
        self.app = app
        self.dispatcher = dispatcher

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if getattr(self.dispatcher.get_application(environ), "service", None) == "s3":
            refused = refused_object_post(environ)
            if refused is None and is_form_upload(environ):
                refused = refused_form_upload(environ.get("CONTENT_TYPE", ""), read_body(environ))
            if refused is not None:
                headers, body = error_shapes.render(WireProtocol.S3, refused)
                start_response(f"{refused.status} Refused", headers + [("Content-Length", str(len(body)))])
                return [body]
        return self.app(environ, start_response)
