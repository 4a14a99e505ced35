"""The Docker runner: a job's containers as real containers, ``docker run IMAGE train`` as on SageMaker.

Everything around the containers (trees, channels, checkpoints, outcomes, uploads) is the
shared :class:`~emulator.runners.lifecycle.TreeRunner`; this module only launches. Per job it
creates a private bridge network, one container per host (``algo-1``…, resolvable by name on
that network), each with its host's tree bind-mounted on ``/opt/ml``, the job's environment,
and the CPU quota and memory limit of its instance type. The embedded S3 and the graph server
listen on loopback; a relay on the network's gateway address (and nowhere else) lets the
containers reach them. Containers, network and relays are removed when the job ends, and
every Docker object carries the ``org.mlharbor`` labels so a restarted control plane (or a
test session) can find what is left.

Uses the ``docker`` SDK (https://docker-py.readthedocs.io/): the Engine API directly, no
``docker`` CLI and no shell between a request and the engine.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from containers import contract
from containers.contract import DEFAULT_BASE_DIR, JobPaths
from containers.registry import UnknownImageError, resolve
from emulator.artifacts import ArtifactStore
from emulator.images.build import builtin_tag
from emulator.runners import processing, workspace
from emulator.runners.base import JobEvents, ProcessingRunRequest, RunRequest, StopSignal
from emulator.runners.docker.engine import (
    CONTAINERS_FILE,
    JOB_LABEL,
    OWNER_LABEL,
    WORKDIR_LABEL,
    DockerPlan,
    DockerUnavailable,
    JobResources,
    container_lines,
    docker_client,
    gateway_address,
    remove_labelled,
)
from emulator.runners.docker.serving import start_docker_server
from emulator.runners.environment import checkpoint_dir, job_environment
from emulator.runners.instances import container_limits
from emulator.runners.lifecycle import POLL_SECONDS, CannotStartError, HostRun, Launch, TreeRunner, supervise
from emulator.runners.serving import ServingHandle, ServingRequest

log = logging.getLogger(__name__)

#: how long a job's end waits for its containers' last log lines (a 20 MiB line took over 10 s on a
#: loaded 2-core machine, and the job was reported Completed before its end was in the log)
LOG_DRAIN_S = 120


@dataclass
class _Container:
    """One host's container, its exit code once known, and its log and wait threads."""

    container: Any
    name: str
    paths: JobPaths
    exit_code: int | None = None
    ended: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    run: HostRun = field(init=False)

    def __post_init__(self) -> None:
        self.run = HostRun(self.name, self.paths, self.poll, handle=self.container)

    def poll(self) -> int | None:
        return self.exit_code if self.ended.is_set() else None


