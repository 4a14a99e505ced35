"""The process runner: a job's container as local processes, one per host.

Each host gets its own tree (``<workdir>/algo-N``), mounted on ``/opt/ml`` in a private mount
namespace where the machine allows it, and its own Python environment (:mod:`job_env`).
Processes run in their own session (so the whole group can be signalled) and die with the
control plane (``PR_SET_PDEATHSIG``). Every process a job starts ends with it: a PID namespace
per host where the machine allows it (:mod:`namespace`), else the descendants and marked
processes of :mod:`job_processes`; the host's memory cgroup (:mod:`cgroup`), where there is one,
holds its instance type's memory and lists its processes too. A pid file lets a restarted
control plane reap anything that survived.
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
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from containers.contract import JobPaths
from containers.registry import BuiltinImage, UnknownImageError, resolve
from emulator.artifacts import ArtifactStore
from emulator.core.atomic import write_atomic
from emulator.runners import processing, workspace
from emulator.runners.base import JobEvents, ProcessingRunRequest, RunRequest, StopSignal
from emulator.runners.environment import job_environment, machine_gpu_count, without_private
from emulator.runners.instances import container_limits
from emulator.runners.lifecycle import POLL_SECONDS, CannotStartError, HostRun, Launch, TreeRunner, supervise
from emulator.runners.lines import pump_lines
from emulator.runners.local import cgroup, job_env, job_processes, namespace, serving
from emulator.runners.local.children import die_with_parent, environ_value, signal_group
from emulator.runners.local.job_processes import RUN_MARKER_ENV, DescendantWatch
from emulator.runners.serving import ServingHandle, ServingRequest

log = logging.getLogger(__name__)

PID_FILE = "processes.json"
#: the sagemaker-training toolkit's switch that skips waiting for algo-N to resolve
SKIP_DNS_WAIT = "SM_STUDIO_LOCAL_MODE"
_GIB = 1024**3


@dataclass(frozen=True)
class CommandPlan:
    """What a host runs: the image's program (or ``ContainerEntrypoint``) and its arguments.

    The interpreter is named only at launch, when the host's own environment exists.
    """

    image: BuiltinImage
    program: str
    entrypoint: list[str] | None = None
    arguments: list[str] = field(default_factory=list)

    def argv(self, python: str) -> list[str]:
        if self.entrypoint:
            return [*self.image.local_argv(self.entrypoint, python), *self.arguments]
        default = self.image.train_command(python) if self.program == "train" else self.image.process_command(python)
        return [*default, *self.arguments]


@dataclass
class _Host:
    """One host's process: the shared view of it (``run``), the process, its log reader and cgroup."""

    run: HostRun
    process: subprocess.Popen[bytes]
    reader: threading.Thread | None = None
    memory: cgroup.MemoryCgroup | None = None


