"""Fixtures for the Glue job library: the run environment a job gets, and one SparkSession per module."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.testing import RunningHarbor

GLUE = Path(__file__).resolve().parents[3] / "containers" / "glue"


def job_environment(harbor: RunningHarbor, work_dir: Path) -> dict[str, str]:
    """What the server gives a run: the edge endpoint, credentials, work dir, the library on the path."""
    return {
        "AWS_ENDPOINT_URL": harbor.endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": harbor.region, "MLHARBOR_GLUE_WORK_DIR": str(work_dir),
        "PYTHONPATH": os.pathsep.join([str(GLUE), str(GLUE.parents[1])]), "PYSPARK_PYTHON": sys.executable,
    }


@pytest.fixture(scope="module")
def glue_env(harbor: RunningHarbor, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """This test process made into a job run's driver (env + ``awsglue`` importable)."""
    env = job_environment(harbor, tmp_path_factory.mktemp("glue-work"))
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        patch.syspath_prepend(str(GLUE))
        yield env


@pytest.fixture(scope="module")
def spark(glue_env: dict[str, str]) -> Iterator[Any]:
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[1]").appName("glue-lib-tests")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate())
    yield session
    session.stop()
