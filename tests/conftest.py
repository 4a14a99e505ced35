"""Shared fixtures: a real ``mlharbor up`` in a subprocess, and boto3 clients pointed at it.

Every test talks to the running edge endpoint over HTTP with real boto3, as a user would.
"""

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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

REPO = Path(__file__).resolve().parents[1]
CORA = REPO.parent / "shared" / "datasets" / "cora"
ROLE = "arn:aws:iam::123456789012:role/mlharbor-tests"


@dataclass
class RunningHarbor:
    """A ``mlharbor up`` subprocess and where it listens."""

    process: subprocess.Popen[bytes]
    data_dir: Path
    endpoint: str
    graph: str | None
    log_path: Path

    def client(self, service: str, validate: bool = True, **config: Any) -> Any:
        """A boto3 client on the edge; ``validate=False`` lets bad input reach the server."""
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(parameter_validation=validate, retries={"max_attempts": 1}, **config),
        )

    def internal(self, path: str, method: str = "GET") -> bytes:
        """Call mlharbor's own ``/_mlharbor`` API."""
        request = urllib.request.Request(self.endpoint + "/_mlharbor" + path, method=method)
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()

    def artifacts(self, job: str) -> list[dict[str, Any]]:
        return json.loads(self.internal(f"/artifacts?job={job}"))["artifacts"]

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


def unique_name(prefix: str = "job") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def training_request(bucket: str, **overrides: Any) -> dict[str, Any]:
    """A valid CreateTrainingJob request for the built-in PyTorch image; override any member."""
    request: dict[str, Any] = {
        "TrainingJobName": unique_name(),
        "AlgorithmSpecification": {"TrainingImage": "mlharbor/pytorch", "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }
    request.update(overrides)
    return request


def wait_for_status(sagemaker: Any, name: str, timeout: float = 180) -> dict[str, Any]:
    """Wait (botocore's waiter) until the job ends; returns the final description."""
    from botocore.exceptions import WaiterError

    delay = 0.3
    try:
        sagemaker.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName=name, WaiterConfig={"Delay": delay, "MaxAttempts": int(timeout / delay) + 1})
    except WaiterError as error:  # the waiter calls Failed a failure; for a test it is an end like the others
        if "TrainingJobStatus" not in (error.last_response or {}):
            raise
    description = sagemaker.describe_training_job(TrainingJobName=name)
    if description["TrainingJobStatus"] not in ("Completed", "Failed", "Stopped"):
        raise TimeoutError(f"{name} still {description['TrainingJobStatus']} after {timeout}s")
    return description


def upload_script(s3: Any, bucket: str, source: str, name: str = "train.py") -> str:
    """Pack ``source`` as ``sourcedir.tar.gz`` in S3 (script mode); returns its URI."""
    import io
    import tarfile

    buffer = io.BytesIO()
    data = source.encode()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    key = f"code/{uuid.uuid4().hex[:8]}/sourcedir.tar.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
    return f"s3://{bucket}/{key}"


def script_job(s3: Any, bucket: str, source: str, **overrides: Any) -> dict[str, Any]:
    """A CreateTrainingJob request running ``source`` in ``mlharbor/pytorch`` script mode."""
    hyperparameters = {
        "sagemaker_program": "train.py",
        "sagemaker_submit_directory": upload_script(s3, bucket, source),
        **overrides.pop("HyperParameters", {}),
    }
    return training_request(bucket, HyperParameters=hyperparameters, **overrides)


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
        pytest.fail(f"docker tests need a running Docker engine (.ci/run starts one): {error}")
    ImageBuilder(client).build_all()
    yield client
    containers = client.containers.list(all=True, filters={"label": OWNER_LABEL})
    networks = client.networks.list(filters={"label": OWNER_LABEL})
    left = [container.name for container in containers] + [network.name for network in networks]
    assert not left, f"Docker objects left behind by jobs: {left}"