class ProcessRunner(TreeRunner):
    """Runs built-in images (and ``ContainerEntrypoint`` commands) as local processes.

    Args:
        use_namespace: give jobs a private ``/opt/ml`` (and PID namespace) when the machine allows it.
        artifacts: where checkpoints and model artifacts are kept (``None``: S3 only).
        checkpoint_interval: seconds between checkpoint copies while a job runs.
        enforce_memory: hold each host to its instance type's memory where the kernel allows it.
    """

    kind = "process"

    def __init__(self, use_namespace: bool = True, artifacts: ArtifactStore | None = None,
                 checkpoint_interval: float = 300, enforce_memory: bool = True) -> None:
        super().__init__(artifacts, checkpoint_interval)
        self.use_namespace = use_namespace and namespace.namespace_available()
        self.own_pids = self.use_namespace and namespace.pid_namespace_available()
        self.enforce_memory = enforce_memory

    def close(self) -> None:
        """Nothing to end: a job's and a variant's processes die with the control plane (``PR_SET_PDEATHSIG``)."""

    def reap(self, workdir: Path) -> None:
        """Kill what a previous control plane left running for this job (checked by its run marker)."""
        record_path = workdir / PID_FILE
        try:
            record = json.loads(record_path.read_text())
        except (FileNotFoundError, ValueError):
            return
        marker = record.get("run_id")
        for group in record.get("process_groups", []):
            for pid in job_processes.group_members(group):
                if _belongs(pid, record):
                    _signal(pid, signal.SIGKILL)
        if marker:
            job_processes.kill_marked(marker)
        for entry in record.get("cgroups", []):
            leftover = cgroup.from_record(entry.get("path", ""), int(entry.get("version", 1)))
            if leftover is not None:
                leftover.remove()
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

    def command(self, request: RunRequest) -> CommandPlan:
        """The container's ``train`` (or its ``ContainerEntrypoint``)."""
        return CommandPlan(resolve(request.image), "train", request.entrypoint, list(request.arguments or []))

    def processing_command(self, request: ProcessingRunRequest) -> CommandPlan:
        """A processing container's ``ContainerEntrypoint`` (else its own ``process``)."""
        return CommandPlan(resolve(request.image), "process", request.entrypoint, list(request.arguments or []))

    # -- launching --------------------------------------------------------------------
    def execute(self, launch: Launch, request: RunRequest | ProcessingRunRequest, trees: list[JobPaths],
                events: JobEvents, stop: StopSignal,
                on_started: Callable[[], None] | None = None) -> tuple[list[HostRun], str]:
        """Start one process per host, supervise them to the end, clean up; returns (hosts, how it ended)."""
        names = workspace.host_names(len(trees))
        base = without_private(os.environ)
        marker = uuid.uuid4().hex
        running: list[_Host] = []
        watch: DescendantWatch | None = None
        try:
            for name, paths in zip(names, trees, strict=True):
                if isinstance(request, RunRequest):
                    env = job_environment(request, paths, name, names, base, machine_gpu_count())
                else:
                    env = processing.processing_environment(request, paths, base)
                interpreter = job_env.create(launch.workdir / f"env-{name}")
                env = interpreter.environment(env)
                env[RUN_MARKER_ENV] = marker
                memory = self._memory_cgroup(f"{marker}-{name}", request.instance_type, name, events)
                running.append(self._start(launch, name, paths, env, names, events, interpreter, memory))
            self._write_pid_file(launch, running, marker)
            if not self.own_pids:
                watch = DescendantWatch([host.process.pid for host in running], marker)
                watch.start()
            if on_started is not None:
                on_started()
            ended = supervise(launch, [host.run for host in running], stop, self._terminate)
        finally:
            self._end(running, watch)  # background processes a job left behind end with it
        for host in running:
            if host.reader is not None:
                host.reader.join(5)
        (launch.workdir / PID_FILE).unlink(missing_ok=True)
        return [host.run for host in running], ended

    def _memory_cgroup(self, name: str, instance_type: str, host: str,
                       events: JobEvents) -> cgroup.MemoryCgroup | None:
        """The host's memory cgroup, or ``None`` with a line in its log saying why the limit is not held."""
        if not self.enforce_memory:
            return None
        limit = container_limits(instance_type).memory_bytes
        try:
            memory = cgroup.create(name, limit)
        except cgroup.CgroupUnavailable as error:
            events.log(f"mlharbor: memory limit of {instance_type} ({limit / _GIB:g} GiB) not enforced: {error}",
                       host)
            return None
        log.info("memory limit of %s (%g GiB) for %s held by %s at %s", instance_type, limit / _GIB, host,
                 memory.description, memory.path)
        return memory

    def _start(self, launch: Launch, host: str, paths: JobPaths, env: dict[str, str], names: list[str],
               events: JobEvents, interpreter: job_env.JobInterpreter,
               memory: cgroup.MemoryCgroup | None) -> _Host:
        env = dict(env)
        command = launch.plan.argv(interpreter.python)
        if self.use_namespace:
            hosts_file = launch.workdir / f"hosts-{host}"
            hosts_file.write_text(namespace.hosts_file_text(names))
            argv = namespace.wrap(command, str(paths.base), str(hosts_file), own_pids=self.own_pids)
        else:
            # algo-N cannot resolve without the namespace's hosts file: the toolkit's local-mode switch skips its wait
            env[SKIP_DNS_WAIT] = "true"
            argv = command
        try:
            process = subprocess.Popen(
                argv, env=env, cwd=str(paths.base), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_prepare_child(memory),
            )
        except BaseException:
            if memory is not None:
                memory.remove()
            raise
        running = _Host(HostRun(host, paths, process.poll, handle=process.pid), process, memory=memory)
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
        while time.monotonic() < deadline and any(job_processes.group_members(pid) for pid in groups):
            time.sleep(POLL_SECONDS * 2)
        for pid in groups:
            signal_group(pid, signal.SIGKILL)

    @staticmethod
    def _end(hosts: list[_Host], watch: DescendantWatch | None) -> None:
        """A container's teardown: SIGKILL whatever is left of each host, wherever it went, and reap it.

        Killing a host's group ends its PID namespace, and with it every process inside; without
        one, the watch and the cgroup find what left the group.
        """
        for host in hosts:
            signal_group(host.process.pid, signal.SIGKILL)
            host.process.wait()
        if watch is not None:
            watch.kill_all()
        for host in hosts:
            if host.memory is not None:
                host.memory.remove()

    @staticmethod
    def _write_pid_file(launch: Launch, hosts: list[_Host], marker: str) -> None:
        record = {
            "job_name": launch.job_name,
            "run_id": marker,
            "process_groups": [host.process.pid for host in hosts],
            "cgroups": [{"path": str(host.memory.path), "version": host.memory.version}
                        for host in hosts if host.memory is not None],
        }
        write_atomic(launch.workdir / PID_FILE, json.dumps(record))


def _prepare_child(memory: cgroup.MemoryCgroup | None) -> Callable[[], None]:
    """What a host's process does before exec: die with the control plane, join its memory cgroup."""

    def prepare() -> None:
        die_with_parent()
        if memory is not None:
            memory.join()

    return prepare


def _belongs(pid: int, record: dict[str, object]) -> bool:
    """Whether ``pid`` is a process of the run a pid file describes (never one that reused a pid)."""
    marker = record.get("run_id")
    if marker and environ_value(pid, RUN_MARKER_ENV) == marker:
        return True
    return environ_value(pid, "TRAINING_JOB_NAME") == record.get("job_name")


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)
