"""An endpoint variant as a local process: the image's serve program on a free loopback port.

The process is started from one long-lived thread (so it dies with the control plane), its pid
file lets a restarted control plane end what an earlier one left serving, and its output goes to
the endpoint's log. The types and the model archive's handling are :mod:`emulator.runners.serving`'s.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from containers.registry import UnknownImageError, resolve
from emulator.runners.environment import serving_environment
from emulator.runners.lines import pump_lines
from emulator.runners.local.children import die_with_parent, environ_value, signal_group
from emulator.runners.serving import SERVING_ID_ENV, ServingError, ServingRequest, fetch_model, wait_until_healthy

PID_FILE = "serving.json"
_TAIL_LINES = 12


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the serve process binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class _Spawner:
    """Starts serve processes from one long-lived thread.

    ``PR_SET_PDEATHSIG`` fires when the *thread* that forked the child ends; endpoints are
    created on short-lived threads, so their processes are forked here instead and still die
    with the control plane.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[Callable[[], Any], Future[Any]]] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="serving-spawner", daemon=True)
        self._thread.start()

    def call(self, function: Callable[[], Any]) -> Any:
        future: Future[Any] = Future()
        self._queue.put((function, future))
        return future.result()

    def _loop(self) -> None:
        while True:
            function, future = self._queue.get()
            try:
                future.set_result(function())
            except BaseException as error:  # handed back to the caller
                future.set_exception(error)


_spawner: _Spawner | None = None
_spawner_lock = threading.Lock()


def _spawn(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = _Spawner()
    return _spawner.call(lambda: subprocess.Popen(
        argv, env=env, cwd=str(cwd), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True, preexec_fn=die_with_parent,
    ))


@dataclass
class ProcessServingHandle:
    """One serve process of the process runner.

    Args:
        url: ``http://127.0.0.1:<port>``, where ``/ping`` and ``/invocations`` answer.
        process: the serve process (leader of its own process group).
        workdir: its directory (holds the pid file).
    """

    url: str
    process: subprocess.Popen[bytes]
    workdir: Path
    tail: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=_TAIL_LINES))
    reader: threading.Thread | None = None

    def alive(self) -> bool:
        return self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM to the whole group, SIGKILL after ``grace``; then the pid file goes."""
        signal_group(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(grace)
        signal_group(self.process.pid, signal.SIGKILL)
        self.process.wait()
        if self.reader is not None:
            self.reader.join(2)
        (self.workdir / PID_FILE).unlink(missing_ok=True)


def start_process_server(request: ServingRequest, log: Callable[[str], None]) -> ProcessServingHandle:
    """Bring up one variant as a local process; returns once ``/ping`` answers 200.

    Raises:
        ServingError: unknown image, model not fetchable, the process exited, or ``/ping`` never answered.
    """
    try:
        image = resolve(request.image)
    except UnknownImageError as error:
        raise ServingError(f"CannotStartContainerError: {error}") from None
    if image.serve_module is None:
        raise ServingError(f"CannotStartContainerError: image {request.image!r} has no serve program")
    reap_server(request.workdir)
    request.workdir.mkdir(parents=True, exist_ok=True)
    model_dir = request.workdir / "model"
    fetch_model(request, model_dir)
    port = free_port()
    env = serving_environment(request, model_dir, port, dict(os.environ))
    process = _spawn(image.serve_command(), env, request.workdir)
    handle = ProcessServingHandle(f"http://127.0.0.1:{port}", process, request.workdir)
    (request.workdir / PID_FILE).write_text(json.dumps({"serving_id": request.serving_id, "pgid": process.pid,
                                                                   "url": handle.url}))
    handle.reader = threading.Thread(target=_pump, args=(handle, log), daemon=True,
                                     name=f"serve-log-{request.endpoint_name}")
    handle.reader.start()
    try:
        wait_until_healthy(handle, request.startup_timeout_seconds)
    except ServingError:
        handle.stop(grace=1)
        raise
    return handle


def reap_server(workdir: Path) -> None:
    """End what a previous control plane left serving from ``workdir`` (checked by serving id)."""
    path = workdir / PID_FILE
    try:
        record = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return
    pgid = int(record.get("pgid", 0))
    if pgid > 0 and environ_value(pgid, SERVING_ID_ENV) == record.get("serving_id"):
        signal_group(pgid, signal.SIGKILL)
    path.unlink(missing_ok=True)


def _pump(handle: ProcessServingHandle, log: Callable[[str], None]) -> None:
    def on_line(line: str) -> None:
        handle.tail.append(line)
        log(line)

    pump_lines(handle.process.stdout, on_line)
