"""The Docker objects of one job or serving variant, and the engine they live on.

Every object mlharbor makes carries the ``org.mlharbor`` labels, and a job's are recorded in its
workdir (``containers.json``), so a restarted control plane (or a test session) finds what is left;
:class:`JobResources` makes them and removes every one of them. Shared by the Docker runner's
jobs (:mod:`emulator.runners.docker.runner`) and variants (:mod:`emulator.runners.docker.serving`).
"""

from __future__ import annotations

import calendar
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from containers.contract import DEFAULT_BASE_DIR
from emulator.core.atomic import write_atomic
from emulator.runners.docker.relay import Relay, relayed_url, with_port
from emulator.runners.lifecycle import CannotStartError
from emulator.runners.lines import LineSplitter

log = logging.getLogger(__name__)

#: every container and network we create carries this label (value "1")
OWNER_LABEL = "org.mlharbor"
JOB_LABEL = "org.mlharbor.job"
WORKDIR_LABEL = "org.mlharbor.workdir"
#: written in a job's workdir while its containers exist: what a restarted control plane reaps
CONTAINERS_FILE = "containers.json"
_SHM_SIZE = "512m"
#: ``2026-12-03T11:37:36``: a Docker log timestamp to the second
_SECOND_CHARS = 19
_ENGINE_TIMEOUT = 120


class DockerUnavailable(RuntimeError):
    """The Docker engine cannot be reached (not installed, not started, no permission)."""


def docker_client() -> Any:
    """A ``docker.DockerClient`` for the engine of ``DOCKER_HOST`` (else the local socket), checked.

    Raises:
        DockerUnavailable: the SDK is missing or the engine does not answer.
    """
    try:
        import docker
    except ImportError as error:  # pragma: no cover - docker is a dependency
        raise DockerUnavailable(f"the docker SDK is not installed ({error})") from None
    try:
        client = docker.from_env(timeout=_ENGINE_TIMEOUT)
        client.ping()
    except Exception as error:
        raise DockerUnavailable(
            f"the Docker engine is not reachable ({error}); start dockerd (README: Docker runner) "
            "or run jobs with the process runner"
        ) from None
    return client


@dataclass(frozen=True)
class DockerPlan:
    """What to run: a local image, and the entrypoint/command to give it (``None``: the image's own)."""

    image: str
    entrypoint: list[str] | None
    command: list[str] | None


class JobResources:
    """The Docker objects and relays of one job; :meth:`release` removes every one of them."""

    def __init__(self, client: Any, workdir: Path) -> None:
        self.client = client
        self.workdir = workdir
        self.networks: list[Any] = []
        self.containers: list[Any] = []
        self.relays: list[Relay] = []

    def network(self, name: str, labels: dict[str, str]) -> Any:
        network = self.client.networks.create(name, driver="bridge", labels=labels, check_duplicate=True)
        self.networks.append(network)
        self._record()
        network.reload()
        return network

    def relay(self, url: str, gateway: str) -> str:
        """Open a relay on ``gateway`` to the service at ``url``; returns the URL containers use."""
        inside, target = relayed_url(url, gateway)
        relay = Relay(gateway, target, listen_port=target[1])
        port = relay.start()
        self.relays.append(relay)
        return with_port(inside, port)

    def container(self, plan: DockerPlan, *, name: str, host: str, network: str, environment: dict[str, str],
                  volumes: dict[str, dict[str, str]], labels: dict[str, str], nano_cpus: int, mem_limit: int) -> Any:
        import docker.errors

        with contextlib.suppress(docker.errors.NotFound):
            self.client.containers.get(name).remove(force=True)  # left by an earlier attempt of this job
        endpoint = self.client.api.create_endpoint_config(aliases=[host])
        container = self.client.containers.create(
            plan.image, command=plan.command, entrypoint=plan.entrypoint, name=name, hostname=host,
            environment=environment, volumes=volumes, labels=labels, working_dir=str(DEFAULT_BASE_DIR),
            nano_cpus=nano_cpus, mem_limit=mem_limit, shm_size=_SHM_SIZE, init=True, detach=True,
            network=network, networking_config={network: endpoint},
        )
        self.containers.append(container)
        self._record()
        return container

    def release(self) -> None:
        """Remove containers (with their anonymous volumes), then networks; stop the relays (idempotent)."""
        for container in self.containers:
            with contextlib.suppress(Exception):
                container.remove(force=True, v=True)
        for network in self.networks:
            with contextlib.suppress(Exception):
                network.remove()
        for relay in self.relays:
            relay.stop()
        (self.workdir / CONTAINERS_FILE).unlink(missing_ok=True)

    def _record(self) -> None:
        record = {"containers": [c.id for c in self.containers], "networks": [n.id for n in self.networks]}
        write_atomic(self.workdir / CONTAINERS_FILE, json.dumps(record))


