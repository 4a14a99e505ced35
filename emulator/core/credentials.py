"""The access keys mlharbor accepts, and the one its own clients sign with.

With ``auth = "sigv4"`` every request must be signed by a key of ``access_keys``; the server's own
clients (the control plane's CloudWatch shippers, the runners' S3 transfers, the graph loader) and
the jobs it starts then sign with the first configured key. With ``auth = "none"`` they keep the
dummy ``mlharbor`` key, which any AWS client accepts as a shape. The internal key is one value for
the whole server process, set once at start (:func:`use_internal_key`), because those clients are
made deep inside runners that know nothing of configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

AUTH_NONE = "none"
AUTH_SIGV4 = "sigv4"
AUTH_MODES = (AUTH_NONE, AUTH_SIGV4)


@dataclass(frozen=True)
class AccessKey:
    """An access key id and its secret."""

    access_key_id: str
    secret_access_key: str

    def __repr__(self) -> str:  # never print a secret in a log line
        return f"AccessKey({self.access_key_id!r}, <secret>)"


#: what every AWS client of mlharbor signs with when authentication is off
DUMMY_KEY = AccessKey("mlharbor", "mlharbor")
_internal_key = DUMMY_KEY


def parse_access_keys(value: str | Mapping[str, Any] | None) -> dict[str, str]:
    """``"id:secret,id2:secret2"`` (the flag and ``MLHARBOR_ACCESS_KEYS`` form) or a mapping → a dict.

    Raises:
        ValueError: an entry without ``:``, an empty id or secret, or one id twice.
    """
    if value is None:
        return {}
    if isinstance(value, Mapping):
        pairs = [(str(key), str(secret)) for key, secret in value.items()]
    else:
        pairs = []
        for entry in (part.strip() for part in value.split(",")):
            if not entry:
                continue
            key, sep, secret = entry.partition(":")
            if not sep:
                raise ValueError(f"access key entry {key!r} has no secret: write it as ID:SECRET")
            pairs.append((key.strip(), secret.strip()))
    keys: dict[str, str] = {}
    for key, secret in pairs:
        if not key or not secret:
            raise ValueError("an access key needs both an id and a secret (ID:SECRET)")
        if key in keys:
            raise ValueError(f"access key {key!r} is configured twice")
        keys[key] = secret
    return keys


def key_for(config: Mapping[str, Any]) -> AccessKey:
    """The key the server's own clients and its jobs sign with under ``config``."""
    if config.get("auth") == AUTH_SIGV4 and config.get("access_keys"):
        access_key_id, secret = next(iter(parse_access_keys(config["access_keys"]).items()))
        return AccessKey(access_key_id, secret)
    return DUMMY_KEY


def use_internal_key(key: AccessKey) -> None:
    """Set the key every internal client of this process signs with (at server start)."""
    global _internal_key
    _internal_key = key


def internal_key() -> AccessKey:
    """The key internal clients sign with (the dummy one unless :func:`use_internal_key` set another)."""
    return _internal_key
