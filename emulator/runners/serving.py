"""Serving containers: what a runner needs to bring up one production variant and tear it down.

The serving half of the container contract
(https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html): the model
archive (``ModelDataUrl``) is extracted into the model directory, the image's ``serve`` starts,
and the variant is up once ``GET /ping`` answers 200; requests go to ``POST /invocations``.
A runner implements :meth:`Runner.serve` and returns a :class:`ServingHandle`: the process runner's
is :mod:`emulator.runners.local.serving`, the Docker runner's :mod:`emulator.runners.docker.serving`.
Here are the types they share, the model archive's fetch and extraction, ``/ping`` and the forwarded
``/invocations``. Nothing here knows about endpoint records or HTTP clients of the API.
"""

from __future__ import annotations

import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import urllib3

from emulator.runners import s3io

#: Variable naming the serving process's variant, so a restarted control plane reaps only its own.
SERVING_ID_ENV = "MLHARBOR_SERVING_ID"
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

    tarfile's ``data`` filter judges each member (``..``, links pointing outside, devices, FIFOs);
    a member it would refuse or rename (an absolute name loses its ``/``) refuses the whole archive
    before anything is written, as a model cannot be trusted half-extracted.

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
    """Refuse a member the ``data`` filter refuses, or would extract under another name."""
    try:
        kept = tarfile.data_filter(member, str(target))
        if kept.name != member.name or kept.linkname != member.linkname:
            raise tarfile.AbsolutePathError(member)
    except tarfile.FilterError as error:
        raise ServingError(f"ClientError: model archive member {member.name!r} would be extracted outside the "
                           f"model directory or is not a regular file ({error})") from None


def fetch_model(request: ServingRequest, model_dir: Path) -> None:
    """Download ``ModelDataUrl`` and extract it into ``model_dir`` (an S3 prefix is copied as files)."""
    model_dir.mkdir(parents=True, exist_ok=True)
    if not request.model_data_url:
        return
    s3 = s3io.s3_client(request.s3_endpoint_url, request.region)
    location = s3io.S3Location.parse(request.model_data_url)
    if not location.key.endswith(".tar.gz"):
        try:
            objects = s3io.channel_objects(s3, request.model_data_url)
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
