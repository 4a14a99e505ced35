"""Serving containers: what a runner needs to bring up one production variant and tear it down.

The serving half of the container contract
(https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html): the model
archive (``ModelDataUrl``) is extracted into the model directory, the image's ``serve`` starts,
and the variant is up once ``GET /ping`` answers 200; requests go to ``POST /invocations``.
A runner implements :meth:`Runner.serve` and returns a :class:`ServingHandle`; the process
runner's version is :func:`start_process_server` (the Docker runner maps port 8080 instead).
Nothing here knows about endpoint records or HTTP clients of the API.
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
import tarfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import urllib3

from containers import contract
from containers.registry import UnknownImageError, resolve
from emulator.core.safepath import UnsafePathError, safe_join
from emulator.runners import s3io
from emulator.runners.environment import aws_access_environment
from emulator.runners.local_process import die_with_parent, environ_value, pump_lines, signal_group, without_private

#: Variable naming the serving process's variant, so a restarted control plane reaps only its own.
SERVING_ID_ENV = "MLHARBOR_SERVING_ID"
PID_FILE = "serving.json"
_TAIL_LINES = 12
_PING_INTERVAL = 0.1


class ServingError(Exception):
    """The variant could not be brought up; the message becomes the endpoint's ``FailureReason``."""


@dataclass(frozen=True)
class ServingRequest:
    """Everything a runner needs to serve one production variant; plain data.

    Args:
        endpoint_name: ``EndpointName``.
        variant_name: ``VariantName`` of the production variant.
        image: the model's ``PrimaryContainer.Image``.
        model_data_url: ``PrimaryContainer.ModelDataUrl`` (``s3://…/model.tar.gz``) or ``None``.
        environment: ``PrimaryContainer.Environment``.
        workdir: this variant's private directory; the runner owns it.
        s3_endpoint_url / region: where the embedded S3 answers.
        graph_endpoint_url: the graph server's Gremlin URL (``MLHARBOR_GRAPH_ENDPOINT``).
        startup_timeout_seconds: how long ``/ping`` may take to answer 200.
    """

    endpoint_name: str
    variant_name: str
    image: str
    model_data_url: str | None
    environment: dict[str, str]
    workdir: Path
    s3_endpoint_url: str
    region: str
    graph_endpoint_url: str | None = None
    startup_timeout_seconds: float = 60.0

    @property
    def serving_id(self) -> str:
        return f"{self.endpoint_name}/{self.variant_name}/{self.workdir.name}"


class ServingHandle(Protocol):
    """A running variant: where its ``/invocations`` answers, and how to end it."""

    url: str

    def alive(self) -> bool: ...

    def stop(self, grace: float = 5.0) -> None: ...


@dataclass(frozen=True)
class InvocationResult:
    """What the container's ``POST /invocations`` answered."""

    status: int
    body: bytes
    content_type: str
    custom_attributes: str | None = None


#: One pooled HTTP client for every forwarded invocation: keep-alive to each serve process.
_POOL = urllib3.PoolManager(maxsize=64, retries=False)


def invoke(url: str, body: bytes, content_type: str | None, accept: str | None,
           custom_attributes: str | None = None, timeout: float = 60.0) -> InvocationResult:
    """Forward one request to a variant's ``POST /invocations``.

    Raises:
        ServingError: the container did not answer (connection refused, reset, timeout).
    """
    headers = {"Content-Type": content_type or "application/octet-stream"}
    if accept:
        headers["Accept"] = accept
    if custom_attributes:
        headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
    try:
        response = _POOL.request("POST", url + "/invocations", body=body, headers=headers, timeout=timeout)
    except urllib3.exceptions.HTTPError as error:
        raise ServingError(f"the container did not answer /invocations: {error}") from None
    return InvocationResult(response.status, response.data,
                            response.headers.get("Content-Type", "application/octet-stream"),
                            response.headers.get("X-Amzn-SageMaker-Custom-Attributes"))


