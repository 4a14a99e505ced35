"""A :class:`~emulator.runners.base.Runner` that starts nothing: each job ends as a test tells it.

A job the runner is given waits (a blocked job is ``InProgress``/``Training``) until the test calls
:meth:`FakeRunner.complete` or :meth:`FakeRunner.fail` for it, or until it is stopped; with
``default_outcome`` set, jobs end at once with that outcome instead. Endpoints cannot be served.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from emulator.runners.base import (
    FailureKind,
    JobEvents,
    ProcessingOutcome,
    ProcessingRunRequest,
    RunOutcome,
    RunRequest,
    StopSignal,
)
from emulator.runners.serving import ServingError, ServingHandle, ServingRequest


@dataclass
class _Job:
    """One job the runner was handed: whether it started, and how the test says it ends."""

    started: threading.Event
    decided: threading.Event
    outcome: RunOutcome | None = None


class FakeRunner:
    """Completes, fails or blocks jobs on a test's word; no process, no container.

    Args:
        default_outcome: ``"Completed"`` or ``"Failed"`` ends every job at once; ``None`` blocks each
            until the test decides it (or StopTrainingJob stops it).
    """

    def __init__(self, default_outcome: str | None = None) -> None:
        self.default_outcome = default_outcome
        self.requests: list[RunRequest | ProcessingRunRequest] = []
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()

    # -- what a test says -------------------------------------------------------------------
    def complete(self, job_name: str, model_artifacts: str | None = None) -> None:
        self._decide(job_name, RunOutcome("Completed", model_artifacts=model_artifacts, exit_code=0))

    def fail(self, job_name: str, reason: str = "AlgorithmError: the fake job failed",
             kind: FailureKind = FailureKind.ALGORITHM) -> None:
        self._decide(job_name, RunOutcome("Failed", failure_reason=reason, exit_code=1, failure_kind=kind))

    def wait_started(self, job_name: str, timeout: float = 30) -> None:
        """Block until the scheduler has handed ``job_name`` to this runner."""
        if not self._job(job_name).started.wait(timeout):
            raise TimeoutError(f"{job_name} was never run")

    def reset(self) -> None:
        """Forget every job (ones still blocked end as stopped)."""
        with self._lock:
            jobs, self._jobs = self._jobs, {}
            self.requests.clear()
        for job in jobs.values():
            job.outcome = job.outcome or RunOutcome("Stopped")
            job.decided.set()

    # -- the Runner protocol ----------------------------------------------------------------
    def run(self, request: RunRequest, events: JobEvents, stop: StopSignal) -> RunOutcome:
        self.requests.append(request)
        events.secondary_status("Training", "Training image download completed. Training in progress.")
        outcome = self._await(request.job_name, stop)
        if outcome.outcome == "Completed":
            events.secondary_status("Uploading", "Uploading generated training model")
        return outcome

    def run_processing(self, request: ProcessingRunRequest, events: JobEvents,
                       stop: StopSignal) -> ProcessingOutcome:
        self.requests.append(request)
        outcome = self._await(request.job_name, stop)
        if outcome.outcome == "Completed":
            return ProcessingOutcome("Completed")
        if outcome.outcome == "Failed":
            return ProcessingOutcome("Failed", failure_reason=outcome.failure_reason)
        return ProcessingOutcome("Stopped")

    def reap(self, workdir: Path) -> None:
        """Nothing outlives a fake job."""

    def serve(self, request: ServingRequest, log: Callable[[str], None]) -> ServingHandle:
        raise ServingError("the in-process test harness serves no endpoints (FakeRunner)")

    def close(self) -> None:
        self.reset()

    # -- inside -------------------------------------------------------------------------------
    def _job(self, name: str) -> _Job:
        with self._lock:
            return self._jobs.setdefault(name, _Job(threading.Event(), threading.Event()))

    def _decide(self, name: str, outcome: RunOutcome) -> None:
        job = self._job(name)
        job.outcome = outcome
        job.decided.set()

    def _await(self, name: str, stop: StopSignal) -> RunOutcome:
        job = self._job(name)
        job.started.set()
        if self.default_outcome == "Completed":
            return RunOutcome("Completed", exit_code=0)
        if self.default_outcome == "Failed":
            return RunOutcome("Failed", "AlgorithmError: the fake job failed", exit_code=1,
                              failure_kind=FailureKind.ALGORITHM)
        while not job.decided.wait(0.05):
            if stop.requested:
                return RunOutcome("Stopped" if stop.reason == "stop" else "Interrupted")
        assert job.outcome is not None
        return job.outcome
