"""Everything behind the Glue API for one data dir: the store, jobs, runs, bookmarks, connections.

Built by the control plane from its configuration; owns no HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from emulator.observability.logs import CloudWatchLogShipper
from emulator.services.glue.bookmarks import BookmarkBackend
from emulator.services.glue.connections import ConnectionBackend
from emulator.services.glue.jobs import JobDefinitions
from emulator.services.glue.runs import LogWriter, RunBackend, RunSettings
from emulator.services.glue.store import GlueStore

STORE_FILE = "glue.sqlite3"


class GlueBackend:
    """Glue's state and its runs.

    Args:
        data_dir: the server's data dir (the store and the runs' work dirs go under ``glue/``).
        settings: what runs need of the configuration (``runs_dir`` is set here when empty).
        write_log: ``(region, group, stream, line)`` → CloudWatch Logs.
        flush_logs: sends what ``write_log`` buffered.
    """

    def __init__(self, data_dir: Path, settings: RunSettings, write_log: LogWriter,
                 flush_logs: Callable[[], None]) -> None:
        settings.runs_dir.mkdir(parents=True, exist_ok=True)
        self.store = GlueStore(data_dir / "glue" / STORE_FILE)
        self.bookmarks = BookmarkBackend(self.store)
        self.connections = ConnectionBackend(self.store)
        self.jobs = JobDefinitions(self.store, on_delete=self._forget_job)
        self.runs = RunBackend(settings, self.store, self.jobs, self.connections, self.bookmarks,
                               write_log, flush_logs)

    def start(self) -> None:
        self.runs.recover()

    def stop(self) -> None:
        self.runs.close()
        self.store.close()

    def _forget_job(self, region: str, name: str) -> None:
        self.runs.forget(region, name)
        self.bookmarks.forget(region, name)


def glue_backend(config: dict[str, Any], endpoint_url: str, graph_endpoint_url: str | None,
                 logs: CloudWatchLogShipper) -> GlueBackend:
    """The Glue backend of a server: its settings from the config table (:mod:`emulator.config`)."""
    data_dir = Path(config["data_dir"])
    master = config.get("spark_master", "")
    if master and not master.startswith("spark://"):
        raise ValueError(f"--spark-master must be a standalone master's spark://HOST:PORT, not {master!r}")
    settings = RunSettings(
        account_id=config["account_id"],
        runs_dir=data_dir / "glue" / "runs",
        endpoint_url=endpoint_url,
        graph_endpoint_url=graph_endpoint_url,
        spark_master=master,
        stop_grace_seconds=float(config["stop_grace_seconds"]),
        timeout_minute_seconds=float(config.get("glue_timeout_minute_seconds", 60)),
    )
    return GlueBackend(data_dir, settings, logs.write, logs.flush)
