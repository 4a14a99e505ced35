"""The neptune-export service on the graph port: a graph loaded with gremlinpython, exported over real HTTP
into S3 as Neptune ML's nodes/, edges/ and training-data-configuration.json v2.0; bad requests refused."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import Cardinality, T

from emulator.services.neptune.ml.export.jobs import ExportJobs
from emulator.services.neptune.store import GraphStore
from emulator.testing import RunningHarbor

# labels of this module's own, so other tests' vertices in the session's graph are not exported
USER, MOVIE, RATED, FRIEND = "xuser", "xmovie", "xrated", "xfriend"
USERS = [  # id, age, gender, joined, fold, tags
    ("xu1", 21, "F", dt.datetime(2020, 1, 6, 9), "train", ["a", "b"]),
    ("xu2", 35, "M", dt.datetime(2021, 5, 2, 18), "valid", ["b"]),
    ("xu3", 52, "F", dt.datetime(2022, 7, 3), "test", []),
    ("xu4", 44, "M", dt.datetime(2023, 3, 4), "", ["c"]),
]
MOVIES = [("xm1", "Drama", "Tokyo, Story", 1953), ("xm2", "Action", "Heat", 1995)]
RATINGS = [("xr1", "xu1", "xm1", 5), ("xr2", "xu2", "xm1", 3), ("xr3", "xu3", "xm2", 4), ("xr4", "xu4", "xm2", 1)]
FRIENDS = [("xf1", "xu1", "xu2"), ("xf2", "xu3", "xu4")]


def http(method: str, url: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def graph(harbor: RunningHarbor) -> str:
    """The module's small movie graph, written through gremlinpython; returns the graph server's URL."""
    connection = DriverRemoteConnection(harbor.graph.replace("http://", "ws://") + "/gremlin", "g")
    try:
        g = traversal().with_(connection)
        for vid, age, gender, joined, fold, tags in USERS:
            t = (g.add_v(USER).property(T.id, vid).property("age", age).property("gender", gender)
                 .property("joined", joined).property("fold", fold))
            for tag in tags:
                t = t.property(Cardinality.set_, "tags", tag)
            t.iterate()
        for vid, genre, title, year in MOVIES:
            g.add_v(MOVIE).property(T.id, vid).property("genre", genre).property("title", title) \
                .property("year", year).iterate()
        for eid, user, movie, score in RATINGS:
            g.V(user).add_e(RATED).to(__.V(movie)).property(T.id, eid).property("score", score).iterate()
        for eid, a, b in FRIENDS:
            g.V(a).add_e(FRIEND).to(__.V(b)).property(T.id, eid).iterate()
    finally:
        connection.close()
    return harbor.graph


def export_body(output: str, **neptune_ml: Any) -> dict[str, Any]:
    return {"command": "export-pg", "outputS3Path": output, "jobSize": "small",
            "params": {"endpoint": "localhost", "profile": "neptune_ml", "cloneCluster": False,
                       "nodeLabels": [USER, MOVIE], "edgeLabels": [RATED, FRIEND]},
            "additionalParams": {"neptune_ml": {"version": "v2.0", **neptune_ml}}}


def wait_for_export(graph: str, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, body = http("GET", f"{graph}/v1/neptune-export/{job_id}")
        assert status == 200, body
        if body["status"] in ("succeeded", "failed"):
            return body
        if time.monotonic() > deadline:
            raise TimeoutError(f"export {job_id} still {body['status']}")
        time.sleep(0.1)


def export_topic_classification(graph: str, bucket: str, paper: str, cites: str,
                                split_rate: list[float]) -> dict[str, Any]:
    """Export the ``paper`` vertices and ``cites`` edges for classification of ``topic`` from ``words``; the
    succeeded export job's status."""
    body = {"command": "export-pg", "outputS3Path": f"s3://{bucket}/export",
            "params": {"endpoint": "localhost", "profile": "neptune_ml", "nodeLabels": [paper], "edgeLabels": [cites]},
            "additionalParams": {"neptune_ml": {"version": "v2.0", "targets": [
                {"node": paper, "property": "topic", "type": "classification", "split_rate": split_rate}],
                "features": [{"node": paper, "property": "words", "type": "numerical", "norm": "none",
                              "separator": ";"}]}}}
    status, started = http("POST", f"{graph}/v1/neptune-export", body)
    assert status == 200, started
    export = wait_for_export(graph, started["jobId"])
    assert export["status"] == "succeeded", export
    return export


