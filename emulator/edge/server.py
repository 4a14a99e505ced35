"""Starts and stops everything ``mlharbor up`` runs: the edge endpoint, the control plane,
the graph server.

The edge port is bound first (so ``--port 0`` can pick a free one and jobs learn the real
URL), then the control plane and graph server are built, and only then does
``/_mlharbor/health`` answer 200. ``server.json`` in the data dir tells clients and tests
where everything listens.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from emulator import config as config_module
from emulator.core.atomic import write_atomic
from emulator.core.credentials import key_for, use_internal_key
from emulator.edge import access
from emulator.edge.app import EdgeDispatcher, NotReadyApp, SwappableApp, WSGIApp, create_app
from emulator.edge.gate import EdgeGate
from emulator.edge.graph_process import GraphProcess, GraphSettings
from emulator.edge.iam_simulate import IamSimulator
from emulator.edge.job_origin import JobOriginGate
from emulator.edge.s3_checks import S3Guard
from emulator.edge.s3_journal import S3Journal
from emulator.edge.wsgi_server import EdgeServer, ServingLimits, bind
from emulator.observability import durable_backends
from emulator.observability.durable_store import ObservabilityStore
from emulator.services.sagemaker.plane import ControlPlane

log = logging.getLogger(__name__)

SERVER_INFO_FILE = "server.json"


class Harbor:
    """One running mlharbor: edge endpoint + control plane + graph server.

    Args:
        overrides: config values over the defaults (see :mod:`emulator.config`).
    """

    def __init__(self, overrides: dict[str, Any] | None = None) -> None:
        self.config = config_module.resolve(overrides)
        self.data_dir = Path(self.config["data_dir"])
        self.control: ControlPlane | None = None
        self.graph: GraphProcess | None = None
        self._app = SwappableApp(NotReadyApp())
        self.host_policy = access.host_policy(self.config)
        self.origin_policy = access.origin_policy(self.config)
        self.verifier = access.verifier(self.config)
        self._server: EdgeServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the edge endpoint is not bound yet")
        return f"http://{self.config['host']}:{self._server.port}"

    def start(self) -> None:
        access.check_configuration(self.config)  # before anything is bound
        use_internal_key(key_for(self.config))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        gated = EdgeGate(self._app, self.host_policy, self.origin_policy, self.verifier)
        self._server = bind(self.config["edge_server"], self.config["host"], int(self.config["port"]), gated,
                            serving_limits(self.config))
        self._thread = threading.Thread(target=self._server.serve, name="edge", daemon=True)
        self._thread.start()
        self.graph = self._start_graph()
        journal = S3Journal(self.data_dir / "s3", self.config["account_id"])
        buckets, objects = journal.restore()
        log.info("embedded S3 restored from its journal: %d buckets, %d objects", buckets, objects)
        observability = ObservabilityStore(self.data_dir / "observability.sqlite3")
        durable_backends.install(observability)
        log.info("CloudWatch Logs and metrics restored: %s", durable_backends.restore(observability))
        self.control = ControlPlane(self.config, self.endpoint_url, graph_endpoint_url=self.graph.gremlin_url)
        self._app.target = edge_app(create_app(self.control, extra_health=self._graph_health), journal)
        self.control.start()
        self._write_server_info()
        log.info("mlharbor ready at %s", self.endpoint_url)

    def stop(self) -> None:
        if self.control is not None:
            self.control.stop()
        if self.graph is not None:
            self.graph.stop()
        if self._server is not None:
            self._server.close()
        if self._thread is not None:
            self._thread.join(10)
        (self.data_dir / SERVER_INFO_FILE).unlink(missing_ok=True)

    def info(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint_url,
            "graph": self.graph.url if self.graph is not None else None,
            "graph_pid": self.graph.pid if self.graph is not None else None,
            "pid": os.getpid(),
            "data_dir": str(self.data_dir),
            "runner": self.config["runner"],
        }

    def _start_graph(self) -> GraphProcess:
        """The graph server in its own supervised process, so a heavy traversal never slows the edge."""
        graph = GraphProcess(GraphSettings(
            data_dir=str(self.data_dir / "graph"),
            host=self.config["host"],
            port=int(self.config["graph_port"]),
            s3_endpoint_url=self.endpoint_url,
            region=self.config["region"],
            query_timeout_ms=float(self.config["neptune_query_timeout"]),
            config=self.config,
        ), on_restart=self._write_server_info)
        graph.start()
        return graph

    def _graph_health(self) -> dict[str, Any]:
        return {"graph": self.graph.url if self.graph is not None else None}

    def _write_server_info(self) -> None:
        write_atomic(self.data_dir / SERVER_INFO_FILE, json.dumps(self.info(), indent=2))


def edge_app(ours: WSGIApp, journal: S3Journal) -> WSGIApp:
    """What the edge serves behind its gate: our Flask app beside embedded moto, S3 journaled and guarded,
    IAM's SimulatePrincipalPolicy answered in front of moto (which lacks it)."""
    moto = DomainDispatcherApplication(create_backend_app)
    return JobOriginGate(EdgeDispatcher(ours, IamSimulator(S3Guard(journal.wrap(moto), moto))))


def serving_limits(config: dict[str, Any]) -> ServingLimits:
    """The edge server's pool, timeout and connection limit from the config table."""
    return ServingLimits(threads=int(config["edge_threads"]),
                         request_timeout_seconds=float(config["request_timeout_seconds"]),
                         max_connections=int(config["edge_max_connections"]))
