"""A real ``mlharbor up`` in a subprocess on free ports: the end-to-end tier's server, and the benchmarks'."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from emulator.testing.clients import EdgeClients

REPO = Path(__file__).resolve().parents[2]
#: the Cora citation graph the GNN tests and benchmarks load (shared beside the checkout)
CORA = REPO.parent / "shared" / "datasets" / "cora"


@dataclass
class RunningHarbor(EdgeClients):
    """A ``mlharbor up`` subprocess and where it listens."""

    process: subprocess.Popen[bytes]
    data_dir: Path
    endpoint: str
    graph: str | None
    log_path: Path

    def kill(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout)


def start_harbor(data_dir: Path, *extra: str, timeout: float = 90, env: dict[str, str] | None = None) -> RunningHarbor:
    """Start ``mlharbor up`` on free ports and wait until ``/_mlharbor/health`` answers 200."""
    data_dir.mkdir(parents=True, exist_ok=True)
    info_path = data_dir / "server.json"
    info_path.unlink(missing_ok=True)
    log_path = data_dir / f"harbor-{uuid.uuid4().hex[:6]}.log"
    command = [sys.executable, "-m", "emulator.cli", "up", "--port", "0", "--graph-port", "0",
               "--data-dir", str(data_dir), *extra]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, cwd=REPO,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlharbor up exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
        if info_path.exists():
            info = json.loads(info_path.read_text())
            try:
                with urllib.request.urlopen(info["endpoint"] + "/_mlharbor/health", timeout=2) as response:
                    if response.status == 200:
                        return RunningHarbor(process, data_dir, info["endpoint"], info.get("graph"), log_path)
            except (urllib.error.URLError, ConnectionError):
                pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"mlharbor up did not become healthy:\n{log_path.read_text()[-4000:]}")
