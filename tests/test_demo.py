"""``make demo``'s script, end to end, against a server on free ports: the whole pipeline on raw Cora."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import CORA, REPO


@pytest.mark.slow
@pytest.mark.skipif(not CORA.exists(), reason="needs ../shared/datasets/cora beside the repository")
def test_the_demo_runs_the_pipeline_and_classifies_through_an_endpoint(harbor):
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "demo.py")],
        env={**os.environ, "AWS_ENDPOINT_URL": harbor.endpoint}, capture_output=True, text=True, timeout=900,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "using the mlharbor already running" in output
    assert "graph-etl: 2708 vertices" in output
    assert "LOAD_COMPLETED" in output
    assert re.search(r"\| epoch=200 train_loss=", output), output[-4000:]
    accuracy = float(re.search(r"test accuracy\s+([0-9.]+)", output).group(1))
    assert accuracy >= 0.75, output[-4000:]
    assert re.search(r"model artifact s3://mlharbor-demo/.+/model\.tar\.gz", output)
    assert ": InService (" in output
    right, asked = map(int, re.search(r"(\d+)/(\d+) right", output).groups())
    assert asked == 8 and right >= 5, output[-2000:]
