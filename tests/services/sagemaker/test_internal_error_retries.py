"""Internal errors are retried with backoff a bounded number of times; a request that cannot run never is.

A managed spot job whose runner crashed was requeued at once and forever (80 transitions a second at
90% CPU); the control plane is driven here in-process with a runner that always crashes, so the
number of attempts can be counted exactly.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from emulator.runners.base import FailureKind, RunOutcome, RunRequest, StopSignal
from emulator.services.sagemaker.store import RecordStore
from emulator.services.sagemaker.training import BackendSettings, TrainingJobBackend
from tests.conftest import training_request

RETRIES = 3


class CrashingRunner:
    """A runner whose every run fails inside mlharbor (what a runner bug looks like to the backend)."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def run(self, request: RunRequest, events: Any, stop: StopSignal) -> RunOutcome:
        with self.lock:
            self.calls += 1
        raise RuntimeError("the runner broke")

    def reap(self, workdir: Path) -> None:
        pass


@pytest.fixture
def backend(tmp_path: Path) -> Any:
    from emulator.services.sagemaker.scheduler import Scheduler

    runner = CrashingRunner()
    scheduler = Scheduler(1)
    settings = BackendSettings(account_id="123456789012", data_dir=tmp_path, s3_endpoint_url="http://127.0.0.1:9",
                               stop_grace_seconds=1, internal_error_retries=RETRIES,
                               internal_error_backoff_seconds=0.05)
    store = RecordStore(tmp_path / "records.sqlite3")
    training = TrainingJobBackend(settings, store, runner, scheduler)
    scheduler.register("training", training.run_job)
    yield training, runner, scheduler
    scheduler.stop()
    store.close()


def wait_until_ended(training: TrainingJobBackend, name: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = training.describe_training_job("us-east-1", name)
        if job.is_terminal:
            return job
        time.sleep(0.05)
    raise TimeoutError(f"{name} never ended: {job.attempts} attempts, status {job.status}/{job.secondary_status}")


def spot_request() -> dict[str, Any]:
    return training_request("runaways", EnableManagedSpotTraining=True,
                            StoppingCondition={"MaxRuntimeInSeconds": 60, "MaxWaitTimeInSeconds": 120})


def test_a_spot_job_whose_runner_crashes_is_retried_with_backoff_then_fails(backend):
    training, runner, scheduler = backend
    scheduler.start()
    job = training.create_training_job("us-east-1", spot_request())
    ended = wait_until_ended(training, job.name)
    assert ended.status == "Failed"
    assert ended.failure_reason.startswith("InternalServerError: RuntimeError('the runner broke')")
    assert runner.calls == RETRIES + 1 and ended.attempts == RETRIES + 1
    retries = [t.status_message for t in ended.transitions if t.status_message.startswith("Retrying the job in")]
    # each wait twice the one before
    assert [message.split(" s ")[0].split()[-1] for message in retries] == ["0.05", "0.1", "0.2"]
    assert len(ended.transitions) <= 2 * (RETRIES + 1) + 2


def test_a_job_stopped_while_waiting_to_retry_stops(backend):
    training, runner, scheduler = backend
    scheduler.start()
    training.settings = dataclasses.replace(training.settings, internal_error_backoff_seconds=30)
    job = training.create_training_job("us-east-1", spot_request())
    deadline = time.monotonic() + 30
    while runner.calls < 1 or training.describe_training_job("us-east-1", job.name).started:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    training.stop_training_job("us-east-1", job.name)
    assert wait_until_ended(training, job.name).status == "Stopped"
    assert runner.calls == 1


def test_a_request_that_cannot_run_fails_once_and_is_not_retried(backend):
    training, runner, scheduler = backend
    job = training.create_training_job("us-east-1", spot_request())
    # a record stored before the API refused null members (Create now answers ValidationException)
    job.request["StoppingCondition"]["MaxRuntimeInSeconds"] = None
    scheduler.start()
    ended = wait_until_ended(training, job.name)
    assert ended.status == "Failed" and ended.attempts == 1 and runner.calls == 0
    assert ended.failure_reason.startswith("ClientError: the request cannot be run")


def test_retry_strategy_names_the_count_and_a_plain_job_is_not_retried(backend):
    training, runner, scheduler = backend
    scheduler.start()
    with_strategy = training.create_training_job("us-east-1", training_request(
        "runaways", RetryStrategy={"MaximumRetryAttempts": 1}))
    assert wait_until_ended(training, with_strategy.name).attempts == 2
    plain = training.create_training_job("us-east-1", training_request("runaways"))
    ended = wait_until_ended(training, plain.name)
    assert ended.status == "Failed" and ended.attempts == 1 and runner.calls == 3


class EngineRefusingRunner(CrashingRunner):
    """A runner whose engine refused the job with a text that merely reads like one of our own failures."""

    def run(self, request: RunRequest, events: Any, stop: StopSignal) -> RunOutcome:
        with self.lock:
            self.calls += 1
        return RunOutcome("Failed", failure_reason="InternalServerError (the engine's words): no such image",
                          failure_kind=FailureKind.CLIENT)


def test_retry_is_decided_by_the_failure_kind_not_by_the_reason_text(backend):
    training, _, scheduler = backend
    runner = EngineRefusingRunner()
    training.runner = runner
    scheduler.start()
    job = training.create_training_job("us-east-1", spot_request())
    ended = wait_until_ended(training, job.name)
    assert ended.status == "Failed" and ended.attempts == 1 and runner.calls == 1
    assert ended.failure_reason.startswith("InternalServerError (the engine's words)")
