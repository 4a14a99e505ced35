"""The loader's column-wise edge chunks give exactly what row-by-row application gives.

Each case loads the same files twice into identical graphs, once with chunks of a few rows (so good and
bad chunks mix) and once row by row (``chunk_rows=0``), and compares the graphs in memory (records,
properties, the order of every vertex's edge lists), the SQLite rows, the graph read back from the file,
and the job's counters and error log.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytest

from emulator.services.neptune.loader import (
    FeedStatus,
    FileApplier,
    LoadJob,
    LoadOptions,
    LoadStopped,
    apply_files,
    put_values,
)
from emulator.services.neptune.staging import StagedLoad
from emulator.services.neptune.store import GraphStore, put_vertex_value

LIVE_VERTICES = ["a", "b", "shadowed"]

VERTICES = """~id,~label,name:String
n1,node,one
n2,node,two
n3,node,three
shadowed,node,now with a name
"""

# vertex rows the chunk path must leave to the row path (a second vertex file, after VERTICES)
HARD_VERTICES = """~id,~label,name:String,age:Int,tags:String[],nick:String(single)
v1,person,ann,30,a;b;a,annie
v2,person;employee,bob,40,c,
v3,,cid,,x\\;y;,
v1,person,ann again,31,c,annie2
a,old,from the load,,,
v4, spaced ; label ,dan,notanint,,
v5,person,eve,2147483648,,
v6,person,fay,5,,

