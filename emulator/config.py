"""Every configuration key of mlharbor, its default and its help, in one table.

``mlharbor up`` flags and ``MLHARBOR_<KEY>`` environment variables override these;
tests pass a dict of overrides to the app factory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.core.credentials import parse_access_keys


@dataclass(frozen=True)
class Setting:
    """One configuration key: its default, what it means, and how ``mlharbor up`` takes it.

    Attributes:
        key: the config key (``--key-with-dashes`` on the command line, ``MLHARBOR_KEY`` in the environment).
        default: the value when nothing overrides it; its type is the flag's type.
        help: what the key does, shown by ``mlharbor up --help`` with the default.
        choices: the values allowed, if only some are.
        metavar: how the flag's value is written in the help.
    """

    key: str
    default: Any
    help: str
    choices: tuple[str, ...] | None = None
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")

    @property
    def shown_default(self) -> str:
        """The default as ``--help`` prints it (an empty value is "none")."""
        if self.default in ("", {}):
            return "none"
        return str(self.default)


SETTINGS: tuple[Setting, ...] = (
    Setting("host", "127.0.0.1", "address the edge endpoint binds (loopback by default: nothing is exposed)"),
    Setting("port", 4600, "edge endpoint port; 0 picks a free one"),
    Setting("graph_port", 8182, "the Neptune-style graph server's own port; 0 picks a free one"),
    Setting("neptune_query_timeout", 120_000, "milliseconds a Gremlin query may run before it ends with "
            "TimeLimitExceededException, when the request sets no evaluationTimeout (Neptune's default: 120000)"),
    Setting("data_dir", ".mlharbor", "job records, job trees, graph store and artifact store"),
    Setting("region", "us-east-1", "the AWS region the emulator answers as"),
    Setting("account_id", "123456789012", "the AWS account the emulator answers as (moto's default)"),
    Setting("runner", "process", "how jobs' containers run", choices=("process", "docker")),
    Setting("max_concurrent_jobs", 2, "jobs running at once; the rest wait in the queue (InProgress / Starting)"),
    Setting("stop_grace_seconds", 120, "StopTrainingJob: SIGTERM, then SIGKILL after this many seconds (AWS: 120)"),
    Setting("checkpoint_interval_seconds", 300, "how often running jobs' checkpoint directories are copied out"),
    Setting("checkpoint_keep_last", 5,
            "checkpoint sets kept per lineage (CheckpointConfig.S3Uri, else job name) in the artifact store"),
    Setting("spot_restart_delay_seconds", 2, "managed spot: how long finding a new instance takes after an "
            "interruption"),
    Setting("endpoint_startup_timeout_seconds", 60,
            "how long an endpoint variant's GET /ping may take to answer 200 before the endpoint is Failed"),
    # an internal error (ours, not the algorithm's) of a spot job is retried this often, the first after
    # internal_error_backoff_seconds and each next one after twice the wait (RetryStrategy names its own count)
    Setting("internal_error_retries", 3, "retries of a spot job's internal (not the algorithm's) error"),
    Setting("internal_error_backoff_seconds", 1, "wait before the first internal-error retry; doubled each time"),
    Setting("max_instance_count", 8,
            "InstanceCount quota per training or processing job; more is ResourceLimitExceeded"),
    Setting("edge_server", "waitress", "the edge's HTTP server (werkzeug: the development server, bench only)",
            choices=("waitress", "cheroot", "werkzeug")),
    Setting("edge_threads", 16, "edge requests handled at once (the server's bounded worker pool)"),
    Setting("request_timeout_seconds", 60,
            "close an edge connection that sends nothing for this long (a half-sent request, an idle keep-alive)"),
    Setting("edge_max_connections", 500, "connections the edge holds open at once; more wait in the listen backlog"),
    Setting("use_mount_namespace", True, "give process-runner jobs a private /opt/ml through a mount namespace "
            "when possible"),
    Setting("auth", "none", "request authentication; sigv4 (every request signed by one of the access keys) is "
            "required to bind a non-loopback host", choices=("none", "sigv4")),
    Setting("access_keys", {}, "the access keys --auth sigv4 accepts (or MLHARBOR_ACCESS_KEYS)",
            metavar="ID:SECRET[,ID:SECRET]"),
    Setting("spark_master", "", "Glue glueetl runs' Spark master: empty for local[N] on this machine, or a "
            "standalone cluster's spark://HOST:PORT (a job's --mlharbor-spark-master argument overrides it)",
            metavar="spark://HOST:PORT"),
    # a test hook: Glue's Timeout is in whole minutes (at least 1), too long for a test to wait out
    Setting("glue_timeout_minute_seconds", 60, "how many seconds one minute of a Glue job's Timeout lasts "
            "(60; tests set less)"),
    Setting("cors_origin", "", "browser origins allowed to call and sent CORS headers (e.g. http://localhost:3000)",
            metavar="ORIGIN[,ORIGIN]"),
)

DEFAULT_CONFIG: dict[str, Any] = {setting.key: setting.default for setting in SETTINGS}


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
