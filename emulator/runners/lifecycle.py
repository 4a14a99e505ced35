"""What every runner does around a job's containers, whatever launches them.

A training run is always: build each host's ``/opt/ml`` tree and download its channels,
restore checkpoints, launch one container per host, supervise them (stop, ``MaxRuntime``,
``MaxWaitTime``, a failed host), take the last checkpoint copy, then turn exit codes and
``output/failure`` into an outcome and upload ``model.tar.gz``. Only the launching differs
between the process runner (local processes) and the Docker runner (containers), so that
part is the one abstract method of :class:`TreeRunner`; everything the contract promises is
written once here and behaves the same in both.
"""

from __future__ import annotations

import collections
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from containers.contract import JobPaths
from emulator.artifacts import ArtifactStore
from emulator.runners import processing, s3io, workspace
from emulator.runners.base import (
    FailureKind,
    JobEvents,
    Outcome,
    ProcessingOutcome,
    ProcessingRunRequest,
    RunOutcome,
    RunRequest,
    StopSignal,
)
from emulator.runners.checkpointing import CheckpointSync, artifact_owner
from emulator.runners.environment import checkpoint_dir

TAIL_LINES = 8
POLL_SECONDS = 0.05

_OUTCOMES: dict[str, Outcome] = {
    "exited": "Completed",
    "stopped": "Stopped",
    "max-runtime": "MaxRuntimeExceeded",
    "max-wait": "MaxWaitTimeExceeded",
}


class CannotStartError(Exception):
    """The container cannot be started at all (unknown image, no Docker engine…).

    Its message becomes the job's ``FailureReason`` after ``CannotStartContainerError:``,
    as SageMaker reports an image it cannot pull.
    """


@dataclass
class HostRun:
    """One host's container while and after it runs: what the shared logic reads of it.

    Args:
        name: ``algo-1``…
        paths: the host's tree as the runner sees it (on this machine's disk).
        poll: the exit code once the container has ended, else ``None``.
        handle: the runner's own handle on it (a process group id, a container id).
    """

    name: str
    paths: JobPaths
    poll: Callable[[], int | None]
    handle: Any = None
    tail: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=TAIL_LINES))
    #: this host's failure ended the job (the others were then terminated)
    failed_first: bool = False

    @property
    def returncode(self) -> int | None:
        return self.poll()


@dataclass(frozen=True)
class Launch:
    """What a runner's launcher needs of any job, training or processing.

    Args:
        job_name: the job's name.
        workdir: the job's private directory.
        max_runtime_seconds: ``StoppingCondition.MaxRuntimeInSeconds``.
        max_wait_seconds: managed spot: what is left of ``MaxWaitTimeInSeconds`` (else ``None``).
        kind: ``"training"`` or ``"processing"`` (which program a built-in image runs by default).
        plan: the runner's own launch plan, from its ``plan_*`` method (argv, image…).
    """

    job_name: str
    workdir: Path
    max_runtime_seconds: float
    max_wait_seconds: float | None
    kind: str
    plan: Any


class Terminator(Protocol):
    def __call__(self, hosts: Sequence[HostRun], grace: float) -> None: ...


def supervise(launch: Launch, hosts: Sequence[HostRun], stop: StopSignal, terminate: Terminator) -> str:
    """Wait until every host exits, a stop arrives or a time limit passes; returns which.

    One host failing fails the job: the others are ended as SageMaker does. Returns
    ``exited``, ``stopped``, ``interrupted``, ``max-wait`` or ``max-runtime``.
    """
    started = time.monotonic()
    deadline = started + launch.max_runtime_seconds
    wait_deadline = None if launch.max_wait_seconds is None else started + launch.max_wait_seconds
    while True:
        codes = [host.poll() for host in hosts]
        if all(code is not None for code in codes):
            return "exited"
        if any(code not in (None, 0) for code in codes):
            next(host for host, code in zip(hosts, codes, strict=True) if code not in (None, 0)).failed_first = True
            terminate(hosts, grace=5)
            return "exited"
        if stop.requested:
            terminate(hosts, grace=stop.grace_seconds)
            return "interrupted" if stop.reason == "interrupt" else "stopped"
        if wait_deadline is not None and time.monotonic() >= wait_deadline:
            terminate(hosts, grace=min(stop.grace_seconds, 10))
            return "max-wait"
        if time.monotonic() >= deadline:
            terminate(hosts, grace=min(stop.grace_seconds, 10))
            return "max-runtime"
        time.sleep(POLL_SECONDS)


