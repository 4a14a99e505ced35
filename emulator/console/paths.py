"""Which requests the edge hands to the console rather than to an AWS service.

The console lives under ``/_console`` (no S3 bucket name can start with ``_``, so path-style S3 never
collides) and at ``/`` for a browser: an unsigned ``GET /`` asking for HTML. S3's ListBuckets is also
``GET /``, but a client asks it signed and never for ``text/html``.
"""

from __future__ import annotations

from typing import Any

PREFIX = "/_console"


def is_console_request(environ: dict[str, Any]) -> bool:
    path = environ.get("PATH_INFO", "")
    if path == PREFIX or path.startswith(PREFIX + "/"):
        return True
    if path != "/" or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return False
    if environ.get("HTTP_AUTHORIZATION") or "X-Amz-" in environ.get("QUERY_STRING", ""):
        return False  # a signed (or presigned) S3 request
    return "text/html" in environ.get("HTTP_ACCEPT", "")
