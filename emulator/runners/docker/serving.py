"""An endpoint variant as a Docker container: ``docker run IMAGE serve`` with the model on ``/opt/ml/model``.

As on SageMaker the container listens on port 8080; that port is published on 127.0.0.1 only, at
a port Docker picks, which becomes the variant's URL. The model archive is fetched and extracted
on this machine (the same safe extraction as the process runner) and mounted read-only. The
container reaches the embedded S3 and the graph server through relays on its own network's
gateway, as a training job does, and everything it made goes when the handle is stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from containers import contract
from emulator.runners.docker.engine import (
    JOB_LABEL,
    OWNER_LABEL,
    WORKDIR_LABEL,
    DockerPlan,
    JobResources,
    container_lines,
    gateway_address,
)
from emulator.runners.environment import serving_environment
from emulator.runners.instances import container_limits
from emulator.runners.lifecycle import CannotStartError
from emulator.runners.serving import (
    ServingError,
    ServingRequest,
    fetch_model,
    wait_until_healthy,
)

MODEL_DIR_INSIDE = str(contract.DEFAULT_BASE_DIR / "model")
_TAIL_LINES = 20


class ContainerHost(Protocol):
    """What a variant's container needs of the runner that starts it (the :class:`DockerRunner`)."""

    labels: dict[str, str]

    def engine(self) -> Any:
        """The Docker client (raises ``CannotStartError`` when there is no engine)."""

    def local_image(self, image: str) -> str:
        """The local image a request's ``Image`` names (raises ``CannotStartError`` when there is none)."""


@dataclass
class DockerServingHandle:
    """One serving container; :meth:`stop` removes it with its network and relays."""

    container: Any
    resources: JobResources
    url: str
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=_TAIL_LINES))
    reader: threading.Thread | None = None
    returncode: int | None = None

    def alive(self) -> bool:
        try:
            self.container.reload()
        except Exception:  # removed under us: not alive
            return False
        if self.container.status in ("exited", "dead"):
            self.returncode = self.container.attrs.get("State", {}).get("ExitCode")
            return False
        return True

    def stop(self, grace: float = 5.0) -> None:
        with contextlib.suppress(Exception):
            self.container.stop(timeout=max(1, round(grace)))
        self.resources.release()


def start_docker_server(runner: ContainerHost, request: ServingRequest,
                        log: Callable[[str], None]) -> DockerServingHandle:
    """Fetch the model, start ``IMAGE serve`` and wait for ``GET /ping``.

    Raises:
        ServingError: no engine, no such image, an unsafe archive, or no healthy ``/ping`` in time.
    """
    try:
        client = runner.engine()
        plan = DockerPlan(runner.local_image(request.image), None, ["serve"])
    except CannotStartError as error:
        raise ServingError(f"CannotStartContainerError: {error}") from None
    request.workdir.mkdir(parents=True, exist_ok=True)
    model_dir = request.workdir / "model"
    fetch_model(request, model_dir)
    labels = {OWNER_LABEL: "1", JOB_LABEL: request.serving_id, WORKDIR_LABEL: str(request.workdir), **runner.labels}
    resources = JobResources(client, request.workdir)
    name = "mlharbor-" + re.sub(r"[^a-zA-Z0-9_.-]", "-", request.serving_id)
    try:
        network = resources.network(f"{name}-{secrets.token_hex(3)}", labels)
        gateway = gateway_address(network)
        graph = request.graph_endpoint_url
        inside = dataclasses.replace(request, s3_endpoint_url=resources.relay(request.s3_endpoint_url, gateway),
                                     graph_endpoint_url=resources.relay(graph, gateway) if graph else None)
        env = serving_environment(inside, MODEL_DIR_INSIDE, contract.SERVING_PORT, {}, host="0.0.0.0")
        limits = container_limits("ml.m5.large")
        with contextlib.suppress(Exception):  # left by a control plane that was killed while serving
            client.containers.get(name).remove(force=True, v=True)
        container = client.containers.create(
            plan.image, command=plan.command, name=name, environment=env,
            volumes={str(model_dir): {"bind": MODEL_DIR_INSIDE, "mode": "ro"}}, labels=labels,
            ports={f"{contract.SERVING_PORT}/tcp": ("127.0.0.1", None)}, network=network.name,
            nano_cpus=limits.nano_cpus, mem_limit=limits.memory_bytes, init=True, detach=True,
        )
        resources.containers.append(container)
        container.start()
        container.reload()
        host_port = container.attrs["NetworkSettings"]["Ports"][f"{contract.SERVING_PORT}/tcp"][0]["HostPort"]
        handle = DockerServingHandle(container, resources, f"http://127.0.0.1:{host_port}")
        handle.reader = threading.Thread(target=_pump, args=(handle, log), daemon=True,
                                         name=f"serve-log-{request.serving_id}")
        handle.reader.start()
        wait_until_healthy(handle, request.startup_timeout_seconds)
        return handle
    except ServingError:
        resources.release()
        raise
    except Exception as error:  # the engine refused something: the endpoint fails with why
        resources.release()
        raise ServingError(f"CannotStartContainerError: {error}") from None


def _pump(handle: DockerServingHandle, log: Callable[[str], None]) -> None:
    def on_line(line: str) -> None:
        handle.tail.append(line)
        log(line)

    container_lines(handle.container, on_line)
