"""The console's own safety rules, on top of the edge gate's (which already refuses other sites' origins).

* Same origin only: a request carrying an ``Origin`` other than the server's own, or marked by the
  browser as cross-site, is refused, even from an origin configured for CORS (that setting opens the
  APIs to a web app, not the console).
* A CSRF token on every state-changing request: a per-server secret that only a page of this origin
  can read, sent back as a form field or the ``X-CSRF-Token`` header, compared in constant time.
* Response headers that keep the pages out of other sites' frames and stop content sniffing.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_FIELD = "csrf_token"
TOKEN_HEADER = "X-CSRF-Token"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def new_token() -> str:
    return secrets.token_urlsafe(32)


def is_same_origin(origin: str | None, host: str | None, fetch_site: str | None) -> bool:
    """Whether a request came from a page of this server (or from no page at all: a typed URL, curl)."""
    if (fetch_site or "").lower() in ("cross-site", "same-site"):
        return False
    if origin is None:
        return True
    if origin == "null":  # a sandboxed frame or a redirect chain: never ours
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and host is not None and parts.netloc.lower() == host.lower()


def refusal(method: str, headers: Mapping[str, str], form: Mapping[str, str], token: str) -> str | None:
    """Why a console request must be refused, or ``None`` when it may proceed."""
    if not is_same_origin(headers.get("Origin"), headers.get("Host"), headers.get("Sec-Fetch-Site")):
        return "The console answers its own pages only: this request came from another site."
    if method in SAFE_METHODS:
        return None
    sent = headers.get(TOKEN_HEADER) or form.get(TOKEN_FIELD) or ""
    if not hmac.compare_digest(sent.encode(), token.encode()):
        return "Missing or wrong CSRF token: reload the page and try again."
    return None