def failed_host(hosts: Sequence[HostRun]) -> HostRun | None:
    """The host whose failure ended the job (not one terminated because of it), if any failed."""
    failed = [host for host in hosts if host.returncode != 0]
    return next((host for host in failed if host.failed_first), failed[0] if failed else None)


def failure_reason(host: HostRun) -> str:
    """The failure file's text, else the exit code and the last lines the container wrote."""
    reason = workspace.failure_text(host.paths)
    if reason is None:
        last = " | ".join(line for line in host.tail if line.strip())
        reason = f"process on {host.name} exited with code {host.returncode}. Last output: {last}"
    return reason


def _stopped_outcome(stop: StopSignal) -> RunOutcome:
    """A run that ended on a stop before its containers started: Stopped, or Interrupted (spot)."""
    return RunOutcome("Interrupted" if stop.reason == "interrupt" else "Stopped")


def _planned(plan: Callable[[Any], Any], request: Any) -> tuple[Any, str | None]:
    """The runner's plan for a request, or the ``FailureReason`` when it cannot start at all."""
    try:
        return plan(request), None
    except CannotStartError as error:
        return None, f"CannotStartContainerError: {error}"


class TreeRunner(ABC):
    """The runner protocol's shared body: trees, channels, checkpoints, outcomes, uploads.

    Subclasses say how a job is planned (``plan_training`` / ``plan_processing``, which
    raise :class:`CannotStartError` before anything is downloaded) and how its hosts are
    launched and supervised (``execute``).

    Args:
        artifacts: where checkpoints and model artifacts are kept (``None``: S3 only).
        checkpoint_interval: seconds between checkpoint copies while a job runs.
    """

    #: the name users see in a ``CannotStartContainerError`` (``process``, ``docker``)
    kind = "runner"

    def __init__(self, artifacts: ArtifactStore | None = None, checkpoint_interval: float = 300) -> None:
        self.artifacts = artifacts
        self.checkpoint_interval = checkpoint_interval

    # -- what a runner provides -------------------------------------------------------
    @abstractmethod
    def plan_training(self, request: RunRequest) -> Any:
        """How this runner will start the job's containers; raises :class:`CannotStartError`."""

    @abstractmethod
    def plan_processing(self, request: ProcessingRunRequest) -> Any:
        """How this runner will start a processing job; raises :class:`CannotStartError`."""

    @abstractmethod
    def execute(self, launch: Launch, request: RunRequest | ProcessingRunRequest, trees: list[JobPaths],
                events: JobEvents, stop: StopSignal,
                on_started: Callable[[], None] | None = None) -> tuple[list[HostRun], str]:
        """Start one container per tree, supervise them to the end and clean up.

        Returns the hosts (exit codes and output tails readable) and how the run ended
        (see :func:`supervise`).
        """

    # -- the Runner protocol ----------------------------------------------------------
    def run(self, request: RunRequest, events: JobEvents, stop: StopSignal) -> RunOutcome:
        plan, refused = _planned(self.plan_training, request)
        if refused is not None:
            return RunOutcome("Failed", failure_reason=refused, failure_kind=FailureKind.CLIENT)
        s3 = s3io.s3_client(request.s3_endpoint_url, request.region)
        names = workspace.host_names(request.instance_count)
        events.secondary_status("Downloading", "Downloading input data")
        try:
            trees = []
            for index, host in enumerate(names):
                if stop.requested:  # between hosts and between objects: a stop does not wait for the data
                    return _stopped_outcome(stop)
                paths = workspace.prepare_tree(request, host, names)
                workspace.download_channels(s3, request, paths, index, len(names), lambda: stop.requested)
                trees.append(paths)
            checkpoints = CheckpointSync(self.artifacts, request, Path(checkpoint_dir(request, trees[0])),
                                         self.checkpoint_interval, s3, events)
            checkpoints.restore([Path(checkpoint_dir(request, paths)) for paths in trees])
        except s3io.DataError as error:
            return RunOutcome("Failed", failure_reason=str(error), failure_kind=FailureKind.CLIENT)
        except s3io.StopRequested:
            return _stopped_outcome(stop)
        if stop.requested:
            return _stopped_outcome(stop)

        events.secondary_status("Training", "Training image download completed. Training in progress.")
        launch = Launch(request.job_name, request.workdir, request.max_runtime_seconds, request.max_wait_seconds,
                        "training", plan)
        try:
            hosts, ended = self.execute(launch, request, trees, events, stop, on_started=checkpoints.start)
        except CannotStartError as error:
            checkpoints.finish()
            return RunOutcome("Failed", failure_reason=f"CannotStartContainerError: {error}",
                              failure_kind=FailureKind.CLIENT)
        checkpoints.finish()
        return self._conclude(request, hosts, ended, s3, events)

    def run_processing(self, request: ProcessingRunRequest, events: JobEvents, stop: StopSignal) -> ProcessingOutcome:
        """Run a processing job: inputs down to their ``LocalPath``, the container, outputs up at the end.

        https://docs.aws.amazon.com/sagemaker/latest/dg/build-your-own-processing-container.html
        """
        plan, refused = _planned(self.plan_processing, request)
        if refused is not None:
            return ProcessingOutcome("Failed", failure_reason=refused)
        s3 = s3io.s3_client(request.s3_endpoint_url, request.region)
        names = workspace.host_names(request.instance_count)
        try:
            trees = []
            for index, host in enumerate(names):
                if stop.requested:
                    return ProcessingOutcome("Stopped")
                trees.append(processing.prepare_processing_tree(s3, request, host, index, names,
                                                                lambda: stop.requested))
        except s3io.DataError as error:
            return ProcessingOutcome("Failed", failure_reason=str(error))
        except s3io.StopRequested:
            return ProcessingOutcome("Stopped")
        if stop.requested:
            return ProcessingOutcome("Stopped")
        launch = Launch(request.job_name, request.workdir, request.max_runtime_seconds, None, "processing", plan)
        try:
            hosts, ended = self.execute(launch, request, trees, events, stop)
        except CannotStartError as error:
            return ProcessingOutcome("Failed", failure_reason=f"CannotStartContainerError: {error}")
        message = workspace.message_text(hosts[0].paths)
        if ended in ("stopped", "interrupted"):
            return ProcessingOutcome("Stopped", exit_message=message)
        if ended == "max-runtime":
            reason = f"MaxRuntimeExceeded: the processing job ran longer than {request.max_runtime_seconds} s"
            return ProcessingOutcome("Failed", failure_reason=reason, exit_message=message)
        failed = failed_host(hosts)
        if failed is not None:
            return ProcessingOutcome("Failed", failure_reason=f"AlgorithmError: {failure_reason(failed)}",
                                     exit_message=message)
        try:
            for paths in trees:
                processing.upload_processing_outputs(s3, request, paths, on_skip=_skip_logger(events))
        except s3io.DataError as error:
            return ProcessingOutcome("Failed", failure_reason=str(error), exit_message=message)
        return ProcessingOutcome("Completed", exit_message=message)

    # -- the end of a training run ----------------------------------------------------
    def _conclude(self, request: RunRequest, hosts: list[HostRun], ended: str, s3: object,
                  events: JobEvents) -> RunOutcome:
        codes = [host.returncode for host in hosts]
        failed = failed_host(hosts)
        if ended == "exited" and failed is not None:
            return RunOutcome("Failed", failure_reason=f"AlgorithmError: {failure_reason(failed)}",
                              exit_code=failed.returncode, failure_kind=FailureKind.ALGORITHM)
        if ended == "interrupted":
            # a spot interruption: the job resumes later from its checkpoints; nothing is uploaded yet
            return RunOutcome("Interrupted", exit_code=codes[0])
        events.secondary_status("Uploading", "Uploading generated training model")
        try:
            model_uri, archive = workspace.upload_outputs(s3, request, hosts[0].paths, on_skip=_skip_logger(events))
        except s3io.DataError as error:
            return RunOutcome("Failed", failure_reason=str(error), exit_code=codes[0], failure_kind=FailureKind.CLIENT)
        if self.artifacts is not None:
            self.artifacts.put_model(artifact_owner(request), archive)
        return RunOutcome(_OUTCOMES[ended], model_artifacts=model_uri, exit_code=codes[0])


def _skip_logger(events: JobEvents) -> Callable[[str], None]:
    """Where an upload says what of the job's tree it left out (a symlink, a FIFO…): the job's log."""
    return lambda message: events.log(f"mlharbor: upload: {message}")
