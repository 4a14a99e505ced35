"""Which requests may reach the server at all: the Host they name and the browser origin they come from.

Two browser attacks are closed here, for the edge and the graph server alike:

* **DNS rebinding**: a page on ``evil.example`` re-points its own name at 127.0.0.1 and then calls
  the server as same-origin. Such a request always carries ``Host: evil.example``, so only Host
  names this server is bound as are answered: the loopback names, the configured host, and IP
  literals of this machine's own interfaces (a rebinding attack can never send an IP literal of
  the machine as Host, and Docker job containers reach the server at their network's gateway IP).
* **Cross-site requests**: a browser marks every request a web page makes on another origin with
  ``Origin`` (and ``Sec-Fetch-Site``). One is only served when its origin is configured
  (``cors_origin``) or is the server's own origin; only a configured origin is ever sent
  ``Access-Control-Allow-*`` headers.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import psutil

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})
#: what ``Sec-Fetch-Site`` says for a request a page on another site made
CROSS_SITE_FETCHES = frozenset({"cross-site", "same-site"})


def host_name(host_header: str) -> str | None:
    """The name part of a Host header (``[::1]:4600`` → ``::1``), lower case, no trailing dot."""
    try:
        name = urlsplit("//" + host_header.strip()).hostname
    except ValueError:
        return None
    return name.rstrip(".") if name else None


def parse_origins(value: str | Iterable[str] | None) -> frozenset[str]:
    """The ``cors_origin`` setting (a comma list, or a list) as normalised origins."""
    if not value:
        return frozenset()
    items = value.split(",") if isinstance(value, str) else list(value)
    return frozenset(normalise_origin(item) for item in items if item.strip())


def normalise_origin(origin: str) -> str:
    """``HTTP://OK.example/`` → ``http://ok.example``: origins compare by scheme, host and port only."""
    parts = urlsplit(origin.strip())
    if not parts.scheme or not parts.netloc:
        return origin.strip().lower()
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def is_loopback_bind(host: str) -> bool:
    """Whether binding ``host`` exposes the server to this machine only."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(address.split("%")[0]).is_loopback for address in addresses)


@functools.cache
def machine_names() -> frozenset[str]:
    """This machine's own host names (looked up once: ``getfqdn`` may ask DNS)."""
    return frozenset({socket.gethostname().lower(), socket.getfqdn().lower()})


def local_interface_addresses() -> frozenset[str]:
    """Every IP address of this machine's interfaces (Docker bridges included)."""
    found: set[str] = set()
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family in (socket.AF_INET, socket.AF_INET6):
                found.add(address.address.split("%")[0].lower())
    return frozenset(found)


@dataclass
class HostPolicy:
    """The Host names the server answers to.

    Args:
        bound_host: the address the server is bound to (config ``host``).
        extra_hosts: more names to accept (a hook for callers; IP literals of local interfaces
            are accepted without it).
    """

    bound_host: str = "127.0.0.1"
    extra_hosts: set[str] = field(default_factory=set)
    _interfaces: frozenset[str] = field(default_factory=frozenset, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def names(self) -> frozenset[str]:
        names = set(LOOPBACK_NAMES) | {name.lower() for name in self.extra_hosts}
        bound = self.bound_host.lower().strip("[]")
        names.add(bound)
        if bound in WILDCARD_HOSTS:
            # bound to every interface: the machine's own names reach it too (no attacker controls those)
            names |= machine_names()
        return frozenset(names)

    def allows(self, host_header: str | None) -> bool:
        """Whether a request with this Host header is answered; any port (a forwarded one too)."""
        if host_header is None:
            return True  # an HTTP/1.0 client; every browser sends Host
        name = host_name(host_header)
        if name is None:
            return False
        if name in self.names():
            return True
        return self._is_local_address(name)

    def _is_local_address(self, name: str) -> bool:
        try:
            address = str(ipaddress.ip_address(name))
        except ValueError:
            return False  # a name nobody configured: what a rebinding attack sends
        if address in self._interfaces:
            return True
        with self._lock:  # a Docker network made since the last look adds an interface
            self._interfaces = local_interface_addresses()
            return address in self._interfaces


@dataclass(frozen=True)
class OriginPolicy:
    """Which browser origins may call, and which get CORS headers.

    Args:
        cors_origins: the configured origins (``cors_origin``); only these get ``Access-Control-Allow-*``.
    """

    cors_origins: frozenset[str] = frozenset()

    def is_cors_origin(self, origin: str | None) -> bool:
        return origin is not None and normalise_origin(origin) in self.cors_origins

    def allows(self, origin: str | None, host_header: str | None, fetch_site: str | None = None) -> bool:
        """Whether a request from a browser page (or from no page at all) is served.

        Args:
            origin: the ``Origin`` header (``None`` for non-browser clients and same-origin GETs).
            host_header: the ``Host`` header (the server's own origin is always allowed).
            fetch_site: the ``Sec-Fetch-Site`` header, which browsers also send when they omit Origin.
        """
        if origin is None:
            return (fetch_site or "").lower() not in CROSS_SITE_FETCHES
        if self.is_cors_origin(origin):
            return True
        parts = urlsplit(origin.strip())
        same_origin = parts.scheme.lower() in ("http", "https") and host_header is not None \
            and parts.netloc.lower() == host_header.strip().lower()
        return same_origin


def path_under(path: str, prefixes: Iterable[str]) -> bool:
    """Whether a request path (percent-decoded) is one of ``prefixes`` or below one: how the edge and the graph
    server name the paths a job's container may not reach."""
    path = "/" + path.lstrip("/")  # "//_mlharbor/health" is routed as "/_mlharbor/health" by some servers
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)
