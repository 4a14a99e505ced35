"""The graph server in its own process, supervised by ``mlharbor up``.

A heavy traversal holds Python's interpreter lock; in the edge's process it would slow SageMaker
and S3 down with it. So :class:`GraphProcess` starts the graph server
(:class:`emulator.services.neptune.GraphServer`) as a child process
(``python -m emulator.edge.graph_process``), waits for its ready line, checks its health, starts
it again on the same port if it dies or stops answering, and stops it with ``up``.

The child gets its settings as one JSON line on stdin and keeps stdin open: when the pipe closes
(``up`` stopped, or died however hard) the child shuts down, so it never outlives its parent.
It answers with one JSON line on stdout, ``{"port": N, "pid": P}``, once it accepts connections.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30
HEALTH_INTERVAL_S = 1.0
#: a child that does not answer ``/status`` this many checks in a row is hung: it is killed and started again
UNANSWERED_LIMIT = 5
STATUS_TIMEOUT_S = 10
RESTART_BACKOFF_S = (0.5, 1, 2, 5, 10)
#: how long a thread may hold the interpreter while another waits (Python's default: 5 ms); shorter, so
#: a point read waits less behind a bulk load's parsing or a long traversal in the same process
SWITCH_INTERVAL_S = 0.0005


@dataclass(frozen=True)
class GraphSettings:
    """What the child needs to serve the graph (one JSON line on its stdin)."""

    data_dir: str
    host: str
    port: int
    s3_endpoint_url: str
    region: str
    query_timeout_ms: float
    config: dict[str, Any]  # the resolved ``up`` config: access policies and the internal key come from it

    def to_json(self) -> str:
        return json.dumps(self.__dict__)


class GraphProcess:
    """Starts, watches, restarts and stops the graph server's process.

    Args:
        settings: the graph server's settings; ``port`` 0 picks a free port on the first start,
            which every restart then keeps (clients and jobs were told that URL).
        on_restart: called after the process was started again (``up`` rewrites ``server.json``).
    """

    def __init__(self, settings: GraphSettings, on_restart: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.on_restart = on_restart
        self.host = settings.host
        self._port: int | None = None
        self._process: subprocess.Popen[str] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self.restarts = 0

    # -- what clients need ---------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the graph server is not started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def gremlin_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gremlin"

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None else None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Start the child and return once it accepts connections; then watch it."""
        with self._lock:
            self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="graph-supervisor", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        """Close the child's stdin (it shuts down cleanly), kill it if it does not within the timeout."""
        self._stopping.set()
        with self._lock:
            if self._process is not None:
                _end(self._process)
        if self._watcher is not None:
            self._watcher.join(STOP_TIMEOUT_S)

    def _spawn(self) -> None:
        settings = self.settings
        if self._port is not None:
            settings = GraphSettings(**{**settings.__dict__, "port": self._port})
        process = subprocess.Popen([sys.executable, "-m", "emulator.edge.graph_process"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True, env=_child_environment(),
                                   start_new_session=True)  # a Ctrl-C reaches up, which stops us in order
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(settings.to_json() + "\n")
        process.stdin.flush()
        ready = _read_line(process.stdout, START_TIMEOUT_S)
        if not ready:
            _end(process)
            raise RuntimeError(f"the graph server process exited before it was ready (code {process.poll()})")
        self._port = int(json.loads(ready)["port"])
        self._process = process
        log.info("graph server process %d serving on %s", process.pid, self.url)

    def _watch(self) -> None:
        unanswered = 0
        failures = 0
        while not self._stopping.wait(HEALTH_INTERVAL_S):
            process = self._process
            if process is None:
                continue
            alive = process.poll() is None
            if alive:
                unanswered = 0 if self._answers() else unanswered + 1
                if unanswered < UNANSWERED_LIMIT:
                    failures = 0
                    continue
                log.error("graph server process %d stopped answering; restarting it", process.pid)
            else:
                log.error("graph server process %d exited with %s; restarting it", process.pid, process.returncode)
            unanswered = 0
            with self._lock:
                if self._stopping.is_set():
                    return
                _end(process)
                try:
                    self._spawn()
                    self.restarts += 1
                    if self.on_restart is not None:
                        self.on_restart()
                except Exception:  # keep watching: try again after a pause
                    log.exception("the graph server process did not start again")
                    failures += 1
                    self._stopping.wait(RESTART_BACKOFF_S[min(failures, len(RESTART_BACKOFF_S)) - 1])

    def _answers(self) -> bool:
        """Any HTTP answer from ``/status`` (even a refusal of an unsigned request) means it is serving."""
        try:
            with urllib.request.urlopen(self.url + "/status", timeout=STATUS_TIMEOUT_S):
                return True
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, OSError):
            return False


def _child_environment() -> dict[str, str]:
    """Our environment, with this checkout of ``emulator`` first on the path whatever the working directory."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}


def _end(process: subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    try:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(STOP_TIMEOUT_S)
    except (subprocess.TimeoutExpired, OSError):
        process.kill()
        process.wait(5)


def _read_line(stream: IO[str], timeout: float) -> str:
    """One line from the child, or "" when it exits or says nothing within ``timeout``."""
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return found[0].strip() if found else ""


# -- the child -------------------------------------------------------------------------------

def serve(settings: GraphSettings, stdin: IO[str], stdout: IO[str]) -> None:
    """Run the graph server until ``stdin`` closes."""
    from emulator.core.credentials import key_for, use_internal_key
    from emulator.edge import access
    from emulator.services.neptune import GraphServer

    config = settings.config
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    use_internal_key(key_for(config))
    server = GraphServer(data_dir=Path(settings.data_dir), host=settings.host, port=settings.port,
                         s3_endpoint_url=settings.s3_endpoint_url, region=settings.region,
                         query_timeout_ms=settings.query_timeout_ms, host_policy=access.host_policy(config),
                         origin_policy=access.origin_policy(config), verifier=access.verifier(config))
    server.start()
    stdout.write(json.dumps({"port": server.port, "pid": os.getpid()}) + "\n")
    stdout.flush()
    try:
        while stdin.readline():
            pass  # nothing else is sent; EOF means the parent is gone or asks us to stop
    finally:
        server.stop()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s[graph]: %(message)s")
    first = sys.stdin.readline()
    if not first:
        return
    settings = GraphSettings(**json.loads(first))
    started = time.monotonic()
    serve(settings, sys.stdin, sys.stdout)
    log.info("graph server process stopped after %.0f s", time.monotonic() - started)


if __name__ == "__main__":
    main()