v7,person,gus,6,q;q;r,
v8,person;person,hal,7,,h
v9,person,ivy,8,,
"""

GOOD_EDGES = '''~id,~from,~to,~label,weight:Double,hops:Int,note:String,ok:Bool,at:Date
e1,n1,n2,link,0.5,1,"quoted, ""comma""",true,2024-01-02
e2,n2,n3,link,1e-300,2,ünï,false,2024-01-02T03:04:05Z
e3,n3,n1,link,-2.25,-3,plain,TRUE,2024-02-03
e4,n1,n3,link,7,2147483647,x,false,2024-02-03
e5,n2,n1,link,0,0,y,true,2024-02-03
e6,n3,n2,link,3.5,9,z,false,2024-02-03
'''

# every kind of row the chunk path must leave to the row path, between good chunks
HARD_EDGES = """~id,~from,~to,~label,weight:Double,hops:Int,note:String
h1,n1,n2,link,0.5,1,fine
h2,n2,n3,link,0.5,1,fine
h3,n1,a,link,,2,empty weight
h4,a,b,link,1.5,3,live ends
h5,n1,shadowed,link,1,1,a shadowed end
h6,n1,n2,link,not a number,1,bad double
h7,n1,n2,link,1,99999999999,out of int range
h8,n1,missing,link,1,1,no such vertex
h9,n1,n2,link,1,1,fine
h1,n1,n2,link,0.75,1,duplicate in the load
ab,a,b,knows,2,2,an existing edge gets new values
ab,b,a,knows,2,2,an existing edge with other ends
h10,n1,n2,link,nan,1,not a finite weight
h11,n1,n2,link,1,1
h12,n2,n1,link,1,1,fine

h13,n3,n2,,1,1,empty label
h14,n3,n2,link,inf,1,infinite weight
h15,n3,n1,link,2,2,fine
h16,n3,n1,link,2,2,fine
"""


def live_graph(path: Path) -> GraphStore:
    store = GraphStore(path)
    with store.transaction() as tx:
        for vid in LIVE_VERTICES:
            tx.add_vertex(vid, "old")
        tx.add_edge("ab", "knows", store.vertices["a"], store.vertices["b"])
    return store


def load(path: Path, files: dict[str, str], chunk_rows: int, fail_on_error: bool = False) -> tuple[GraphStore, LoadJob]:
    store = live_graph(path)
    job = LoadJob("load", LoadOptions("s3://bucket/data/", fail_on_error=fail_on_error), time.time())
    feeds = [(FeedStatus(f"s3://bucket/data/{name}"), text.encode()) for name, text in files.items()]
    job.feeds.extend(feed for feed, _ in feeds)
    staged = StagedLoad(store)
    try:
        apply_files(staged, job, feeds, chunk_rows)
    except LoadStopped as stop:
        job.status = stop.status
    else:
        staged.publish()
    return store, job


def same_value(a: Any) -> Any:
    return "NaN" if isinstance(a, float) and math.isnan(a) else a


def picture(store: GraphStore) -> dict[str, Any]:
    """Everything a reader can see: records, values, and the order of each vertex's edges."""
    return {
        "vertices": {vid: (v.label, v.props, [e.id for e in v.out_e], [e.id for e in v.in_e])
                     for vid, v in sorted(store.vertices.items())},
        "edges": {eid: (e.label, e.out_v.id, e.in_v.id, {k: same_value(x) for k, x in e.props.items()},
                        e.out_v is store.vertices[e.out_v.id], e.in_v is store.vertices[e.in_v.id])
                  for eid, e in sorted(store.edges.items())},
    }


def rows(store: GraphStore) -> dict[str, list[tuple[Any, ...]]]:
    return {"vertices": store.execute("SELECT id, label, props FROM vertices ORDER BY id"),
            "edges": store.execute("SELECT id, label, out_v, in_v, props FROM edges ORDER BY id")}


def outcome(job: LoadJob) -> tuple[Any, ...]:
    return job.status, [f.__dict__ for f in job.feeds], job.error_logs


@pytest.mark.parametrize(("more_vertices", "edges"), [("", GOOD_EDGES), ("", HARD_EDGES), (HARD_VERTICES, GOOD_EDGES)],
                         ids=["good", "hard edges", "hard vertices"])
@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 5, 2000])
def test_chunks_give_what_rows_give(tmp_path: Path, more_vertices: str, edges: str, chunk_rows: int) -> None:
    files = {"v.csv": VERTICES, "w.csv": more_vertices, "e.csv": edges}
    by_rows, job_rows = load(tmp_path / "rows.sqlite", files, chunk_rows=0)
    by_chunks, job_chunks = load(tmp_path / "chunks.sqlite", files, chunk_rows=chunk_rows)
    assert picture(by_chunks) == picture(by_rows)
    assert rows(by_chunks) == rows(by_rows)
    assert outcome(job_chunks) == outcome(job_rows)
    if edges is HARD_EDGES or more_vertices:
        assert job_rows.error_logs, "the hard file has errors to report"
    if more_vertices:
        assert by_rows.vertices["v1"].props["tags"] == ["a", "b"] and by_rows.vertices["v7"].props["tags"] == ["q", "r"]
    if edges is HARD_EDGES:
        assert "h5" in by_rows.edges and by_rows.edges["h5"].in_v is by_rows.vertices["shadowed"]
    by_chunks.close()
    by_rows.close()
    assert picture(GraphStore(tmp_path / "chunks.sqlite")) == picture(GraphStore(tmp_path / "rows.sqlite"))


def test_fail_on_error_stops_at_the_same_row(tmp_path: Path) -> None:
    files = {"v.csv": VERTICES, "e.csv": HARD_EDGES}
    by_rows, job_rows = load(tmp_path / "rows.sqlite", files, chunk_rows=0, fail_on_error=True)
    by_chunks, job_chunks = load(tmp_path / "chunks.sqlite", files, chunk_rows=4, fail_on_error=True)
    assert job_rows.status == "LOAD_FAILED" and outcome(job_chunks) == outcome(job_rows)
    assert picture(by_chunks) == picture(by_rows) and "h1" not in by_chunks.edges  # nothing published


def test_a_clean_file_goes_through_the_chunk_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every row of clean files is applied by a chunk: no vertex row by itself, every edge's SQLite row made
    with it, none late."""
    def no_row_path(*args: Any) -> None:
        raise AssertionError("a clean vertex file went row by row")

    monkeypatch.setattr(FileApplier, "_vertex_row", no_row_path)
    store = live_graph(tmp_path / "g.sqlite")
    job = LoadJob("load", LoadOptions("s3://bucket/data/"), time.time())
    staged = StagedLoad(store)
    clean_vertices = VERTICES.replace("shadowed,node,now with a name\n", "")  # no existing vertex
    apply_files(staged, job, [(FeedStatus("v"), clean_vertices.encode()), (FeedStatus("e"), GOOD_EDGES.encode())], 4)
    assert len(staged.edge_rows) == 6 and not staged.late_edges
    assert list(staged.edge_rows) == ["e1", "e2", "e3", "e4", "e5", "e6"]


@pytest.mark.parametrize("values", [["a", "b", "a", "c", "b"], [1, 2, 1, 3], [0.0, -0.0, 1.5, 1.5],
                                    [float("nan"), float("nan"), 2.0], [True, False, True]])
def test_a_new_vertex_set_column_keeps_each_value_once_in_order(values: list[Any]) -> None:
    """One pass for a whole cell gives what adding its values one by one gives (that pass was quadratic)."""
    at_once: dict[str, list[Any]] = {}
    put_values(at_once, "k", values, "set")
    one_by_one: dict[str, list[Any]] = {}
    for value in values:
        put_vertex_value(one_by_one, "k", value, "set")
    assert [repr(v) for v in at_once["k"]] == [repr(v) for v in one_by_one["k"]]
