"""``make demo``'s script, end to end, against a server on free ports: the whole pipeline on raw Cora, its ETL
step a Glue job (and, on request, the processing image)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import uuid

import pytest

from sdk.pipeline import GraphPipeline
from sdk.session import session
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
    assert "Glue job mlharbor-demo-cora-etl (glueetl, cora_etl.py on Spark)" in output
    assert re.search(r"\[etl  \] jr_\w+: RUNNING", output), output[-4000:]
    assert "| cora_etl: 2708 vertices, 5278 edges, 1433 features, 7 classes, 0 bad rows" in output
    assert re.search(r"Glue run jr_\w+: SUCCEEDED, ExecutionTime [1-9]\d* s", output), output[-4000:]
    assert "LOAD_COMPLETED" in output
    assert re.search(r"\| epoch=200 train_loss=", output), output[-4000:]
    accuracy = float(re.search(r"test accuracy\s+([0-9.]+)", output).group(1))
    assert accuracy >= 0.75, output[-4000:]
    assert re.search(r"model artifact s3://mlharbor-demo/.+/model\.tar\.gz", output)
    assert ": InService (" in output
    right, asked = map(int, re.search(r"(\d+)/(\d+) right", output).groups())
    assert asked == 8 and right >= 5, output[-2000:]
    # the Neptune ML step: export, processing, training, ML endpoint, then a Gremlin inference query
    assert '.properties("subject").with("Neptune#ml.classification")' in output, output[-4000:]
    ml_right, ml_asked = map(int, re.search(r"Neptune ML: (\d+)/(\d+) right", output).groups())
    assert ml_asked == 8 and ml_right >= 5, output[-2000:]


@pytest.mark.skipif(not CORA.exists(), reason="needs ../shared/datasets/cora beside the repository")
def test_the_demo_can_still_run_its_etl_as_the_processing_image(harbor, capsys):
    spec = importlib.util.spec_from_file_location("demo", REPO / "examples" / "demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    pipeline = GraphPipeline(bucket=f"demo-{uuid.uuid4().hex[:8]}", session=session(endpoint=harbor.endpoint),
                             poll_seconds=0.3)
    pipeline.upload_raw(CORA / "nodes.csv", CORA / "edges.csv")
    etl = demo.run_etl(pipeline, "processing")
    assert etl.exit_message.startswith("graph-etl: 2708 vertices, 5278 edges")
    assert "2. processing job mlharbor/graph-etl" in capsys.readouterr().out
