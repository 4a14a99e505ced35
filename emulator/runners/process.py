"""The process runner: a job's container as local processes, one per host.

Each host gets its own tree (``<workdir>/algo-N``), mounted on ``/opt/ml`` in a private mount
namespace where the machine allows it. Processes run in their own session (so the whole
group can be signalled) and die with the control plane (``PR_SET_PDEATHSIG``); a pid file
lets a restarted control plane reap anything that survived.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from containers.registry import UnknownImageError, resolve
from emulator.artifacts import ArtifactStore
from emulator.contract import JobPaths
from emulator.runners import namespace, processing, serving, workspace
from emulator.runners.base import JobEvents, ProcessingRunRequest, RunRequest, StopSignal
from emulator.runners.environment import job_environment, machine_gpu_count
from emulator.runners.lifecycle import POLL_SECONDS, CannotStartError, HostRun, Launch, TreeRunner, supervise
from emulator.runners.local_process import die_with_parent, environ_value, pump_lines, signal_group, without_private
from emulator.runners.serving import ServingHandle, ServingRequest

log = logging.getLogger(__name__)

PID_FILE = "processes.json"
#: the sagemaker-training toolkit's switch that skips waiting for algo-N to resolve
SKIP_DNS_WAIT = "SM_STUDIO_LOCAL_MODE"

@dataclass
class _Host:
    """One host's process: the shared view of it (``run``), the process and its log reader."""

    run: HostRun
    process: subprocess.Popen[bytes]
    reader: threading.Thread | None = None


class ProcessRunner(TreeRunner):
    """Runs built-in images (and ``ContainerEntrypoint`` commands) as local processes.

    Args:
        use_namespace: give jobs a private ``/opt/ml`` when the machine allows it.
        artifacts: where checkpoints and model artifacts are kept (``None``: S3 only).
        checkpoint_interval: seconds between checkpoint copies while a job runs.
    """

    kind = "process"

    def __init__(self, use_namespace: bool = True, artifacts: ArtifactStore | None = None,
                 checkpoint_interval: float = 300) -> None:
        super().__init__(artifacts, checkpoint_interval)
        self.use_namespace = use_namespace and namespace.namespace_available()

    def reap(self, workdir: Path) -> None:
        """Kill what a previous control plane left running for this job (checked by job name)."""
        record_path = workdir / PID_FILE
        try:
            record = json.loads(record_path.read_text())
        except (FileNotFoundError, ValueError):
            return
        for group in record.get("process_groups", []):
            for pid in _group_members(group):
                if environ_value(pid, "TRAINING_JOB_NAME") == record.get("job_name"):
                    _signal(pid, signal.SIGKILL)
        record_path.unlink(missing_ok=True)

    def serve(self, request: ServingRequest, log: Callable[[str], None]) -> ServingHandle:
        """One endpoint variant as a local process on a free port (see :mod:`emulator.runners.serving`)."""
        return serving.start_process_server(request, log)

    # -- plans: the argv each host runs -----------------------------------------------
    def plan_training(self, request: RunRequest) -> list[str]:
        try:
            return self.command(request)
        except UnknownImageError as error:
            raise CannotStartError(f"{error}; the process runner runs built-in images only "
                                   "(see `mlharbor images`)") from None

    def plan_processing(self, request: ProcessingRunRequest) -> list[str]:
        try:
            return self.processing_command(request)
        except UnknownImageError as error:
            raise CannotStartError(str(error)) from None

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

    # -- launching --------------------------------------------------------------------
    def execute(self, launch: Launch, request: RunRequest | ProcessingRunRequest, trees: list[JobPaths],
                events: JobEvents, stop: StopSignal,
                on_started: Callable[[], None] | None = None) -> tuple[list[HostRun], str]:
        """Start one process per host, supervise them to the end, clean up; returns (hosts, how it ended)."""
        names = workspace.host_names(len(trees))
        base = without_private(os.environ)
        running = []
        for name, paths in zip(names, trees, strict=True):
            if isinstance(request, RunRequest):
                env = job_environment(request, paths, name, names, base, machine_gpu_count())
            else:
                env = processing.processing_environment(request, paths, base)
            running.append(self._start(launch, name, paths, env, names, events))
        self._write_pid_file(launch, running)
        if on_started is not None:
            on_started()
        ended = supervise(launch, [host.run for host in running], stop, self._terminate)
        self._kill_groups(running)  # background processes a job left behind end with it
        for host in running:
            if host.reader is not None:
                host.reader.join(5)
        (launch.workdir / PID_FILE).unlink(missing_ok=True)
        return [host.run for host in running], ended

    def _start(self, launch: Launch, host: str, paths: JobPaths, env: dict[str, str], names: list[str],
               events: JobEvents) -> _Host:
        env = dict(env)
        command = launch.plan
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
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent,
        )
        running = _Host(HostRun(host, paths, process.poll, handle=process.pid), process)
        running.reader = threading.Thread(target=self._pump, args=(running, events), daemon=True,
                                          name=f"log-{launch.job_name}-{host}")
        running.reader.start()
        return running

    @staticmethod
    def _pump(host: _Host, events: JobEvents) -> None:
        def on_line(line: str) -> None:
            host.run.tail.append(line)
            events.log(line, host.run.name)

        pump_lines(host.process.stdout, on_line)

    @staticmethod
    def _terminate(hosts: Sequence[HostRun], grace: float) -> None:
        """SIGTERM to every host's process group, then SIGKILL to what is left after ``grace``.

        The grace covers the whole group, not just its leader: a toolkit that exits at once on
        SIGTERM must not cut short the user script saving its last checkpoint.
        """
        groups = [host.handle for host in hosts]
        for pid in groups:
            signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(_group_alive(pid) for pid in groups):
            time.sleep(POLL_SECONDS * 2)
        for pid in groups:
            signal_group(pid, signal.SIGKILL)

    @staticmethod
    def _kill_groups(hosts: list[_Host]) -> None:
        """SIGKILL whatever is left of each host's group (a container's teardown), and reap it."""
        for host in hosts:
            signal_group(host.process.pid, signal.SIGKILL)
            host.process.wait()

    @staticmethod
    def _write_pid_file(launch: Launch, hosts: list[_Host]) -> None:
        record = {"job_name": launch.job_name, "process_groups": [host.process.pid for host in hosts]}
        path = launch.workdir / PID_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(record))
        temporary.replace(path)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


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
