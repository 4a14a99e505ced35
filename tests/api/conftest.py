"""The in-process tier (``make test-fast``): real boto3 against the edge built in this process.

One :class:`~emulator.testing.InProcessHarbor` per session over a :class:`~emulator.testing.FakeRunner`,
reset before every test (moto's backends emptied, our records on a fresh data dir), so each test
gets a fresh app without a ``mlharbor up`` subprocess or a job process. These fixtures shadow the
subprocess ones of ``tests/conftest.py`` of the same names.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.testing import FakeRunner, InProcessHarbor, create_app

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.inprocess)


@pytest.fixture(scope="session")
def fake_runner() -> FakeRunner:
    return FakeRunner()


@pytest.fixture(scope="session")
def inprocess(tmp_path_factory: pytest.TempPathFactory, fake_runner: FakeRunner) -> Iterator[InProcessHarbor]:
    """The session's in-process edge (capacity 3 jobs, 3 s stop grace, as the subprocess ``harbor``)."""
    harbor = create_app({"data_dir": str(tmp_path_factory.mktemp("inprocess")), "max_concurrent_jobs": 3,
                         "stop_grace_seconds": 3}, runner=fake_runner)
    yield harbor
    harbor.stop()


@pytest.fixture(autouse=True)
def harbor(inprocess: InProcessHarbor, fake_runner: FakeRunner) -> InProcessHarbor:
    """A fresh app for every test; jobs block until the test says how they end."""
    inprocess.reset()
    fake_runner.default_outcome = None
    return inprocess


@pytest.fixture(scope="session")
def _clients(inprocess: InProcessHarbor) -> dict[str, Any]:
    """boto3 clients made once (their endpoint outlives every reset)."""
    return {"sagemaker": inprocess.client("sagemaker"), "raw_sagemaker": inprocess.client("sagemaker", validate=False),
            "s3": inprocess.client("s3"), "runtime": inprocess.client("sagemaker-runtime")}


@pytest.fixture
def sagemaker(harbor: InProcessHarbor, _clients: dict[str, Any]) -> Any:
    return _clients["sagemaker"]


@pytest.fixture
def raw_sagemaker(harbor: InProcessHarbor, _clients: dict[str, Any]) -> Any:
    """No client-side validation: what the server says about bad input is what we test."""
    return _clients["raw_sagemaker"]


@pytest.fixture
def s3(harbor: InProcessHarbor, _clients: dict[str, Any]) -> Any:
    return _clients["s3"]


@pytest.fixture
def runtime(harbor: InProcessHarbor, _clients: dict[str, Any]) -> Any:
    return _clients["runtime"]
