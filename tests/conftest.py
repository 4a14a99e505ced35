"""Shared fixtures: a real ``mlharbor up`` in a subprocess, and boto3 clients pointed at it.

Every test talks to the running edge endpoint over HTTP with real boto3, as a user would.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# the harnesses and request builders live in the package (bench/ uses them too); re-exported for the tests
from emulator.testing import (  # noqa: F401
    CORA,
    REPO,
    ROLE,
    RunningHarbor,
    model_archive,
    script_job,
    start_harbor,
    training_request,
    unique_name,
    upload_script,
    wait_for_status,
)


@pytest.fixture(scope="session")
def harbor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHarbor]:
    """One server for the session (capacity 3 jobs, 3 s stop grace)."""
    running = start_harbor(
        tmp_path_factory.mktemp("harbor"), "--max-concurrent-jobs", "3", "--stop-grace-seconds", "3"
    )
    yield running
    if running.process.poll() is None:
        running.kill()


@pytest.fixture(scope="session")
def sagemaker(harbor: RunningHarbor) -> Any:
    return harbor.client("sagemaker")


@pytest.fixture(scope="session")
def raw_sagemaker(harbor: RunningHarbor) -> Any:
    """No client-side validation: what the server says about bad input is what we test."""
    return harbor.client("sagemaker", validate=False)


@pytest.fixture(scope="session")
def s3(harbor: RunningHarbor) -> Any:
    return harbor.client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def process_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is dead for our purpose)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def processes_with_env(name: str, value: str) -> list[int]:
    """Live processes whose environment has ``name=value``, by their pids on this machine.

    A job in its own PID namespace sees other pids than this machine does, so a test finds a
    job's processes by a marker variable in the job's ``Environment`` rather than by ``os.getpid()``.
    """
    import psutil

    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(name) == value and process_alive(process.pid):
                found.append(process.pid)
        except psutil.Error:
            continue
    return found


def wait_for_file(path: Path, timeout: float = 60) -> str:
    """Wait until a job has written ``path`` (non-empty); returns its text."""
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} was never written")
        time.sleep(0.1)
    return path.read_text()


def read_tar(s3: Any, uri: str) -> dict[str, bytes]:
    """The files of a ``.tar.gz`` in S3, by name."""
    import io
    import tarfile

    bucket, key = uri[len("s3://"):].split("/", 1)
    raw = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
        return {member.name.removeprefix("./"): archive.extractfile(member).read()  # type: ignore[union-attr]
                for member in archive.getmembers() if member.isfile()}


# -- Docker ---------------------------------------------------------------------------------
#: label on every Docker object a test's runner creates, beside the runner's own ``org.mlharbor``
TEST_LABEL = "org.mlharbor.test"
#: contract tests run against both runners; the Docker half needs the engine (and the built images)
RUNNER_KINDS = ["process", pytest.param("docker", marks=pytest.mark.docker)]


@pytest.fixture(scope="session")
def docker_images() -> Iterator[Any]:
    """The built-in images, built offline (cached: seconds when nothing changed); yields a Docker client.

    At the end of the session nothing of ours may be left: no container and no network with the
    ``org.mlharbor`` label (every job's containers and network are removed when it ends).
    """
    from emulator.images.build import ImageBuilder
    from emulator.runners.docker.engine import OWNER_LABEL, DockerUnavailable, docker_client

    try:
        client = docker_client()
    except DockerUnavailable as error:
        pytest.fail(f"docker tests need a running Docker engine (`make test` starts one: scripts/engines.sh): {error}")
    ImageBuilder(client).build_all()
    yield client
    containers = client.containers.list(all=True, filters={"label": OWNER_LABEL})
    networks = client.networks.list(filters={"label": OWNER_LABEL})
    left = [container.name for container in containers] + [network.name for network in networks]
    assert not left, f"Docker objects left behind by jobs: {left}"
