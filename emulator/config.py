"""Every configuration key of mlharbor and its default, in one table.

``mlharbor up`` flags and ``MLHARBOR_<KEY>`` environment variables override these;
tests pass a dict of overrides to the app factory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from emulator.core.credentials import parse_access_keys

DEFAULT_CONFIG: dict[str, Any] = {
    # where the edge endpoint listens (loopback by default: nothing is exposed)
    "host": "127.0.0.1",
    "port": 4600,
    # the Neptune-style graph server's own port
    "graph_port": 8182,
    # job records, job trees, graph store, artifact store
    "data_dir": ".mlharbor",
    # AWS identity the emulator answers as (moto's default account)
    "region": "us-east-1",
    "account_id": "123456789012",
    # which runner launches a job's container: "process" or "docker"
    "runner": "process",
    # jobs running at once; the rest wait in the queue (status InProgress / Starting)
    "max_concurrent_jobs": 2,
    # StopTrainingJob: SIGTERM, then SIGKILL after this many seconds (120 on AWS)
    "stop_grace_seconds": 120,
    # how often a running job's checkpoint directory is copied out (SageMaker: a few minutes)
    "checkpoint_interval_seconds": 300,
    # checkpoint sets kept per lineage (CheckpointConfig.S3Uri, else job name) in the artifact store
    "checkpoint_keep_last": 5,
    # managed spot: how long "finding a new instance" takes after an interruption
    "spot_restart_delay_seconds": 2,
    # how long an endpoint variant's GET /ping may take to answer 200 before the endpoint is Failed
    "endpoint_startup_timeout_seconds": 60,
    # an internal error (ours, not the algorithm's) of a spot job is retried this often, the first after
    # internal_error_backoff_seconds and each next one after twice the wait (RetryStrategy names its own count)
    "internal_error_retries": 3,
    "internal_error_backoff_seconds": 1,
    # InstanceCount quota per training or processing job (AWS: a per-instance-type service quota);
    # more is ResourceLimitExceeded
    "max_instance_count": 8,
    # the edge's HTTP server: "waitress" (default), "cheroot" or "werkzeug" (the development server; bench only)
    "edge_server": "waitress",
    # edge requests handled at once (the server's bounded worker pool)
    "edge_threads": 16,
    # a connection that sends nothing for this long (a half-sent request, an idle keep-alive) is closed
    "request_timeout_seconds": 60,
    # connections the edge holds open at once; more wait in the listen backlog
    "edge_max_connections": 500,
    # give process-runner jobs a private /opt/ml through a mount namespace when possible
    "use_mount_namespace": True,
    # request authentication: "none", or "sigv4" (every request signed by one of access_keys)
    "auth": "none",
    # access key id → secret ("id:secret,id2:secret2" in MLHARBOR_ACCESS_KEYS and --access-keys)
    "access_keys": {},
    # browser origins (comma list) allowed to call and sent CORS headers; none by default
    "cors_origin": "",
}


def env_overrides(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Config values from ``MLHARBOR_<KEY>`` environment variables, typed like the defaults."""
    env = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    for key, default in DEFAULT_CONFIG.items():
        raw = env.get("MLHARBOR_" + key.upper())
        if raw is None:
            continue
        if isinstance(default, dict):
            found[key] = parse_access_keys(raw)
        elif isinstance(default, bool):
            found[key] = raw.strip().lower() in ("1", "true", "yes", "on")
        elif isinstance(default, int):
            found[key] = int(raw)
        else:
            found[key] = raw
    return found


def resolve(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then environment, then explicit overrides; ``data_dir`` made absolute."""
    config = {**DEFAULT_CONFIG, **env_overrides(), **(overrides or {})}
    unknown = set(config) - set(DEFAULT_CONFIG)
    if unknown:
        raise ValueError(f"unknown mlharbor config keys: {sorted(unknown)}")
    config["data_dir"] = str(Path(config["data_dir"]).expanduser().resolve())
    config["access_keys"] = parse_access_keys(config["access_keys"])
    return config