def s3_text(s3: Any, uri: str) -> str:
    bucket, key = uri[len("s3://"):].split("/", 1)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_export_writes_nodes_edges_and_the_v2_training_configuration(graph: str, s3: Any, bucket: str) -> None:
    targets = [{"node": USER, "property": "gender", "type": "classification", "split_rate": [0.5, 0.25, 0.25],
                "custom_split_property": "fold"},
               {"edge": [USER, RATED, MOVIE], "property": "score", "type": "regression"},
               {"edge": [USER, FRIEND, USER], "type": "link_prediction", "split_rate": [0.8, 0.1, 0.1]}]
    features = [{"node": USER, "property": "age", "type": "bucket_numerical", "range": [0, 100], "bucket_cnt": 10,
                 "slide_window_size": 5, "imputer": "median"},
                {"node": MOVIE, "property": "title", "type": "text_tfidf", "ngram_range": [1, 2], "min_df": 1,
                 "max_features": 100},
                {"node": MOVIE, "property": "year", "type": "none"}]
    status, started = http("POST", f"{graph}/v1/neptune-export",
                           export_body(f"s3://{bucket}/exports/", split_rate=[0.7, 0.2, 0.1], targets=targets,
                                       features=features))
    assert status == 200, started
    assert set(started) == {"jobName", "jobId"} and uuid.UUID(started["jobId"])
    done = wait_for_export(graph, started["jobId"])
    assert done["status"] == "succeeded", done
    assert done["outputS3Uri"] == f"s3://{bucket}/exports/{started['jobId']}/"
    assert done["stats"] == {"nodes": 6, "edges": 6, "files": 5}
    assert any("trains on the first one" in line for line in done["logs"])  # three targets

    out = done["outputS3Uri"]
    users = rows(s3_text(s3, out + "nodes/xuser-1.csv"))
    assert users[0] == ["~id", "age", "gender", "joined", "fold", "tags"]
    assert users[1] == ["xu1", "21", "F", "2020-01-06T09:00:00", "train", "a;b"]  # multi-values joined by ;
    assert users[3][5] == "" and len(users) == 5
    movies = rows(s3_text(s3, out + "nodes/xmovie-1.csv"))
    assert movies[1] == ["xm1", "Drama", "Tokyo, Story", "1953"]  # a comma is quoted, not a new column
    rated = rows(s3_text(s3, out + "edges/xuser-xrated-xmovie-1.csv"))
    assert rated[0] == ["~id", "~from", "~to", "score"] and rated[1] == ["xr1", "xu1", "xm1", "5"]
    assert rows(s3_text(s3, out + "edges/xuser-xfriend-xuser-1.csv"))[1:] == [["xf1", "xu1", "xu2"],
                                                                              ["xf2", "xu3", "xu4"]]

    config = json.loads(s3_text(s3, out + "training-data-configuration.json"))
    assert config["version"] == "v2.0" and config["query_engine"] == "gremlin"
    nodes = {entry["node"][1]: entry for entry in config["graph"]["nodes"]}
    user = nodes[USER]
    assert user["file_name"] == "nodes/xuser-1.csv" and user["separator"] == "," and user["node"] == ["~id", USER]
    assert user["features"] == [  # gender and fold are the label and its split, never features
        {"feature": ["age", "age", "bucket_numerical"], "range": [0, 100], "bucket_cnt": 10,
         "slide_window_size": 5, "imputer": "median"},
        {"feature": ["joined", "joined", "datetime"]},
        {"feature": ["tags", "tags", "auto"], "separator": ";"}]
    assert user["labels"] == [{"label": ["gender", "classification"], "split_rate": [0.5, 0.25, 0.25],
                               "custom_split_property": "fold"}]
    assert nodes[MOVIE]["features"] == [
        {"feature": ["genre", "genre", "auto"]},
        {"feature": ["title", "title", "text_tfidf"], "ngram_range": [1, 2], "min_df": 1, "max_features": 100},
        {"feature": ["year", "year", "none"]}]
    edges = {entry["relation"][1]: entry for entry in config["graph"]["edges"]}
    assert edges[RATED]["source"] == ["~from", USER] and edges[RATED]["dest"] == ["~to", MOVIE]
    assert edges[RATED]["file_name"] == "edges/xuser-xrated-xmovie-1.csv" and edges[RATED]["features"] == []
    assert edges[RATED]["labels"] == [{"label": ["score", "regression"], "split_rate": [0.7, 0.2, 0.1]}]
    assert edges[FRIEND]["labels"] == [{"label": ["", "link_prediction"], "split_rate": [0.8, 0.1, 0.1]}]


