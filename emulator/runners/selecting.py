"""Picks the runner per job: the server's (``mlharbor up --runner``) unless the job names another.

A job chooses with the environment key ``MLHARBOR_RUNNER`` (``process`` or ``docker``) in its
``Environment`` (training) or ``Environment`` (processing): a key the AWS API already carries,
so boto3 and the sagemaker SDK can set it without any extension. Runners are made on first
use, so a process-runner server never needs a Docker engine until a job asks for one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from emulator.runners.base import (
    FailureKind,
    JobEvents,
    ProcessingOutcome,
    ProcessingRunRequest,
    Runner,
    RunOutcome,
    RunRequest,
    StopSignal,
)
from emulator.runners.serving import ServingError, ServingHandle, ServingRequest

#: the ``Environment`` key that overrides the server's runner for one job
RUNNER_ENV = "MLHARBOR_RUNNER"


class SelectingRunner:
    """A :class:`Runner` that hands each job to the runner it asks for.

    Args:
        default: the server's runner kind.
        factories: kind → how to make that runner (called once, on first use).
        owns: kind → whether a job's workdir holds something of that runner's to reap
            (so reaping never starts a runner that cannot have run the job).
    """

    def __init__(self, default: str, factories: dict[str, Callable[[], Runner]],
                 owns: dict[str, Callable[[Path], bool]] | None = None) -> None:
        if default not in factories:
            raise ValueError(f"unknown runner {default!r}; choose one of {sorted(factories)}")
        self.default = default
        self.factories = factories
        self.owns = owns or {}
        self._runners: dict[str, Runner] = {}
        self._lock = threading.Lock()

    def runner(self, kind: str) -> Runner:
        with self._lock:
            if kind not in self._runners:
                self._runners[kind] = self.factories[kind]()
            return self._runners[kind]

    def kind_for(self, environment: dict[str, str]) -> str:
        return environment.get(RUNNER_ENV, self.default).strip().lower()

    def run(self, request: RunRequest, events: JobEvents, stop: StopSignal) -> RunOutcome:
        kind = self.kind_for(request.environment)
        if kind not in self.factories:
            return RunOutcome("Failed", failure_reason=self._unknown(kind), failure_kind=FailureKind.CLIENT)
        return self.runner(kind).run(request, events, stop)

    def run_processing(self, request: ProcessingRunRequest, events: JobEvents, stop: StopSignal) -> ProcessingOutcome:
        kind = self.kind_for(request.environment)
        if kind not in self.factories:
            return ProcessingOutcome("Failed", failure_reason=self._unknown(kind))
        return self.runner(kind).run_processing(request, events, stop)

    def reap(self, workdir: Path) -> None:
        for kind in self.factories:
            owns = self.owns.get(kind)
            if owns is None or owns(workdir):
                self.runner(kind).reap(workdir)

    def serve(self, request: ServingRequest, log: Callable[[str], None]) -> ServingHandle:
        """An endpoint variant on the runner its model's ``Environment`` names (else the server's)."""
        kind = self.kind_for(request.environment)
        if kind not in self.factories:
            raise ServingError(self._unknown(kind))
        return self.runner(kind).serve(request, log)

    def close(self) -> None:
        """Let each runner made so far end what it still runs."""
        for runner in list(self._runners.values()):
            runner.close()

    def _unknown(self, kind: str) -> str:
        return (f"CannotStartContainerError: Environment {RUNNER_ENV}={kind!r} names no runner; "
                f"choose one of {sorted(self.factories)}")