def remove_labelled(client: Any, label: str) -> int:
    """Remove every container, then network, carrying ``label`` (``key=value``); returns how many."""
    removed = 0
    for container in client.containers.list(all=True, filters={"label": label}):
        with contextlib.suppress(Exception):
            container.remove(force=True, v=True)
            removed += 1
    for network in client.networks.list(filters={"label": label}):
        with contextlib.suppress(Exception):
            network.remove()
            removed += 1
    return removed


def gateway_address(network: Any) -> str:
    """The network's gateway address: where its containers reach this machine."""
    for entry in network.attrs.get("IPAM", {}).get("Config", []) or []:
        if entry.get("Gateway"):
            return str(entry["Gateway"]).split("/", 1)[0]
    raise CannotStartError(f"the Docker network {network.name} has no gateway address")


def container_lines(container: Any, on_line: Callable[[str], None]) -> None:
    """Hand each line a container writes (stdout and stderr) to ``on_line`` as it comes, until it ends
    (a line longer than CloudWatch's event limit in pieces: see :class:`LineSplitter`).

    stdout and stderr are read and cut into lines apart, as the engine keeps them: a line one of them
    is part way through (a long line's 16 KiB pieces, a progress bar's carriage returns) never takes
    in the other's next line.
    """
    stderr = threading.Thread(target=_stream_lines, args=(container, "stderr", on_line), daemon=True,
                              name=f"{threading.current_thread().name}-stderr")
    stderr.start()
    _stream_lines(container, "stdout", on_line)
    stderr.join()


def _stream_lines(container: Any, stream: str, on_line: Callable[[str], None]) -> None:
    """:func:`container_lines` for one of the container's streams (``"stdout"`` or ``"stderr"``)."""
    only = {"stdout": stream == "stdout", "stderr": stream == "stderr"}
    splitter = LineSplitter()
    seen = _FollowedFrames()

    def feed(frame: bytes) -> None:
        for line in splitter.feed(_without_timestamp(frame)):
            on_line(line)

    try:
        for frame in container.logs(stream=True, follow=True, timestamps=True, **only):
            seen.add(frame)
            feed(frame)
    except Exception as error:  # the container went away under the stream: nothing more to read
        log.debug("%s of %s ended: %s", stream, getattr(container, "name", container), error)
    for frame in _frames_the_follow_missed(container, only, seen):
        feed(frame)
    for line in splitter.close():
        on_line(line)


@dataclass
class _FollowedFrames:
    """What a stream's follow gave: how many log frames (one per Docker log message, its timestamp
    first), and how many of them fell in the second of the last one. Within one stream the timestamps
    never go back (the pieces of a long line all carry its first piece's), so those are the last ones."""

    count: int = 0
    last_second: bytes = b""  # the last frame's timestamp to the second: ``2026-12-03T11:37:36``
    in_second: int = 0

    def add(self, frame: bytes) -> None:
        self.count += 1
        second = frame[:_SECOND_CHARS]
        if second == self.last_second:
            self.in_second += 1
        else:
            self.last_second, self.in_second = second, 1


def _frames_the_follow_missed(container: Any, only: dict[str, bool], seen: _FollowedFrames) -> Iterator[bytes]:
    """The log frames of the ``only`` stream the engine kept after the last one its follow gave.

    Docker's follow stream can end at the container's exit before the output's last piece when that
    piece has no newline (moby/moby#43860: the engine writes it as the stream closes): a 20 MiB line
    lost its last 15,864 bytes so. The engine's file still has it. So the stream is read again, without
    follow, from the second of the last frame followed (what is read again stays small: that second's
    output, and the line then being written), and the frames already handed on are skipped.
    """
    second = _unix_second(seen.last_second)
    since, skip = ({}, seen.count) if second is None else ({"since": max(second, 1)}, seen.in_second)
    try:
        frames = container.logs(stream=True, follow=False, timestamps=True, **since, **only)
        for index, frame in enumerate(frames):
            if index >= skip:
                yield frame
    except Exception as error:  # the container is gone (removed with its endpoint): its log with it
        log.debug("rereading the log of %s ended: %s", getattr(container, "name", container), error)


def _unix_second(stamp: bytes) -> int | None:
    """The Unix second of a timestamp to the second (Docker's are always UTC); ``None`` if it is none."""
    try:
        return calendar.timegm(time.strptime(stamp.decode(), "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None


def _without_timestamp(frame: bytes) -> bytes:
    """A frame's message: Docker puts its RFC 3339 timestamp and a space first."""
    stamp, space, message = frame.partition(b" ")
    return message if space and stamp[:1].isdigit() else frame