def test_unnamed_properties_become_the_features_neptune_infers(graph: str, s3: Any, bucket: str) -> None:
    status, started = http("POST", f"{graph}/v1/neptune-export", export_body(f"s3://{bucket}/plain"))
    assert status == 200, started
    done = wait_for_export(graph, started["jobId"])
    config = json.loads(s3_text(s3, done["outputS3Uri"] + "training-data-configuration.json"))
    user = next(entry for entry in config["graph"]["nodes"] if entry["node"][1] == USER)
    assert user["features"][0] == {"feature": ["age", "age", "numerical"], "norm": "min-max", "imputer": "median"}
    assert [f["feature"][2] for f in user["features"]] == ["numerical", "auto", "datetime", "auto", "auto"]
    assert user["labels"] == [] and config["warnings"] == []
    edges = {entry["relation"][1]: entry for entry in config["graph"]["edges"]}
    assert edges[RATED]["features"] == [{"feature": ["score", "score", "numerical"], "norm": "min-max",
                                         "imputer": "median"}]


def test_named_jobs_each_get_their_own_training_configuration(graph: str, s3: Any, bucket: str) -> None:
    jobs = [{"name": "gender-job", "targets": [{"node": USER, "property": "gender", "type": "classification"}]},
            {"name": "links", "targets": [{"edge": [USER, FRIEND, USER], "type": "link_prediction"}],
             "features": [{"node": USER, "property": "age", "type": "numerical", "norm": "standard",
                           "imputer": "mean"}]}]
    status, started = http("POST", f"{graph}/v1/neptune-export", export_body(f"s3://{bucket}/jobs", jobs=jobs))
    assert status == 200, started
    done = wait_for_export(graph, started["jobId"])
    assert done["status"] == "succeeded" and done["stats"]["files"] == 4 + 2, done
    first = json.loads(s3_text(s3, done["outputS3Uri"] + "gender-job.json"))
    second = json.loads(s3_text(s3, done["outputS3Uri"] + "links.json"))
    user = {config_name: next(e for e in config["graph"]["nodes"] if e["node"][1] == USER)
            for config_name, config in (("first", first), ("second", second))}
    assert user["first"]["labels"][0]["label"] == ["gender", "classification"]
    assert user["second"]["labels"] == [] and user["second"]["features"][0] == {
        "feature": ["age", "age", "numerical"], "norm": "standard", "imputer": "mean"}
    friend = next(e for e in second["graph"]["edges"] if e["relation"][1] == FRIEND)
    assert friend["labels"][0]["label"] == ["", "link_prediction"]


