"""The sagemaker SDK v3 tier: run by ``make test-sdk3`` with ``.venv-sdk3`` (sagemaker 3.x, pytest, nothing else).

SDK v3 cannot share the dev venv with sagemaker 2.x, and the v3 venv holds none of the server's
packages, so the server is started with the dev venv's python (``MLHARBOR_SERVER_PYTHON``, which the
Makefile sets) and these tests only speak to it over HTTP as a user's v3 code would. Under the dev
venv (sagemaker 2.x, as plain ``pytest`` runs the whole suite) this directory collects nothing.

The launcher below is the few lines of :func:`emulator.testing.start_harbor` this venv can run:
``emulator.testing`` imports the server (Flask, moto), which is not installed here.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCE = Path(__file__).parent / "source"
#: AWS's PyTorch images, which mlharbor serves with its built-in mlharbor/pytorch
PYTORCH_TRAINING = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1-cpu-py310"
PYTORCH_INFERENCE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1-cpu-py310"


def _sdk_major() -> int:
    try:
        return int(metadata.version("sagemaker").split(".", 1)[0])
    except metadata.PackageNotFoundError:
        return 0


if _sdk_major() < 3:
    collect_ignore_glob = ["test_*.py"]
else:
    # v3 makes boto3 clients at import time (sagemaker.ai_registry): they need a region before any import
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


@dataclass
class Harbor:
    """A ``mlharbor up`` subprocess and its edge URL."""

    process: subprocess.Popen[bytes]
    endpoint: str
    log_path: Path


def start_harbor(data_dir: Path, timeout: float = 90) -> Harbor:
    """``mlharbor up`` on free ports, run by the server's python, once ``/_mlharbor/health`` is 200."""
    python = os.environ.get("MLHARBOR_SERVER_PYTHON") or str(REPO / ".venv" / "bin" / "python")
    data_dir.mkdir(parents=True, exist_ok=True)
    info_path = data_dir / "server.json"
    log_path = data_dir / f"harbor-{uuid.uuid4().hex[:6]}.log"
    command = [python, "-m", "emulator.cli", "up", "--port", "0", "--graph-port", "0", "--data-dir", str(data_dir),
               "--max-concurrent-jobs", "3", "--stop-grace-seconds", "3"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, cwd=REPO, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlharbor up exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
        if info_path.exists():
            endpoint = json.loads(info_path.read_text())["endpoint"]
            try:
                with urllib.request.urlopen(endpoint + "/_mlharbor/health", timeout=2) as response:
                    if response.status == 200:
                        return Harbor(process, endpoint, log_path)
            except (urllib.error.URLError, ConnectionError):
                pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"mlharbor up did not become healthy:\n{log_path.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def harbor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harbor]:
    running = start_harbor(tmp_path_factory.mktemp("harbor"))
    yield running
    running.process.terminate()
    running.process.wait(30)


@pytest.fixture(scope="session")
def session(harbor: Harbor) -> Any:
    """The v3 session from ``sdk.sagemaker_v3`` (which also points v3's own boto3 sessions at the edge)."""
    from sdk.sagemaker_v3 import sagemaker_session

    return sagemaker_session(endpoint=harbor.endpoint)


@pytest.fixture(scope="session")
def role(session: Any) -> str:
    from sdk.sagemaker_v3 import execution_role

    return execution_role(session)


@pytest.fixture(scope="session")
def train_data(session: Any) -> str:
    """A small CSV channel in the session's default bucket."""
    bucket = session.default_bucket()
    session.boto_session.client("s3").put_object(Bucket=bucket, Key="sdk3/train/rows.csv", Body=b"1,2\n3,4\n5,6\n")
    return f"s3://{bucket}/sdk3/train"


@pytest.fixture(scope="session")
def trained(session: Any, role: str, train_data: str) -> Any:
    """A ``ModelTrainer`` that trained tests/sdk3/source/train.py once (shared: a job per session)."""
    from sagemaker.core.training.configs import Compute, InputData, SourceCode
    from sagemaker.train import ModelTrainer

    trainer = ModelTrainer(training_image=PYTORCH_TRAINING, role=role, sagemaker_session=session,
                           source_code=SourceCode(source_dir=str(SOURCE), entry_script="train.py"),
                           compute=Compute(instance_type="ml.m5.large", instance_count=1),
                           hyperparameters={"scale": 2}, base_job_name="sdk3-trainer")
    trainer.train(input_data_config=[InputData(channel_name="train", data_source=train_data)], wait=True, logs=True)
    return trainer
