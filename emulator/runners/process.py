"""The process runner: a job's container as local processes, one per host.

Each host gets its own tree (``<workdir>/algo-N``), mounted on ``/opt/ml`` in a private mount
namespace where the machine allows it. Processes run in their own session (so the whole
group can be signalled) and die with the control plane (``PR_SET_PDEATHSIG``); a pid file
lets a restarted control plane reap anything that survived.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from containers.registry import UnknownImageError, resolve
from emulator.artifacts import ArtifactStore
from emulator.contract import JobPaths
from emulator.runners import namespace, processing, s3io, serving, workspace
from emulator.runners.base import (
    JobEvents,
    Outcome,
    ProcessingOutcome,
    ProcessingRunRequest,
    RunOutcome,
    RunRequest,
    StopSignal,
)
from emulator.runners.checkpointing import CheckpointSync
from emulator.runners.environment import checkpoint_dir, job_environment, machine_gpu_count
from emulator.runners.serving import ServingHandle, ServingRequest

log = logging.getLogger(__name__)

PID_FILE = "processes.json"
_OUTCOMES: dict[str, Outcome] = {
    "exited": "Completed",
    "stopped": "Stopped",
    "max-runtime": "MaxRuntimeExceeded",
    "max-wait": "MaxWaitTimeExceeded",
}
#: the sagemaker-training toolkit's switch that skips waiting for algo-N to resolve
SKIP_DNS_WAIT = "SM_STUDIO_LOCAL_MODE"
_POLL_SECONDS = 0.05
_TAIL_LINES = 8
#: variables of the server's own environment a job must not inherit
_PRIVATE_ENV = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def _die_with_parent() -> None:
    """In the child before exec: get SIGKILL when the control plane's thread goes away."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass(frozen=True)
class _Launch:
    """What the shared launch core needs of any job: name, tree root, command and limits."""

    job_name: str
    workdir: Path
    command: list[str]
    max_runtime_seconds: float
    max_wait_seconds: float | None = None


@dataclass
class _Host:
    name: str
    paths: JobPaths
    process: subprocess.Popen[bytes]
    tail: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=_TAIL_LINES))
    reader: threading.Thread | None = None


