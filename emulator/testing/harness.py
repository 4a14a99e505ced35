"""The edge in this process: the same gate, Flask app and embedded moto ``mlharbor up`` serves,
on a real 127.0.0.1 socket served by a thread, over a :class:`FakeRunner` by default.

No ``mlharbor up`` subprocess and no job process: a test creates, describes, lists, tags and stops
jobs with real boto3 against real validation and real backends, and says itself how each job ends.
:meth:`InProcessHarbor.reset` gives the next test a fresh app cheaply: moto's backends reset, our
records on a fresh data dir, the port and thread kept. Not here: the graph server and the CloudWatch
durability (their tests run a real ``mlharbor up``).
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

from moto.moto_api._internal.models import moto_api_backend

from emulator import config as config_module
from emulator.core.credentials import key_for, use_internal_key
from emulator.edge import access
from emulator.edge.app import NotReadyApp, SwappableApp
from emulator.edge.app import create_app as create_flask_app
from emulator.edge.gate import EdgeGate
from emulator.edge.s3_journal import S3Journal
from emulator.edge.server import edge_app, serving_limits
from emulator.edge.wsgi_server import EdgeServer, bind
from emulator.runners.base import Runner
from emulator.services.sagemaker.plane import ControlPlane
from emulator.testing.clients import EdgeClients
from emulator.testing.fake_runner import FakeRunner


class InProcessHarbor(EdgeClients):
    """One in-process edge; the ``client``/``internal``/``endpoint`` of a ``RunningHarbor``.

    Args:
        config: the resolved config table (``data_dir`` is where each generation's state goes).
        runner: what runs the jobs.
    """

    def __init__(self, config: dict[str, Any], runner: Runner) -> None:
        self.config = config
        self.region = config["region"]
        self.runner = runner
        self.control: ControlPlane | None = None
        self._root = Path(config["data_dir"])
        self._generation = 0
        self._app = SwappableApp(NotReadyApp())
        self._server: EdgeServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("the in-process edge is not started")
        return f"http://{self.config['host']}:{self._server.port}"

    @property
    def data_dir(self) -> Path:
        """This generation's data dir (a fresh one after each :meth:`reset`)."""
        return self._root / f"state-{self._generation}"

    def start(self) -> InProcessHarbor:
        access.check_configuration(self.config)
        use_internal_key(key_for(self.config))
        gated = EdgeGate(self._app, access.host_policy(self.config), access.origin_policy(self.config),
                         access.verifier(self.config))
        self._server = bind(self.config["edge_server"], self.config["host"], int(self.config["port"]), gated,
                            serving_limits(self.config))
        self._thread = threading.Thread(target=self._server.serve, name="in-process-edge", daemon=True)
        self._thread.start()
        self._build()
        return self

    def reset(self) -> None:
        """A fresh app behind the same port: moto's backends emptied, our records on a new data dir."""
        self._app.target = NotReadyApp()
        if self.control is not None:
            self.runner.close()  # first: jobs the last test left blocked end now, not at the scheduler's timeout
            self.control.stop()
        moto_api_backend.reset()
        self._generation += 1
        self._build()

    def stop(self) -> None:
        if self.control is not None:
            self.control.stop()
            self.control = None
        if self._server is not None:
            self._server.close()
        if self._thread is not None:
            self._thread.join(10)
        moto_api_backend.reset()

    def _build(self) -> None:
        config = {**self.config, "data_dir": str(self.data_dir)}
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.control = ControlPlane(config, self.endpoint, runner=self.runner)
        journal = S3Journal(self.data_dir / "s3", config["account_id"])
        journal.restore()
        self._app.target = edge_app(create_flask_app(self.control), journal)
        self.control.start()


def create_app(config: dict[str, Any] | None = None, runner: Runner | None = None) -> InProcessHarbor:
    """A started in-process edge over ``runner`` (a blocking :class:`FakeRunner` when ``None``).

    Args:
        config: overrides over the defaults (as for ``mlharbor up``); ``data_dir`` defaults to a new
            temporary directory, ``port`` to a free one.
    """
    overrides = {"port": 0, **(config or {})}
    overrides.setdefault("data_dir", tempfile.mkdtemp(prefix="mlharbor-inprocess-"))
    return InProcessHarbor(config_module.resolve(overrides), runner or FakeRunner()).start()
