"""mlharbor/graph-etl run as the processing job runs it (``python -m …`` in a job tree): column
mapping for a table that is not Cora, typed Neptune CSV, and bad rows reported with file and line."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from containers.graph_etl.config import EtlConfig, from_arguments
from containers.graph_etl.transform import check_value, class_names, parse_features

REPO = Path(__file__).resolve().parents[2]

TOY_NODES = """paper,topic,fold,words,year,title
p1,db,training,0.5;0;1.5,1999,Query plans
p2,ml,valid,0;2;0,2004,"Kernels, again"
p3,ml,test,1;1;1,2010,Graphs
p4,,,0;0;0,2011,Unlabelled
"""
TOY_EDGES = """citing,cited,weight
p1,p2,1
p3,p1,1
p4,p3,1
p1,p2,2
"""
TOY_CONFIG = {"node_id": "paper", "label": "topic", "split": "fold", "features": "words",
              "features_format": "values", "features_separator": ";", "vertex_label": "paper",
              "source": "citing", "target": "cited", "edge_label": "cites"}


def run_etl(base: Path, nodes: str, edges: str, *arguments: str,
            config: dict | None = None) -> subprocess.CompletedProcess[str]:
    """Lay out a processing job's tree under ``base`` and run the image's program in it."""
    raw = base / "processing" / "input" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "nodes.csv").write_text(nodes)
    (raw / "edges.csv").write_text(edges)
    args = list(arguments)
    if config is not None:
        (base / "processing" / "input" / "config").mkdir(parents=True, exist_ok=True)
        (base / "processing" / "input" / "config" / "etl.json").write_text(json.dumps(config))
        args = ["--config", "/opt/ml/processing/input/config/etl.json", *args]
    return subprocess.run([sys.executable, "-m", "containers.graph_etl.process", *args], cwd=REPO,
                          env={**os.environ, "SAGEMAKER_BASE_DIR": str(base)}, capture_output=True, text=True,
                          timeout=60)


def read(path: Path) -> list[list[str]]:
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def test_a_non_cora_table_with_a_json_mapping_and_typed_properties(tmp_path):
    done = run_etl(tmp_path, TOY_NODES, TOY_EDGES, "--properties", "year:Int,title:String", config=TOY_CONFIG)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "processing" / "output"
    assert read(out / "graph" / "vertices.csv") == [
        ["~id", "~label", "topic:String", "fold:String", "year:Int", "title:String"],
        ["p1", "paper", "db", "train", "1999", "Query plans"],
        ["p2", "paper", "ml", "val", "2004", "Kernels, again"],
        ["p3", "paper", "ml", "test", "2010", "Graphs"],
        ["p4", "paper", "", "none", "2011", "Unlabelled"],
    ]
    assert read(out / "graph" / "edges.csv") == [
        ["~id", "~from", "~to", "~label"], ["cites:p1:p2", "p1", "p2", "cites"], ["cites:p3:p1", "p3", "p1", "cites"],
        ["cites:p4:p3", "p4", "p3", "cites"], ["cites:p1:p2:1", "p1", "p2", "cites"]]
    features = out / "features"
    assert read(features / "features.csv")[1:] == [
        ["p1", "0", "0.5"], ["p1", "2", "1.5"], ["p2", "1", "2.0"], ["p3", "0", "1.0"], ["p3", "1", "1.0"],
        ["p3", "2", "1.0"]]
    assert read(features / "labels.csv")[1:] == [["p1", "0"], ["p2", "1"], ["p3", "1"], ["p4", "-1"]]
    assert read(features / "splits.csv")[1:] == [["p1", "train"], ["p2", "val"], ["p3", "test"], ["p4", "none"]]
    meta = json.loads((features / "meta.json").read_text())
    assert (meta["num_nodes"], meta["num_edges"], meta["num_features"], meta["classes"]) == (4, 4, 3, ["db", "ml"])
    assert (tmp_path / "output" / "message").read_text().startswith("graph-etl: 4 vertices, 4 edges")


BAD_NODES = """node_id,label,split,features
a,0,train,1 2
b,1,train,1 x
c,1,holdout,3
a,0,val,4
d,1,test,2,extra
e,,train,1
f,1,val,0
"""
BAD_EDGES = """source,target
a,f
a,ghost
b,a
"""


def test_bad_rows_are_reported_with_file_and_line_and_fail_the_job(tmp_path):
    done = run_etl(tmp_path, BAD_NODES, BAD_EDGES)
    assert done.returncode == 1
    expected = [
        "nodes.csv:3: features: invalid literal for int() with base 10: 'x'",
        "nodes.csv:4: unknown split 'holdout' (use train, val, test or none)",
        "nodes.csv:5: duplicate node_id 'a' (first at line 2)",
        "nodes.csv:6: wrong number of fields",
        "nodes.csv:7: empty label for a train node",
        "edges.csv:3: edge to unknown or rejected node 'ghost'",
        "edges.csv:4: edge to unknown or rejected node 'b'",
    ]
    for line in expected:
        assert f"bad row {line}" in done.stderr
    failure = (tmp_path / "output" / "failure").read_text()
    assert failure.startswith("7 bad rows (max_bad_rows=0)")
    assert all(line in failure for line in expected)
    report = json.loads((tmp_path / "processing" / "output" / "report" / "report.json").read_text())
    assert [(row["file"], row["line"]) for row in report["bad_rows"]] == [
        ("nodes.csv", 3), ("nodes.csv", 4), ("nodes.csv", 5), ("nodes.csv", 6), ("nodes.csv", 7),
        ("edges.csv", 3), ("edges.csv", 4)]
    assert not (tmp_path / "processing" / "output" / "graph" / "vertices.csv").exists()


def test_tolerated_bad_rows_are_skipped_and_still_reported(tmp_path):
    done = run_etl(tmp_path, BAD_NODES, BAD_EDGES, "--max-bad-rows", "10")
    assert done.returncode == 0, done.stderr
    vertices = read(tmp_path / "processing" / "output" / "graph" / "vertices.csv")
    assert [row[0] for row in vertices[1:]] == ["a", "f"]
    assert read(tmp_path / "processing" / "output" / "graph" / "edges.csv")[1:] == [["edge:a:f", "a", "f", "edge"]]
    message = (tmp_path / "output" / "message").read_text()
    assert message.splitlines()[0] == "graph-etl: 2 vertices, 1 edges, 3 features, 2 classes, 7 bad rows"
    assert "edges.csv:3: edge to unknown or rejected node 'ghost'" in message


def test_a_missing_column_names_it_and_the_columns_present(tmp_path):
    done = run_etl(tmp_path, "id,label,split,features\nx,0,train,1\n", BAD_EDGES)
    assert done.returncode == 1
    failure = (tmp_path / "output" / "failure").read_text()
    assert "nodes.csv: header has no column 'node_id' (columns: id, label, split, features)" in failure


def test_unknown_config_keys_and_types_are_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown ETL config keys \\['nodeid'\\]"):
        from_arguments(["--config", str(_write(tmp_path / "c.json", {"nodeid": "x"}))])
    with pytest.raises(ValueError, match="property 'year' has type 'Integer'"):
        from_arguments(["--properties", "year:Integer"])
    with pytest.raises(ValueError, match="features_format"):
        EtlConfig(features_format="dense")


def _write(path: Path, value: dict) -> Path:
    path.write_text(json.dumps(value))
    return path


def test_pure_helpers():
    config = EtlConfig(num_features=4)
    assert parse_features("3 1 1", config) == ((1, 1.0), (3, 1.0))
    with pytest.raises(ValueError, match="outside 0..3"):
        parse_features("4", config)
    assert class_names(["2", "0", ""]) == ["0", "1", "2"]
    assert class_names(["b", "a", "10"]) == ["10", "a", "b"]
    assert check_value("Int", "1.5") == "not a valid Int"
    assert check_value("Date", "2020-01-02") is None
    assert check_value("Bool", "maybe") == "not true/false"


def test_the_builtin_images_run_these_programs():
    from containers.registry import resolve

    etl, gnn = resolve("mlharbor/graph-etl:latest"), resolve("mlharbor/gnn")
    assert etl.process_command()[1:] == ["-m", "containers.graph_etl.process"]
    assert gnn.train_command()[1:] == ["-m", "containers.gnn.train"]
    assert gnn.serve_module == "containers.gnn.serve"