class ProcessRunner:
    """Runs built-in images (and ``ContainerEntrypoint`` commands) as local processes.

    Args:
        use_namespace: give jobs a private ``/opt/ml`` when the machine allows it.
        artifacts: where checkpoints and model artifacts are kept (``None``: S3 only).
        checkpoint_interval: seconds between checkpoint copies while a job runs.
    """

    def __init__(self, use_namespace: bool = True, artifacts: ArtifactStore | None = None,
                 checkpoint_interval: float = 300) -> None:
        self.use_namespace = use_namespace and namespace.namespace_available()
        self.artifacts = artifacts
        self.checkpoint_interval = checkpoint_interval

    # -- the Runner protocol ----------------------------------------------------------
    def run(self, request: RunRequest, events: JobEvents, stop: StopSignal) -> RunOutcome:
        try:
            command = self.command(request)
        except UnknownImageError as error:
            return RunOutcome("Failed", failure_reason=f"CannotStartContainerError: {error}; the process runner "
                                                       "runs built-in images only (see `mlharbor images`)")
        s3 = s3io.s3_client(request.s3_endpoint_url, request.region)
        names = workspace.host_names(request.instance_count)
        events.secondary_status("Downloading", "Downloading input data")
        try:
            trees = []
            for index, host in enumerate(names):
                paths = workspace.prepare_tree(request, host, names)
                workspace.download_channels(s3, request, paths, index, len(names))
                trees.append(paths)
            checkpoints = CheckpointSync(self.artifacts, request, Path(checkpoint_dir(request, trees[0])),
                                         self.checkpoint_interval, s3, events)
            checkpoints.restore([Path(checkpoint_dir(request, paths)) for paths in trees])
        except s3io.DataError as error:
            return RunOutcome("Failed", failure_reason=str(error))
        if stop.requested:
            return RunOutcome("Interrupted" if stop.reason == "interrupt" else "Stopped")

        events.secondary_status("Training", "Training image download completed. Training in progress.")
        base = _inherited_environment()
        launch = _Launch(request.job_name, request.workdir, command, request.max_runtime_seconds,
                         request.max_wait_seconds)
        hosts, ended = self._execute(
            launch, [(host, paths, job_environment(request, paths, host, names, base, machine_gpu_count()))
                     for host, paths in zip(names, trees, strict=True)],
            events, stop, on_started=checkpoints.start,
        )
        checkpoints.finish()
        return self._conclude(request, hosts, ended, s3, events)

    def run_processing(self, request: ProcessingRunRequest, events: JobEvents, stop: StopSignal) -> ProcessingOutcome:
        """Run a processing job: inputs down to their ``LocalPath``, the container, outputs up at the end.

        https://docs.aws.amazon.com/sagemaker/latest/dg/build-your-own-processing-container.html
        """
        try:
            command = self.processing_command(request)
        except UnknownImageError as error:
            return ProcessingOutcome("Failed", failure_reason=f"CannotStartContainerError: {error}")
        s3 = s3io.s3_client(request.s3_endpoint_url, request.region)
        names = workspace.host_names(request.instance_count)
        try:
            trees = [
                processing.prepare_processing_tree(s3, request, host, index, names)
                for index, host in enumerate(names)
            ]
        except s3io.DataError as error:
            return ProcessingOutcome("Failed", failure_reason=str(error))
        if stop.requested:
            return ProcessingOutcome("Stopped")
        base = _inherited_environment()
        launch = _Launch(request.job_name, request.workdir, command, request.max_runtime_seconds)
        hosts, ended = self._execute(
            launch, [(host, paths, processing.processing_environment(request, paths, base))
                     for host, paths in zip(names, trees, strict=True)],
            events, stop,
        )
        leader = hosts[0]
        message = workspace.message_text(leader.paths)
        if ended in ("stopped", "interrupted"):
            return ProcessingOutcome("Stopped", exit_message=message)
        if ended == "max-runtime":
            reason = f"MaxRuntimeExceeded: the processing job ran longer than {request.max_runtime_seconds} s"
            return ProcessingOutcome("Failed", failure_reason=reason, exit_message=message)
        failed = next((host for host in hosts if host.process.returncode != 0), None)
        if failed is not None:
            return ProcessingOutcome("Failed", failure_reason=f"AlgorithmError: {_failure_reason(failed)}",
                                     exit_message=message)
        try:
            for paths in trees:
                processing.upload_processing_outputs(s3, request, paths)
        except s3io.DataError as error:
            return ProcessingOutcome("Failed", failure_reason=str(error), exit_message=message)
        return ProcessingOutcome("Completed", exit_message=message)

    def reap(self, workdir: Path) -> None:
        """Kill what a previous control plane left running for this job (checked by job name)."""
        record_path = workdir / PID_FILE
        try:
            record = json.loads(record_path.read_text())
        except (FileNotFoundError, ValueError):
            return
        for group in record.get("process_groups", []):
            for pid in _group_members(group):
                if _job_name_of(pid) == record.get("job_name"):
                    _signal(pid, signal.SIGKILL)
        record_path.unlink(missing_ok=True)

    def serve(self, request: ServingRequest, log: Callable[[str], None]) -> ServingHandle:
        """One endpoint variant as a local process on a free port (see :mod:`emulator.runners.serving`)."""
        return serving.start_process_server(request, log)

    # -- steps ------------------------------------------------------------------------
    def command(self, request: RunRequest) -> list[str]:
        """The argv of the container's ``train`` (or its ``ContainerEntrypoint``)."""
        image = resolve(request.image)
        if request.entrypoint:
            return [*image.local_argv(request.entrypoint), *(request.arguments or [])]
        return [*image.train_command(), *(request.arguments or [])]

    def processing_command(self, request: ProcessingRunRequest) -> list[str]:
        """The argv of a processing container: its ``ContainerEntrypoint`` (else its own ``process``)."""
        image = resolve(request.image)
        if request.entrypoint:
            return [*image.local_argv(request.entrypoint), *(request.arguments or [])]
        return [*image.process_command(), *(request.arguments or [])]

    def _execute(self, launch: _Launch, hosts: list[tuple[str, JobPaths, dict[str, str]]], events: JobEvents,
                 stop: StopSignal, on_started: Callable[[], None] | None = None) -> tuple[list[_Host], str]:
        """Start one process per host, supervise them to the end, clean up; returns (hosts, how it ended)."""
        names = [name for name, _, _ in hosts]
        running = [self._start(launch, name, paths, env, names, events) for name, paths, env in hosts]
        self._write_pid_file(launch, running)
        if on_started is not None:
            on_started()
        ended = self._supervise(launch, running, stop)
        self._kill_groups(running)  # background processes a job left behind end with it
        for host in running:
            if host.reader is not None:
                host.reader.join(5)
        (launch.workdir / PID_FILE).unlink(missing_ok=True)
        return running, ended

    def _start(self, launch: _Launch, host: str, paths: JobPaths, env: dict[str, str], names: list[str],
               events: JobEvents) -> _Host:
        env = dict(env)
        command = launch.command
        if self.use_namespace:
            hosts_file = launch.workdir / f"hosts-{host}"
            hosts_file.write_text(namespace.hosts_file_text(names))
            argv = namespace.wrap(command, str(paths.base), str(hosts_file))
        else:
            # algo-N cannot resolve without the namespace's hosts file: the toolkit's local-mode switch skips its wait
            env[SKIP_DNS_WAIT] = "true"
            argv = command
        process = subprocess.Popen(
            argv, env=env, cwd=str(paths.base), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent,
        )
        running = _Host(host, paths, process)
        running.reader = threading.Thread(target=self._pump, args=(running, events), daemon=True,
                                          name=f"log-{launch.job_name}-{host}")
        running.reader.start()
        return running

    @staticmethod
    def _pump(host: _Host, events: JobEvents) -> None:
        stream = host.process.stdout
        if stream is None:
            return
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            host.tail.append(line)
            events.log(line, host.name)

    def _supervise(self, launch: _Launch, hosts: list[_Host], stop: StopSignal) -> str:
        """Wait until every host exits, a stop arrives or the runtime runs out; returns which."""
        started = time.monotonic()
        deadline = started + launch.max_runtime_seconds
        wait_deadline = None if launch.max_wait_seconds is None else started + launch.max_wait_seconds
        while True:
            if all(host.process.poll() is not None for host in hosts):
                return "exited"
            if any(host.process.poll() not in (None, 0) for host in hosts):
                # one host failed: the job has failed, end the others as SageMaker does
                self._terminate(hosts, grace=5)
                return "exited"
            if stop.requested:
                self._terminate(hosts, grace=stop.grace_seconds)
                return "interrupted" if stop.reason == "interrupt" else "stopped"
            if wait_deadline is not None and time.monotonic() >= wait_deadline:
                self._terminate(hosts, grace=min(stop.grace_seconds, 10))
                return "max-wait"
            if time.monotonic() >= deadline:
                self._terminate(hosts, grace=min(stop.grace_seconds, 10))
                return "max-runtime"
            time.sleep(_POLL_SECONDS)

    @staticmethod
    def _terminate(hosts: list[_Host], grace: float) -> None:
        """SIGTERM to every host's process group, then SIGKILL to what is left after ``grace``.

        The grace covers the whole group, not just its leader: a toolkit that exits at once on
        SIGTERM must not cut short the user script saving its last checkpoint.
        """
        for host in hosts:
            _signal_group(host.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(_group_alive(host.process.pid) for host in hosts):
            time.sleep(_POLL_SECONDS * 2)
        ProcessRunner._kill_groups(hosts)

    @staticmethod
    def _kill_groups(hosts: list[_Host]) -> None:
        """SIGKILL whatever is left of each host's group (a container's teardown), and reap it."""
        for host in hosts:
            _signal_group(host.process.pid, signal.SIGKILL)
            host.process.wait()

    def _conclude(self, request: RunRequest, hosts: list[_Host], ended: str, s3: object,
                  events: JobEvents) -> RunOutcome:
        leader = hosts[0]
        codes = [host.process.returncode for host in hosts]
        if ended == "exited" and any(code != 0 for code in codes):
            failed = next(host for host in hosts if host.process.returncode != 0)
            return RunOutcome("Failed", failure_reason=f"AlgorithmError: {_failure_reason(failed)}",
                              exit_code=failed.process.returncode)
        if ended == "interrupted":
            # a spot interruption: the job resumes later from its checkpoints; nothing is uploaded yet
            return RunOutcome("Interrupted", exit_code=codes[0])
        events.secondary_status("Uploading", "Uploading generated training model")
        try:
            model_uri, archive = workspace.upload_outputs(s3, request, leader.paths)
        except s3io.DataError as error:
            return RunOutcome("Failed", failure_reason=str(error), exit_code=codes[0])
        if self.artifacts is not None:
            self.artifacts.put_model(request.job_name, archive)
        return RunOutcome(_OUTCOMES[ended], model_artifacts=model_uri, exit_code=codes[0])

    @staticmethod
    def _write_pid_file(launch: _Launch, hosts: list[_Host]) -> None:
        record = {"job_name": launch.job_name, "process_groups": [host.process.pid for host in hosts]}
        path = launch.workdir / PID_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(record))
        temporary.replace(path)


def _failure_reason(host: _Host) -> str:
    """The failure file's text, else the exit code and the last lines the process wrote."""
    reason = workspace.failure_text(host.paths)
    if reason is None:
        last = " | ".join(line for line in host.tail if line.strip())
        reason = f"process on {host.name} exited with code {host.process.returncode}. Last output: {last}"
    return reason


def _inherited_environment() -> dict[str, str]:
    """The server's environment minus what a job must not inherit (the user's own AWS session)."""
    return {key: value for key, value in os.environ.items() if key not in _PRIVATE_ENV}


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group is still running (zombies do not count)."""
    return any(_state(pid) not in ("Z", None) for pid in _group_members(pgid))


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _job_name_of(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    for item in raw.split(b"\0"):
        if item.startswith(b"TRAINING_JOB_NAME="):
            return item.split(b"=", 1)[1].decode(errors="replace")
    return None