class DockerRunner(TreeRunner):
    """Runs any local image that follows the SageMaker contract, built-ins included.

    Args:
        artifacts: where checkpoints and model artifacts are kept (``None``: S3 only).
        checkpoint_interval: seconds between checkpoint copies while a job runs.
        client: a ``docker.DockerClient`` (made on first use otherwise).
        labels: extra labels on every container and network (tests mark theirs).
    """

    kind = "docker"

    def __init__(self, artifacts: ArtifactStore | None = None, checkpoint_interval: float = 300,
                 client: Any = None,
                 labels: dict[str, str] | None = None) -> None:
        super().__init__(artifacts, checkpoint_interval)
        self.labels = dict(labels or {})
        self._client = client
        self._client_lock = threading.Lock()
        self._active: set[JobResources] = set()

    # -- the engine -------------------------------------------------------------------
    def engine(self) -> Any:
        """The Docker client, made on first use.

        Raises:
            CannotStartError: the engine cannot be reached (the job fails with that reason).
        """
        with self._client_lock:
            if self._client is None:
                try:
                    self._client = docker_client()
                except DockerUnavailable as error:
                    raise CannotStartError(str(error)) from None
            return self._client

    def serve(self, request: ServingRequest, log: Callable[[str], None]) -> ServingHandle:
        """One endpoint variant as ``IMAGE serve`` (see :mod:`emulator.runners.docker.serving`)."""
        return start_docker_server(self, request, log)

    # -- plans ------------------------------------------------------------------------
    def plan_training(self, request: RunRequest) -> DockerPlan:
        image = self.local_image(request.image)
        if request.entrypoint:
            return DockerPlan(image, list(request.entrypoint), list(request.arguments or []))
        return DockerPlan(image, None, ["train", *(request.arguments or [])])

    def plan_processing(self, request: ProcessingRunRequest) -> DockerPlan:
        image = self.local_image(request.image)
        if request.entrypoint:
            return DockerPlan(image, list(request.entrypoint), list(request.arguments or []))
        return DockerPlan(image, None, list(request.arguments) if request.arguments else None)

    def local_image(self, reference: str) -> str:
        """The local image to run for ``reference``: itself if Docker has it, else the built built-in.

        A built-in's name (or an AWS DLC URI it stands for) runs the image ``mlharbor images --build``
        made; any other name must already be on this machine (nothing can be pulled).

        Raises:
            CannotStartError: no such local image; the message says how to get one.
        """
        import docker.errors

        client = self.engine()
        try:
            builtin = resolve(reference)
        except UnknownImageError:
            builtin = None
        candidates = [reference] + ([builtin_tag(builtin)] if builtin is not None else [])
        for candidate in candidates:
            try:
                client.images.get(candidate)
                return candidate
            except docker.errors.ImageNotFound:
                continue
            except docker.errors.DockerException as error:
                raise CannotStartError(f"the Docker engine could not look up image {candidate!r}: {error}") from None
        if builtin is not None:
            raise CannotStartError(f"image {reference!r} is the built-in {builtin.name}, which is not built on this "
                                   "machine: run `mlharbor images --build`")
        raise CannotStartError(f"image {reference!r} is not on this machine and no registry is reachable: build or "
                               f"load it first (docker build -t {reference} …)")

    # -- launching --------------------------------------------------------------------
    def execute(self, launch: Launch, request: RunRequest | ProcessingRunRequest, trees: list[JobPaths],
                events: JobEvents, stop: StopSignal,
                on_started: Callable[[], None] | None = None) -> tuple[list[HostRun], str]:
        """Network, relays, one container per host; supervise; remove everything; returns (hosts, how it ended)."""
        import docker.errors

        client = self.engine()
        plan: DockerPlan = launch.plan
        names = workspace.host_names(len(trees))
        labels = {OWNER_LABEL: "1", JOB_LABEL: launch.job_name, WORKDIR_LABEL: str(launch.workdir), **self.labels}
        resources = JobResources(client, launch.workdir)
        with self._client_lock:
            self._active.add(resources)
        try:
            network = resources.network(f"mlharbor-{launch.job_name}-{secrets.token_hex(3)}", labels)
            gateway = gateway_address(network)
            s3_url = resources.relay(request.s3_endpoint_url, gateway)
            # the graph server's Gremlin URL (ws://127.0.0.1:P/gremlin) reached through the gateway, like S3
            graph = request.graph_endpoint_url
            graph_url = resources.relay(graph, gateway) if graph else None
            limits = container_limits(request.instance_type)
            hosts = []
            for name, paths in zip(names, trees, strict=True):
                env = self._environment(request, name, names, s3_url, graph_url, int(math.ceil(limits.cpus)))
                container = resources.container(
                    plan, name=f"mlharbor-{launch.job_name}-{name}", host=name, network=network.name,
                    environment=env, volumes=_volumes(request, paths), labels=labels,
                    nano_cpus=limits.nano_cpus, mem_limit=limits.memory_bytes,
                )
                hosts.append(_Container(container, name, paths))
            for host in hosts:
                host.container.start()
                host.threads = [
                    _thread(self._pump, host, events, name=f"log-{launch.job_name}-{host.run.name}"),
                    _thread(self._wait, host, name=f"wait-{launch.job_name}-{host.run.name}"),
                ]
            if on_started is not None:
                on_started()
            ended = supervise(launch, [host.run for host in hosts], stop, self._terminate)
            self._terminate([host.run for host in hosts], grace=0)  # whatever a job left running ends with it
            for host in hosts:
                for thread in host.threads:
                    thread.join(LOG_DRAIN_S)
            return [host.run for host in hosts], ended
        except docker.errors.DockerException as error:
            raise CannotStartError(f"the Docker engine refused the job's containers: {error}") from None
        finally:
            resources.release()
            with self._client_lock:
                self._active.discard(resources)

    def close(self) -> None:
        """The control plane is going away: remove every running job's containers and network.

        Called after the job records are closed, so the jobs stay ``InProgress`` on disk and the
        next control plane resumes or fails them, as it does for process-runner jobs (whose
        processes die with the control plane).
        """
        with self._client_lock:
            active = list(self._active)
        for resources in active:
            resources.release()

    def reap(self, workdir: Path) -> None:
        """Remove the containers and network a previous control plane left for this job."""
        record = workdir / CONTAINERS_FILE
        if not record.exists():
            return
        try:
            client = self.engine()
        except CannotStartError as error:
            log.warning("cannot reap the containers of %s: %s", workdir, error)
            return
        remove_labelled(client, f"{WORKDIR_LABEL}={workdir}")
        record.unlink(missing_ok=True)

    # -- pieces -----------------------------------------------------------------------
    def _environment(self, request: RunRequest | ProcessingRunRequest, host: str, hosts: list[str], s3_url: str,
                     graph_url: str | None, cpus: int) -> dict[str, str]:
        """The job's environment as the container sees it: ``/opt/ml`` paths, relayed endpoints."""
        paths = JobPaths(DEFAULT_BASE_DIR)
        inside = dataclasses.replace(request, s3_endpoint_url=s3_url, graph_endpoint_url=graph_url)
        if isinstance(inside, RunRequest):
            env = job_environment(inside, paths, host, hosts, {}, num_gpus=0, num_cpus=cpus)
            local = inside.checkpoint_local_path
            if local and not _under_base(local):
                env[contract.SM_CHECKPOINT_DIR] = local
        else:
            env = processing.processing_environment(inside, paths, {})
        return env

    @staticmethod
    def _pump(host: _Container, events: JobEvents) -> None:
        """Forward the container's output to the job's log, line by line."""
        def on_line(line: str) -> None:
            host.run.tail.append(line)
            events.log(line, host.run.name)

        container_lines(host.container, on_line)

    @staticmethod
    def _wait(host: _Container) -> None:
        """Block until the container exits; record its code (and why, when it ran out of memory)."""
        try:
            host.exit_code = int(host.container.wait().get("StatusCode", -1))
            host.container.reload()
            if host.container.attrs.get("State", {}).get("OOMKilled"):
                host.run.tail.append("OutOfMemoryError: the container exceeded its instance type's memory")
        except Exception as error:
            host.exit_code = -1 if host.exit_code is None else host.exit_code
            host.run.tail.append(f"the Docker engine lost the container: {error}")
        host.ended.set()

    @staticmethod
    def _terminate(hosts: Sequence[HostRun], grace: float) -> None:
        """SIGTERM to every process of every host, then SIGKILL to what is left after ``grace``.

        Like the process runner's signal to the whole process group: ``docker stop`` would only
        signal PID 1, and a toolkit that exits at once must not cut short the user script
        saving its last checkpoint. Containers run with an init (``init=True``) that passes the
        signal on to the job's first process.
        """
        running = [host for host in hosts if host.poll() is None]
        if grace > 0:
            threads = [_thread(_signal_all, host.handle, name=f"term-{host.name}") for host in running]
            for thread in threads:
                thread.join(10)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and any(host.poll() is None for host in running):
                time.sleep(POLL_SECONDS * 2)
        for host in running:
            if host.poll() is None:
                with contextlib.suppress(Exception):
                    host.handle.kill()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(host.poll() is None for host in running):
            time.sleep(POLL_SECONDS)


def _volumes(request: RunRequest | ProcessingRunRequest, paths: JobPaths) -> dict[str, dict[str, str]]:
    """The host's tree on ``/opt/ml``; a ``CheckpointConfig.LocalPath`` outside it mounted where it says."""
    volumes = {str(paths.base): {"bind": str(DEFAULT_BASE_DIR), "mode": "rw"}}
    if isinstance(request, RunRequest):
        local = request.checkpoint_local_path
        if local and not _under_base(local):
            volumes[checkpoint_dir(request, paths)] = {"bind": str(PurePosixPath(local)), "mode": "rw"}
    return volumes


def _under_base(local: str) -> bool:
    return PurePosixPath(local).is_relative_to(PurePosixPath(str(DEFAULT_BASE_DIR)))


def _signal_all(container: Any) -> None:
    """SIGTERM to every process in the container (``kill -1`` from inside), then to its init."""
    with contextlib.suppress(Exception):
        container.exec_run(["sh", "-c", "kill -TERM -1"], detach=False)
    with contextlib.suppress(Exception):
        container.kill(signal="SIGTERM")


def _thread(target: Callable[..., None], *args: Any, name: str) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True, name=name)
    thread.start()
    return thread
