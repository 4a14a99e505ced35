"""Fixtures for driving runners directly: a real moto S3 over HTTP and a recording JobEvents.

These tests skip the control plane: they build a :class:`RunRequest` by hand, run it on the
test's thread (or a helper thread when they need to stop it) and read the results from S3
with boto3, as the control plane and a user would. Fixture names differ from the session
server's (``s3``, ``bucket``) so both kinds of test live side by side in this folder.

``contract_runner`` is parametrised over both runners: a test that takes it is one contract
test run against the process runner and against the Docker runner (real containers).
"""

from __future__ import annotations

import io
import socket
import tarfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from containers.contract import DEFAULT_BASE_DIR
from emulator.runners.base import RunOutcome, RunRequest, StopSignal
from emulator.runners.docker.runner import DockerRunner
from emulator.runners.lifecycle import TreeRunner
from emulator.runners.local.process import ProcessRunner
from emulator.testing.requests import model_archive
from tests.conftest import RUNNER_KINDS, TEST_LABEL, processes_with_env


@dataclass
class RecordingEvents:
    """A :class:`JobEvents` that keeps what the runner reported, in order."""

    statuses: list[tuple[str, str]] = field(default_factory=list)
    lines: list[tuple[str, str]] = field(default_factory=list)

    def secondary_status(self, status: str, message: str) -> None:
        self.statuses.append((status, message))

    def log(self, line: str, host: str = "algo-1") -> None:
        self.lines.append((host, line))

    @property
    def status_names(self) -> list[str]:
        return [status for status, _ in self.statuses]

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)


@dataclass
class S3Fixture:
    """The moto endpoint, a boto3 client on it and a fresh bucket for one test."""

    endpoint: str
    client: Any
    bucket: str

    def put(self, key: str, body: bytes | str) -> str:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body.encode() if isinstance(body, str) else body)
        return f"s3://{self.bucket}/{key}"

    def put_sourcedir(self, files: dict[str, str]) -> str:
        """Pack ``files`` as a ``sourcedir.tar.gz`` (what the sagemaker SDK uploads); returns its URI."""
        archive = model_archive({name: text.encode() for name, text in files.items()})
        return self.put(f"code/{uuid.uuid4().hex[:8]}/sourcedir.tar.gz", archive)

    def read_tar(self, uri: str) -> dict[str, bytes]:
        """The files of a ``.tar.gz`` in S3, by name."""
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        raw = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
            return {member.name: archive.extractfile(member).read()  # type: ignore[union-attr]
                    for member in archive.getmembers() if member.isfile()}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real S3 API (moto's server) on a loopback port for the whole session."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def moto_s3(moto_endpoint: str) -> S3Fixture:
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    bucket = f"runner-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    return S3Fixture(moto_endpoint, client, bucket)


@pytest.fixture
def events() -> RecordingEvents:
    return RecordingEvents()


@pytest.fixture(params=RUNNER_KINDS)
def contract_runner(request: pytest.FixtureRequest) -> TreeRunner:
    """The process runner (no mount namespace: the job finds its tree through ``SM_*`` only) or the
    Docker runner on the built images, for the same test."""
    if request.param == "process":
        return ProcessRunner(use_namespace=False, checkpoint_interval=0)
    request.getfixturevalue("docker_images")
    return DockerRunner(checkpoint_interval=0, labels={TEST_LABEL: "runners"})


def job_view(runner: TreeRunner, tree: Path) -> Path:
    """Where a job sees its host's tree: ``/opt/ml`` in a container, the tree itself without a namespace."""
    return DEFAULT_BASE_DIR if isinstance(runner, DockerRunner) else tree


def host_file(request: RunRequest, relative: str, host: str = "algo-1") -> Path:
    """A file a job wrote under its ``SAGEMAKER_BASE_DIR``, as this machine sees it."""
    return request.workdir / host / relative


def make_request(s3: S3Fixture, workdir: Path, **overrides: Any) -> RunRequest:
    """A RunRequest for ``mlharbor/pytorch`` writing to ``s3://<bucket>/output``; override any field."""
    name = overrides.pop("job_name", f"job-{uuid.uuid4().hex[:10]}")
    fields: dict[str, Any] = {
        "job_name": name,
        "job_arn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
        "image": "mlharbor/pytorch",
        "hyperparameters": {},
        "channels": (),
        "output_s3_path": f"s3://{s3.bucket}/output",
        "environment": {},
        "instance_type": "ml.m5.large",
        "instance_count": 1,
        "max_runtime_seconds": 120,
        "workdir": workdir / name,
        "s3_endpoint_url": s3.endpoint,
    }
    fields.update(overrides)
    fields["workdir"].mkdir(parents=True, exist_ok=True)
    return RunRequest(**fields)


def python_entrypoint(source: str) -> list[str]:
    """A ``ContainerEntrypoint`` running ``source`` with the image's python (ours in the process runner)."""
    return ["python", "-c", source]


@dataclass
class BackgroundRun:
    """A run on a helper thread, for tests that stop it while it runs."""

    thread: threading.Thread
    stop: StopSignal
    result: list[RunOutcome]

    def outcome(self, timeout: float = 60) -> RunOutcome:
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise TimeoutError("the run did not end")
        return self.result[0]


def run_in_background(runner: TreeRunner, request: RunRequest, events: RecordingEvents,
                      stop: StopSignal) -> BackgroundRun:
    result: list[RunOutcome] = []
    thread = threading.Thread(target=lambda: result.append(runner.run(request, events, stop)), daemon=True)
    thread.start()
    return BackgroundRun(thread, stop, result)


def job_processes(job_name: str) -> list[int]:
    """Live (non-zombie) processes whose environment says they belong to ``job_name``."""
    return processes_with_env("TRAINING_JOB_NAME", job_name)