# -- model archive -------------------------------------------------------------------------
def extract_model(archive: Path, target: Path) -> None:
    """Extract ``model.tar.gz`` into ``target``, refusing anything that could land outside it.

    Members with absolute names or ``..``, links pointing outside, devices and FIFOs are refused
    (the whole archive is, as a model cannot be trusted half-extracted); tarfile's ``data``
    filter checks the same again and drops set-uid bits.

    Raises:
        ServingError: the archive is unreadable or unsafe.
    """
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(target, member)
            tar.extractall(target, members=members, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise ServingError(f"ClientError: model archive cannot be extracted: {error}") from None


def _check_member(target: Path, member: tarfile.TarInfo) -> None:
    name = member.name.removeprefix("./")
    if name in ("", "."):
        return
    try:
        destination = safe_join(target, name)
        if member.issym():
            link = member.linkname
            if link.startswith("/"):
                raise UnsafePathError(link)
            resolved = (destination.parent / link).resolve()
            if not resolved.is_relative_to(target.resolve()):
                raise UnsafePathError(link)
        elif member.islnk():
            safe_join(target, member.linkname.removeprefix("./"))
        elif not (member.isfile() or member.isdir()):
            raise UnsafePathError(name)
    except UnsafePathError:
        raise ServingError(f"ClientError: model archive member {member.name!r} would be extracted outside the "
                           "model directory or is not a regular file") from None


def fetch_model(request: ServingRequest, model_dir: Path) -> None:
    """Download ``ModelDataUrl`` and extract it into ``model_dir`` (an S3 prefix is copied as files)."""
    model_dir.mkdir(parents=True, exist_ok=True)
    if not request.model_data_url:
        return
    s3 = s3io.s3_client(request.s3_endpoint_url, request.region)
    location = s3io.S3Location.parse(request.model_data_url)
    if not location.key.endswith(".tar.gz"):
        try:
            objects = s3io.channel_objects(s3, {"S3Uri": request.model_data_url, "S3DataType": "S3Prefix"})
            s3io.download(s3, objects, model_dir)
        except s3io.DataError as error:
            raise ServingError(str(error)) from None
        return
    archive = request.workdir / "model.tar.gz"
    try:
        s3io.download(s3, [(location, archive.name)], request.workdir)
    except s3io.DataError as error:
        raise ServingError(f"{error} (ModelDataUrl)") from None
    extract_model(archive, model_dir)
    archive.unlink(missing_ok=True)


# -- the process runner's serving ----------------------------------------------------------
def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the serve process binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def serving_environment(request: ServingRequest, model_dir: Path | str, port: int, base: dict[str, str],
                        host: str = "127.0.0.1") -> dict[str, str]:
    """The serve process's environment: the server's, the contract's, then the model's own ``Environment``.

    ``model_dir``, ``host`` and ``port`` are as the serve program sees them (a container's own
    ``/opt/ml/model`` and ``0.0.0.0:8080`` in the Docker runner).
    """
    env = without_private(base)
    env.update(aws_access_environment(request.s3_endpoint_url, request.region, request.graph_endpoint_url))
    env.update({contract.SM_MODEL_DIR: str(model_dir), SERVING_ID_ENV: request.serving_id})
    env.update(request.environment)
    # where it listens is ours to say: a model's Environment cannot move the port under the edge
    env[contract.SERVING_HOST_ENV] = host
    env[contract.SERVING_PORT_ENV] = str(port)
    return env


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


def wait_until_healthy(handle: Any, timeout: float) -> None:
    """Poll ``GET /ping`` until it answers 200 (``handle``: a process or Docker serving handle).

    Raises:
        ServingError: the process exited (with its last lines) or ``timeout`` passed.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not handle.alive():
            if handle.reader is not None:
                handle.reader.join(2)
            last = " | ".join(line for line in handle.tail if line.strip())
            raise ServingError(f"The primary container for production variant did not pass the ping health check: "
                               f"the serve process exited with code {handle.returncode}. Last output: {last}")
        if ping(handle.url):
            return
        time.sleep(_PING_INTERVAL)
    raise ServingError("The primary container for production variant did not pass the ping health check: "
                       f"GET /ping did not answer 200 within {timeout:g} s. Check the endpoint's CloudWatch logs.")


def ping(url: str) -> bool:
    """Whether ``GET /ping`` answers 200 now."""
    try:
        with urllib.request.urlopen(url + "/ping", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


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
