"""What a running mlharbor accepts, built from its configuration, and the start-time exposure check.

The edge and the graph server share one Host policy, one Origin policy and (with ``auth = "sigv4"``)
one signature verifier. Binding an address other machines can reach without authentication is
refused before anything is bound: any process on the network could otherwise run commands through
CreateTrainingJob.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator.core.credentials import AUTH_MODES, AUTH_SIGV4, parse_access_keys
from emulator.core.origin import HostPolicy, OriginPolicy, is_loopback_bind, parse_origins
from emulator.core.sigv4 import SigV4Verifier


class UnsafeConfiguration(ValueError):
    """The configuration would expose the server, or asks for authentication without keys."""


def check_configuration(config: Mapping[str, Any]) -> None:
    """Refuse, with the reason, a configuration that must not start.

    Raises:
        UnsafeConfiguration: an unknown auth mode, sigv4 without keys, or a non-loopback bind without auth.
    """
    auth = config.get("auth", "none")
    if auth not in AUTH_MODES:
        raise UnsafeConfiguration(f"auth must be one of {', '.join(AUTH_MODES)}, not {auth!r}")
    keys = parse_access_keys(config.get("access_keys"))
    if auth == AUTH_SIGV4 and not keys:
        raise UnsafeConfiguration("--auth sigv4 needs at least one access key: set --access-keys ID:SECRET "
                                  "(or MLHARBOR_ACCESS_KEYS)")
    host = str(config.get("host", ""))
    if auth != AUTH_SIGV4 and not is_loopback_bind(host):
        raise UnsafeConfiguration(
            f"refusing to bind {host!r} without authentication: every machine that can reach it could run "
            "commands through CreateTrainingJob. Bind 127.0.0.1, or start with --auth sigv4 --access-keys ID:SECRET")


def host_policy(config: Mapping[str, Any]) -> HostPolicy:
    return HostPolicy(bound_host=str(config.get("host", "127.0.0.1")))


def origin_policy(config: Mapping[str, Any]) -> OriginPolicy:
    return OriginPolicy(parse_origins(config.get("cors_origin")))


def verifier(config: Mapping[str, Any]) -> SigV4Verifier | None:
    """The signature verifier, or ``None`` when authentication is off."""
    if config.get("auth") != AUTH_SIGV4:
        return None
    return SigV4Verifier(parse_access_keys(config.get("access_keys")))