@pytest.mark.parametrize(("change", "message"), [
    ({"ml": {"jobs": [{"name": "a"}, {"name": "a"}]}}, "each job needs its own name"),
    ({"ml": {"jobs": [{"name": "../up"}]}}, "jobs[0].name must be"),
    ({"ml": {"jobs": [{"name": "a"}], "targets": []}}, "either jobs or targets and features"),
    ({"ml": {"jobs": [{"name": "a", "targets": [{"node": "nobody", "property": "p", "type": "regression"}]}]}},
     "configuration 'a': the graph has no vertices labelled 'nobody'"),
    ({"command": "export-rdf"}, "export-rdf is not supported"),
    ({"command": "dump"}, "Unknown command 'dump'"),
    ({"outputS3Path": "bucket/path"}, "must begin with s3://"),
    ({"jobSize": "huge"}, "Invalid jobSize 'huge'"),
    ({"params": {"profile": "standard"}}, "params.profile must be 'neptune_ml'"),
    ({"ml": {"targets": [{"node": USER, "property": "gender", "type": "link_prediction"}]}},
     "'link_prediction' is not a node target type"),
    ({"ml": {"targets": [{"node": USER, "type": "classification"}]}}, "property is required"),
    ({"ml": {"targets": [{"node": USER, "property": "gender", "type": "classification", "split_rate": [0.5, 0.5]}]}},
     "split_rate must be three"),
    ({"ml": {"targets": [{"node": "nobody", "property": "gender", "type": "classification"}]}},
     "no vertices labelled 'nobody'"),
    ({"ml": {"targets": [{"node": USER, "property": "height", "type": "regression"}]}},
     "no 'xuser' vertex has a property 'height'"),
    ({"ml": {"targets": [{"edge": [MOVIE, RATED, USER], "type": "link_prediction"}]}}, "the graph has no 'xrated'"),
    ({"ml": {"features": [{"node": USER, "property": "age", "type": "text_sbert"}]}}, "text_sbert is not supported"),
    ({"ml": {"features": [{"node": USER, "property": "age", "type": "numerical", "norm": "l2"}]}},
     "norm must be one of"),
    ({"ml": {"features": [{"node": USER, "property": "age", "type": "bucket_numerical", "bucket_cnt": 3}]}},
     "need range and bucket_cnt"),
])
def test_bad_requests_are_refused_with_a_clear_400(graph: str, bucket: str, change: dict, message: str) -> None:
    body = export_body(f"s3://{bucket}/bad/")
    if "ml" in change:
        body["additionalParams"]["neptune_ml"].update(change["ml"])
    elif "params" in change:
        body["params"].update(change["params"])
    else:
        body.update(change)
    status, error = http("POST", f"{graph}/v1/neptune-export", body)
    assert status == 400, error
    assert error["code"] == "BadRequestException" and message in error["detailedMessage"], error


def test_unknown_job_is_404_and_a_missing_bucket_fails_the_job_with_its_reason(graph: str) -> None:
    status, error = http("GET", f"{graph}/v1/neptune-export/no-such-job")
    assert status == 404 and "no-such-job" in error["detailedMessage"]
    assert http("POST", f"{graph}/v1/neptune-export", b"{not json")[0] == 400
    status, started = http("POST", f"{graph}/v1/neptune-export", export_body("s3://no-such-bucket-xyz/out/"))
    assert status == 200, started
    done = wait_for_export(graph, started["jobId"])
    assert done["status"] == "failed" and "NoSuchBucket" in done["reason"], done
    status, listed = http("GET", f"{graph}/v1/neptune-export")
    assert {"jobId": started["jobId"], "jobName": started["jobName"], "status": "failed"} in listed["jobs"]


def test_a_job_unfinished_at_a_restart_is_reported_failed(tmp_path: Path) -> None:
    record = {"jobId": "j1", "jobName": "neptune-export-j1", "status": "running",
              "outputS3Uri": "s3://b/p/j1/", "created": 1.0}
    (tmp_path / "neptune-export").mkdir()
    (tmp_path / "neptune-export" / "j1.json").write_text(json.dumps(record))
    jobs = ExportJobs(GraphStore(None), lambda: None, executor=None, data_dir=tmp_path)  # type: ignore[arg-type]
    job = jobs.get("j1")
    assert job is not None and job.status == "failed" and "stopped before the export finished" in job.reason
    assert json.loads((tmp_path / "neptune-export" / "j1.json").read_text())["status"] == "failed"


def test_the_export_reads_the_graph_in_one_consistent_read_and_copies_it() -> None:
    import threading

    from emulator.services.neptune.ml.export.snapshot import take_snapshot

    store = GraphStore(None)
    with store.transaction() as tx:
        a, b = tx.add_vertex("a", "v"), tx.add_vertex("b", "v")
        tx.set_vertex_property(a, "tags", "x")
    taken: list[Any] = []
    store.lock.acquire()  # a writer holds the graph: the export waits for its whole change
    try:
        reader = threading.Thread(target=lambda: taken.append(take_snapshot(store)))
        reader.start()
        reader.join(timeout=0.2)
        assert reader.is_alive() and not taken
        store.link_edge("e1", "to", a, b, {"w": 1})
        a.props["tags"].append("y")
    finally:
        store.lock.release()
    reader.join(timeout=10)
    snapshot = taken[0]
    assert snapshot.edges[("v", "to", "v")].ids == ["e1"] and snapshot.nodes["v"].rows[0] == {"tags": ["x", "y"]}
    a.props["tags"].append("z")  # a later write does not reach the copy being exported
    assert snapshot.nodes["v"].rows[0] == {"tags": ["x", "y"]}
