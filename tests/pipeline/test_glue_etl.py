"""The demo's ETL as a Glue job (``examples/glue/cora_etl.py`` on real Spark through a real ``mlharbor up``):
its files are the ``mlharbor/graph-etl`` processing image's files on the same raw tables, Neptune's
``/loader`` takes its graph, and bad rows fail the run with the script's reason as ErrorMessage.

Each glueetl run starts a JVM (seconds on two cores): three runs in all.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from containers.graph_etl import process
from containers.graph_etl.config import EtlConfig
from sdk.pipeline import GlueEtlResult, GraphPipeline, PipelineError, PipelineHooks
from sdk.session import session
from tests.conftest import CORA

pytestmark = pytest.mark.slow

CORA_ARGUMENTS = {"--vertex_label": "paper", "--edge_label": "cites"}
#: A small dirty table: a duplicate id (line 5), an unknown split (6), a train node without a label (7), a
#: feature that is not an index (8), an edge to an unknown node (edges line 4); string classes, split aliases.
DIRTY_NODES = """node_id,label,split,features
a,db,train,0 3
b,ml,training,2 2 1
c,,none,
a,ml,test,1
d,ml,later,1
e,,train,4
f,db,val,x 1
g,ml,valid,5
"""
DIRTY_EDGES = """source,target
a,b
b,c
c,zz
g,a
a,b
"""


class Recorder(PipelineHooks):
    def __init__(self) -> None:
        self.statuses: list[tuple[str, str, str]] = []
        self.lines: list[str] = []
        super().__init__(on_status=lambda step, name, status, message: self.statuses.append((step, status, message)),
                         on_log=lambda step, name, line: self.lines.append(line))


def new_pipeline(harbor: Any, recorder: PipelineHooks) -> GraphPipeline:
    return GraphPipeline(bucket=f"glue-etl-{uuid.uuid4().hex[:10]}", hooks=recorder,
                         session=session(endpoint=harbor.endpoint), poll_seconds=0.3)


def graph_etl_outputs(nodes: Path, edges: Path, out: Path, vertex_label: str, edge_label: str,
                      max_bad_rows: int = 0) -> Path:
    """What the processing image writes for the same tables (its program, run in this process)."""
    config = EtlConfig(nodes_path=nodes, edges_path=edges, graph_dir=out / "graph", features_dir=out / "features",
                       report_dir=out / "report", vertex_label=vertex_label, edge_label=edge_label,
                       max_bad_rows=max_bad_rows)
    tables = process.extract(config)
    process.write_report(tables, config)
    process.write_outputs(tables, config)
    return out


def read_object(pipeline: GraphPipeline, uri: str) -> str:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return pipeline.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def folder_rows(pipeline: GraphPipeline, uri: str) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of every CSV part under an S3 folder (each part repeats the header)."""
    bucket, prefix = uri.removeprefix("s3://").split("/", 1)
    keys = [item["Key"] for item in pipeline.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    headers, rows = set(), []
    for key in keys:
        table = list(csv.reader(io.StringIO(read_object(pipeline, f"s3://{bucket}/{key}"))))
        headers.add(tuple(table[0]))
        rows += table[1:]
    assert len(headers) == 1, headers
    return list(headers.pop()), rows


def assert_same_outputs(pipeline: GraphPipeline, result: GlueEtlResult, expected: Path) -> None:
    for name in ("features.csv", "labels.csv", "splits.csv"):
        assert read_object(pipeline, result.features_uri + name) == (expected / "features" / name).read_text(), name
    assert json.loads(read_object(pipeline, result.features_uri + "meta.json")) == json.loads(
        (expected / "features" / "meta.json").read_text())
    for name in ("vertices", "edges"):
        header, rows = folder_rows(pipeline, f"{result.graph_uri}{name}/")
        wanted = list(csv.reader(io.StringIO((expected / "graph" / f"{name}.csv").read_text())))
        assert header == wanted[0], name
        assert sorted(rows) == sorted(wanted[1:]), name


def test_cora_as_a_glue_job_writes_the_processing_images_files_and_loads_into_neptune(harbor, tmp_path):
    recorder = Recorder()
    pipeline = new_pipeline(harbor, recorder)
    pipeline.upload_raw(CORA / "nodes.csv", CORA / "edges.csv")
    result = pipeline.run_glue_etl(CORA_ARGUMENTS)

    assert result.state == "SUCCEEDED" and result.run_id.startswith("jr_")
    assert result.exit_message == "cora_etl: 2708 vertices, 5278 edges, 1433 features, 7 classes, 0 bad rows"
    states = [(status, message) for step, status, message in recorder.statuses if step == "etl"]
    assert [status for status, _ in states][-2:] == ["RUNNING", "SUCCEEDED"]
    assert states[-1][1] == f"ExecutionTime {result.execution_time} s" and result.execution_time >= 1
    expected = graph_etl_outputs(CORA / "nodes.csv", CORA / "edges.csv", tmp_path, "paper", "cites")
    assert_same_outputs(pipeline, result, expected)

    load = pipeline.bulk_load(result.graph_uri)
    assert load.status["overallStatus"]["totalRecords"] == 2708 + 5278


def test_tolerated_bad_rows_are_reported_like_the_processing_image(harbor, tmp_path):
    (tmp_path / "raw").mkdir()
    nodes, edges = tmp_path / "raw" / "nodes.csv", tmp_path / "raw" / "edges.csv"
    nodes.write_text(DIRTY_NODES)
    edges.write_text(DIRTY_EDGES)
    pipeline = new_pipeline(harbor, Recorder())
    pipeline.upload_raw(nodes, edges)
    result = pipeline.run_glue_etl({"--vertex_label": "item", "--edge_label": "links", "--max_bad_rows": "5"})

    assert result.exit_message == "cora_etl: 4 vertices, 4 edges, 6 features, 2 classes, 5 bad rows"
    expected = graph_etl_outputs(nodes, edges, tmp_path / "expected", "item", "links", max_bad_rows=5)
    assert_same_outputs(pipeline, result, expected)
    report = json.loads(read_object(pipeline, result.report_uri + "report.json"))
    wanted = json.loads((expected / "report" / "report.json").read_text())
    assert (report["vertices"], report["edges"]) == (wanted["vertices"], wanted["edges"])
    assert [(bad["file"], bad["line"]) for bad in report["bad_rows"]] == [
        (bad["file"], bad["line"]) for bad in wanted["bad_rows"]]
    assert report["bad_rows"][0]["reason"] == "duplicate node_id 'a' (first at line 2)"


def test_too_many_bad_rows_fail_the_run_with_the_first_ones_as_error_message(harbor, tmp_path):
    nodes, edges = tmp_path / "nodes.csv", tmp_path / "edges.csv"
    nodes.write_text(DIRTY_NODES)
    edges.write_text(DIRTY_EDGES)
    recorder = Recorder()
    pipeline = new_pipeline(harbor, recorder)
    pipeline.upload_raw(nodes, edges)
    with pytest.raises(PipelineError) as failed:
        pipeline.run_glue_etl({"--max_bad_rows": "4"})

    message = str(failed.value)
    assert " FAILED: ValueError: 5 bad rows (max_bad_rows=4): nodes.csv:5: duplicate node_id 'a'" in message
    assert "nodes.csv:6: unknown split 'later'" in message
    assert recorder.statuses[-1][:2] == ("etl", "FAILED")
