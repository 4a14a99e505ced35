"""Glue's fixtures: one ``mlharbor up`` for the Glue tests (a Timeout minute lasts 2 s there), its clients,
and helpers to put a script in S3 and wait for a run to end."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from emulator.testing import RunningHarbor, start_harbor

FINAL = {"SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR"}
#: what one minute of a Glue Timeout lasts on the Glue tests' server (the test hook glue_timeout_minute_seconds)
MINUTE_SECONDS = 2


@pytest.fixture(scope="package")
def glue_harbor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHarbor]:
    running = start_harbor(tmp_path_factory.mktemp("glue-harbor"), "--stop-grace-seconds", "3",
                           "--glue-timeout-minute-seconds", str(MINUTE_SECONDS))
    yield running
    if running.process.poll() is None:
        running.kill()


@pytest.fixture(scope="package")
def glue(glue_harbor: RunningHarbor) -> Any:
    return glue_harbor.client("glue")


@pytest.fixture(scope="package")
def raw_glue(glue_harbor: RunningHarbor) -> Any:
    """No client-side validation: what the server says about bad input is what we test."""
    return glue_harbor.client("glue", validate=False)


@pytest.fixture(scope="package")
def glue_s3(glue_harbor: RunningHarbor) -> Any:
    return glue_harbor.client("s3")


@pytest.fixture(scope="package")
def glue_logs(glue_harbor: RunningHarbor) -> Any:
    return glue_harbor.client("logs")


@pytest.fixture(scope="package")
def glue_bucket(glue_s3: Any) -> str:
    name = f"glue-{uuid.uuid4().hex[:12]}"
    glue_s3.create_bucket(Bucket=name)
    return name


def put_script(s3: Any, bucket: str, source: str, name: str = "script.py") -> str:
    key = f"scripts/{uuid.uuid4().hex[:8]}/{name}"
    s3.put_object(Bucket=bucket, Key=key, Body=source.encode())
    return f"s3://{bucket}/{key}"


def job_name(prefix: str = "job") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create_job(glue: Any, script: str, job_type: str = "pythonshell", **members: Any) -> str:
    name = members.pop("Name", None) or job_name(job_type)
    glue.create_job(Name=name, Role="arn:aws:iam::123456789012:role/glue",
                    Command={"Name": job_type, "ScriptLocation": script}, **members)
    return name


def wait_for_run(glue: Any, job: str, run_id: str, states: set[str] | None = None, timeout: float = 120) -> dict:
    """The run once its state is one of ``states`` (the final ones by default)."""
    wanted = states or FINAL
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
        if run["JobRunState"] in wanted:
            return run
        time.sleep(0.25)
    raise AssertionError(f"run {run_id} still {run['JobRunState']} after {timeout} s")


def log_messages(logs: Any, group: str, stream: str, timeout: float = 10) -> list[str]:
    """The messages of a log stream, waiting for it to appear."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
            return [event["message"] for event in events]
        except logs.exceptions.ResourceNotFoundException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
