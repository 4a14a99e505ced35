"""Graph server benchmark: bulk-load speed and read throughput, each beside its no-overhead baseline.

Run: ``.venv/bin/python bench/graph_bench.py`` (``--edges N`` for a smaller generated graph).

* Load: rows/s of a Neptune bulk load (``POST /loader`` from the embedded S3, through boto3
  ``neptunedata``) for Cora and for a generated graph, beside the rate of only parsing the same CSV
  (csv module + Neptune type conversion). The ratio is what storing costs on top of parsing.
* Read: elements/s of paged exports through gremlinpython over the websocket (GraphBinary),
  ``g.V().range(a, b).valueMap(true)`` and ``g.E().range(a, b).project('s', 't', 'l')…``, beside the
  same bytecode run in-process by the interpreter (no serialization, no socket). The ratio is
  what the protocol costs. Two ceilings follow: gremlinpython's decoder alone on the same results,
  and the replay server (``bench/replay_server.py``: the same frames encoded beforehand, so the
  client's whole path, websocket and result assembly included, runs against a server that costs
  nothing); the wire's share of each says how much the graph server still costs. Each of the
  three is the best of ``READ_RUNS`` runs, after one untimed first page (:func:`warm_up`).

* Traversals on Cora from 100 seed papers: ``repeat(out()).times(3).count()`` (and the same 3 hops
  written ``out().out().out()``) and ``out().out().path().by(id)``, beside the same computation in
  plain Python over adjacency lists (the floor). A step the server does not have yet reads
  "unsupported".
* Point reads (``g.V(id).valueMap()``) p50/p99 on an idle server, beside the same reads while a second
  bulk load of the generated graph's size runs (target: p99 during the load within 3x of idle). The load
  figure above is the first load's, on a quiet server: reads served meanwhile take the same cores.

The graph server runs in its own process, as under ``mlharbor up``, so client and server do not
share one interpreter lock. Targets: the 1M-edge load under 30 s; wire reads at 50,000 elements/s.
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import json
import logging
import multiprocessing
import pickle
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection  # noqa: E402
from gremlin_python.driver.protocol import GremlinServerError  # noqa: E402
from gremlin_python.driver.serializer import GraphBinarySerializersV1  # noqa: E402
from gremlin_python.process.anonymous_traversal import traversal  # noqa: E402
from gremlin_python.process.graph_traversal import GraphTraversal, GraphTraversalSource, __  # noqa: E402
from gremlin_python.process.strategies import OptionsStrategy  # noqa: E402
from gremlin_python.process.traversal import TraversalStrategies, Traverser  # noqa: E402
from gremlin_python.structure.graph import Graph  # noqa: E402
from gremlin_python.structure.io.graphbinaryV1 import GraphBinaryWriter  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from emulator import config as config_module  # noqa: E402
from emulator.edge.graph_process import GraphProcess, GraphSettings  # noqa: E402
from emulator.services.neptune.csvformat import convert, parse_header  # noqa: E402
from emulator.services.neptune.gremlin.traversal import execute  # noqa: E402
from emulator.services.neptune.loader import csv_rows  # noqa: E402
from emulator.services.neptune.serializers import _Reader, encode_graphbinary_response  # noqa: E402
from emulator.services.neptune.store import GraphStore  # noqa: E402

CORA = REPO / "../shared/datasets/cora"
ROLE = "arn:aws:iam::123456789012:role/NeptuneLoadFromS3"
def cora_csv() -> tuple[bytes, bytes]:
    with open(CORA / "nodes.csv", newline="") as handle:
        nodes = list(csv.DictReader(handle))
    with open(CORA / "edges.csv", newline="") as handle:
        edges = list(csv.DictReader(handle))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["~id", "~label", "label:Int", "split:String", "features:Int[]"])
    for n in nodes:
        writer.writerow([n["node_id"], "paper", n["label"], n["split"], ";".join(n["features"].split())])
    vertices = out.getvalue().encode()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["~id", "~from", "~to", "~label"])
    for i, e in enumerate(edges):
        writer.writerow([f"e{i}", e["source"], e["target"], "cites"])
    return vertices, out.getvalue().encode()


def generated_csv(edges: int, prefix: str = "") -> tuple[bytes, bytes]:
    """A random-ish graph: edges/10 vertices with two properties, edges with a weight; ``prefix`` makes
    another graph of the same shape (other ids)."""
    vertices = max(edges // 10, 1)
    v_lines = ["~id,~label,name:String,rank:Int"]
    v_lines.extend(f"{prefix}n{i},node,node {i},{i % 1000}" for i in range(vertices))
    e_lines = ["~id,~from,~to,~label,weight:Double"]
    e_lines.extend(f"{prefix}x{i},{prefix}n{(i * 7919) % vertices},{prefix}n{(i * 104729 + 1) % vertices},link,"
                   f"{(i % 100) / 100}" for i in range(edges))
    return ("\n".join(v_lines) + "\n").encode(), ("\n".join(e_lines) + "\n").encode()


#: the issue's targets (issue 13, item 9): a load at 40 % of the parse-only rate or more, wire reads at 90 %
#: of gremlinpython's own decoder or more, point-read p99 during a load within 3x of idle
LOAD_TARGET = 0.40
READ_TARGET = 0.90
LATENCY_TARGET = 3.0
#: each read rate (wire, decoder, replay) is the best of this many runs: the 2 cores are often shared
READ_RUNS = 2


def load_share(load_rate: float, parse_rate: float) -> str:
    """The ratio column of a load: how many times slower than parsing, and the share of the parse rate."""
    return f"{parse_rate / load_rate:.1f}x = {load_rate / parse_rate:.1%} of parse only (target >= {LOAD_TARGET:.0%})"


def parse_only(*files: bytes) -> tuple[int, float]:
    """Rows and seconds (the fastest of 3 runs: one run varied by 2x on a busy machine) to only parse and
    type-convert the files, as the loader does."""
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        rows = 0
        for data in files:
            reader = csv_rows(data)
            header = parse_header(next(reader))
            for row in reader:
                for index, column in header.columns:
                    convert(row[index], column)
                rows += 1
        timings.append(time.perf_counter() - started)
    return rows, min(timings)


class PlainVertex:
    __slots__ = ("id", "label", "props", "out_e", "in_e")

    def __init__(self, vid: str, label: str, props: dict[str, Any]) -> None:
        self.id, self.label, self.props, self.out_e, self.in_e = vid, label, props, [], []


class PlainEdge:
    __slots__ = ("id", "label", "out_v", "in_v", "props")

    def __init__(self, eid: str, label: str, out_v: PlainVertex, in_v: PlainVertex, props: dict[str, Any]) -> None:
        self.id, self.label, self.out_v, self.in_v, self.props = eid, label, out_v, in_v, props


def plain_python_load(vertices: bytes, edges: bytes, path: Path) -> tuple[int, float, float]:
    """Rows, seconds to the records and seconds in all of the straightforward loader in plain Python, none
    of the server's checks: the same parse and conversion, a record per element in a dict, adjacency lists
    (the records), then JSON rows into SQLite in one transaction. What a load costs beyond parsing in
    CPython, for comparison with the server's load; the records alone are a floor no durable load passes."""
    gc.disable()
    started = time.perf_counter()
    graph_v: dict[str, PlainVertex] = {}
    graph_e: dict[str, PlainEdge] = {}
    reader = csv_rows(vertices)
    header = parse_header(next(reader))
    for row in reader:
        graph_v[row[0]] = PlainVertex(row[0], row[1], {c.name: convert(row[i], c) for i, c in header.columns})
    reader = csv_rows(edges)
    header = parse_header(next(reader))
    for row in reader:
        out_v, in_v = graph_v[row[1]], graph_v[row[2]]
        edge = graph_e[row[0]] = PlainEdge(row[0], row[3], out_v, in_v,
                                           {c.name: convert(row[i], c)[-1] for i, c in header.columns})
        out_v.out_e.append(edge)
        in_v.in_e.append(edge)
    records_s = time.perf_counter() - started
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE vertices (id TEXT PRIMARY KEY, label TEXT NOT NULL, props TEXT)")
    db.execute("CREATE TABLE edges (id TEXT PRIMARY KEY, label TEXT, out_v TEXT, in_v TEXT, props TEXT)")
    db.execute("BEGIN")
    db.executemany("INSERT INTO vertices VALUES (?, ?, ?)",
                   ((v.id, v.label, json.dumps(v.props)) for v in graph_v.values()))
    db.executemany("INSERT INTO edges VALUES (?, ?, ?, ?, ?)",
                   ((e.id, e.label, e.out_v.id, e.in_v.id, json.dumps(e.props)) for e in graph_e.values()))
    db.execute("COMMIT")
    db.close()
    elapsed = time.perf_counter() - started
    rows = len(graph_v) + len(graph_e)
    del graph_v, graph_e
    gc.enable()
    return rows, records_s, elapsed


def bulk_load(neptune: Any, s3: Any, bucket: str, prefix: str, files: dict[str, bytes]) -> tuple[int, float]:
    for name, body in files.items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=body)
    started = time.perf_counter()
    load_id = neptune.start_loader_job(source=f"s3://{bucket}/{prefix}/", format="csv", s3BucketRegion="us-east-1",
                                       iamRoleArn=ROLE)["payload"]["loadId"]
    pause = 0.005  # short polls for a short load, then every 50 ms (each poll takes the server's time)
    while True:
        status = neptune.get_loader_job_status(loadId=load_id)["payload"]["overallStatus"]
        if status["status"] not in ("LOAD_NOT_STARTED", "LOAD_IN_QUEUE", "LOAD_IN_PROGRESS"):
            break
        time.sleep(pause)
        pause = min(pause * 1.5, 0.05)
    elapsed = time.perf_counter() - started
    if status["status"] != "LOAD_COMPLETED":
        raise RuntimeError(f"load {prefix} ended {status}")
    return status["totalRecords"], elapsed


def vertex_page(g: GraphTraversalSource, start: int, end: int) -> GraphTraversal:
    return g.V().range_(start, end).value_map(True)


def edge_page(g: GraphTraversalSource, start: int, end: int) -> GraphTraversal:
    return g.E().range_(start, end).project("s", "t", "l").by(__.out_v().id_()).by(__.in_v().id_()).by(__.label())


def best_export(run_page: Any, total: int, page: int) -> tuple[int, float]:
    """The fastest of ``READ_RUNS`` exports (see :func:`export`)."""
    return min((export(run_page, total, page) for _ in range(READ_RUNS)), key=lambda run: run[1])


def export(run_page: Any, total: int, page: int, keep: list[Any] | None = None) -> tuple[int, float]:
    """Elements and seconds of reading ``total`` elements in pages; ``keep`` collects the results."""
    started = time.perf_counter()
    count = 0
    for start in range(0, total, page):
        found = run_page(start, min(start + page, total))
        count += len(found)
        if keep is not None:
            keep.extend(found)
    return count, time.perf_counter() - started


_WRITER = GraphBinaryWriter()


def local_bytecode(t: GraphTraversal) -> Any:
    """The same bytecode the driver sends, decoded by the server's own decoder."""
    return _Reader(bytes(_WRITER.to_dict(t.bytecode))).any()


def local_exports(path: Path, vertex_total: int, edge_total: int,
                  page: int) -> tuple[tuple[int, float], tuple[int, float], list[Any], list[Any]]:
    """Both exports run in-process by the interpreter on the graph file: their timings and their results."""
    store = GraphStore(path)
    local = GraphTraversalSource(Graph(), TraversalStrategies())
    read_v: list[Any] = []
    read_e: list[Any] = []
    try:
        local_v = export(lambda a, b: execute(store, local_bytecode(vertex_page(local, a, b))), vertex_total, page,
                         read_v)
        local_e = export(lambda a, b: execute(store, local_bytecode(edge_page(local, a, b))), edge_total, page,
                         read_e)
    finally:
        store.close()
    return local_v, local_e, read_v, read_e


def page_frames(results: list[Any], page: int, batch: int) -> list[list[bytes]]:
    """The response frames of each page of ``results``, as the graph server frames them (206, then 200)."""
    request_id = str(uuid.uuid4())
    pages = []
    for start in range(0, len(results), page):
        items = results[start:start + page]
        pages.append([encode_graphbinary_response(request_id, 200 if low + batch >= len(items) else 206, None,
                                                  [Traverser(r, 1) for r in items[low:low + batch]])
                      for low in range(0, len(items), batch)])
    return pages


class ReplayServer:
    """``bench/replay_server.py`` in its own process, answering the requests in order with ``pages``."""

    def __init__(self, pages: list[list[bytes]], work: Path) -> None:
        frames_file = work / "replay-pages.pickle"
        frames_file.write_bytes(pickle.dumps(pages))
        self.process = subprocess.Popen([sys.executable, str(REPO / "bench" / "replay_server.py"), str(frames_file)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self.process.stdout.readline() if self.process.stdout else b""
        if not line.strip():
            self.close()
            raise RuntimeError("the replay server did not start")
        self.url = f"ws://127.0.0.1:{int(line)}/gremlin"

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()  # its end of stdin is its signal to stop
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def warm_up(g: GraphTraversalSource, total_v: int, page: int) -> None:
    """Read the first vertex page untimed: a client's first large page runs about a third slower than the
    ones after it (measured against the replay server), which is no cost of the server's; so the wire and
    the replay both start warm."""
    vertex_page(g, 0, min(page, total_v)).to_list()


def replay(pages_v: list[list[bytes]], total_v: int, pages_e: list[list[bytes]], total_e: int, page: int,
           work: Path) -> tuple[float, float]:
    """Elements/s of the two exports (``total_*`` elements in pages of ``page``) against the replay server.

    The caller drops its own copy of the results first: the client keeps what it reads alive until the
    page ends, so its garbage collector's work grows with the heap, and the wire export ran without them.
    The first page is read once untimed, as on the wire (see :func:`warm_up`).
    """
    server = ReplayServer(pages_v[:1] + pages_v * READ_RUNS + pages_e * READ_RUNS, work)
    try:
        conn = DriverRemoteConnection(server.url, "g")
        g = traversal().with_remote(conn)
        try:
            warm_up(g, total_v, page)
            count_v, seconds_v = best_export(lambda a, b: vertex_page(g, a, b).to_list(), total_v, page)
            count_e, seconds_e = best_export(lambda a, b: edge_page(g, a, b).to_list(), total_e, page)
        finally:
            conn.close()
    finally:
        server.close()
    if (count_v, count_e) != (total_v, total_e):
        raise RuntimeError(f"the replay gave {count_v:,} and {count_e:,} elements, not {total_v:,} and {total_e:,}")
    return count_v / seconds_v, count_e / seconds_e


def decode_only(pages: list[list[bytes]]) -> float:
    """Elements/s of gremlinpython's own GraphBinary reader on the response frames of each page.

    It holds each page's decoded results until the page ends, as a client reading pages does (a ResultSet
    keeps a page whole): the collector's passes over the live page are part of reading it. The caller drops
    its own copy of the results first, so the heap is the wire export's.
    """
    reader = GraphBinarySerializersV1()
    fastest, count = float("inf"), 0
    for _ in range(READ_RUNS):
        started = time.perf_counter()
        count = 0
        for frames in pages:
            held = [reader.deserialize_message(frame)["result"]["data"] for frame in frames]
            count += sum(map(len, held))
        fastest = min(fastest, time.perf_counter() - started)
        del held
    return count / fastest


# -- traversals on Cora beside plain Python ---------------------------------------------------

SEEDS = 100
HOPS = 3
Row = tuple[str, str, str, str]


def cora_adjacency() -> dict[str, list[str]]:
    """Out-neighbours of every Cora paper, in the order the loader links the edges (file order)."""
    adjacency: dict[str, list[str]] = {}
    with open(CORA / "nodes.csv", newline="") as handle:
        for node in csv.DictReader(handle):
            adjacency[node["node_id"]] = []
    with open(CORA / "edges.csv", newline="") as handle:
        for edge in csv.DictReader(handle):
            adjacency[edge["source"]].append(edge["target"])
    return adjacency


def walks(adjacency: dict[str, list[str]], seeds: list[str], hops: int) -> int:
    """How many traversers ``out()`` ``hops`` times leaves (every walk, no dedup)."""
    frontier = list(seeds)
    for _ in range(hops):
        frontier = [n for v in frontier for n in adjacency[v]]
    return len(frontier)


def paths(adjacency: dict[str, list[str]], seeds: list[str]) -> list[list[str]]:
    return [[s, a, b] for s in seeds for a in adjacency[s] for b in adjacency[a]]


def best_of(runs: int, work: Callable[[], Any]) -> tuple[Any, float]:
    """The result and the fastest of ``runs`` timings (seconds)."""
    timings, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        timings.append(time.perf_counter() - started)
    return result, min(timings)


def traversal_row(name: str, server: Callable[[], Any], floor: Callable[[], Any]) -> Row:
    """One traversal on the server beside plain Python; "unsupported" if the server refuses a step."""
    expected, floor_s = best_of(5, floor)
    try:
        got, server_s = best_of(3, server)
    except GremlinServerError as error:
        reason = str(error).split("detailedMessage", 1)[-1][:80].strip('":{} ')
        return (name, "unsupported", f"{floor_s * 1000:,.2f} ms plain Python", f"- ({error.status_code}: {reason})")
    same = "same result" if got == expected else f"DIFFERENT result ({str(got)[:40]} vs {str(expected)[:40]})"
    return (name, f"{server_s * 1000:,.1f} ms", f"{floor_s * 1000:,.2f} ms plain Python",
            f"{server_s / floor_s:,.0f}x  ({same}; no target)")


def cora_traversals(g: GraphTraversalSource) -> list[Row]:
    adjacency = cora_adjacency()
    seeds = sorted(adjacency)[:SEEDS]

    def as_lists(found: list[Any]) -> list[list[str]]:
        return sorted(list(p) for p in found)

    return [
        traversal_row(f"Cora {SEEDS} seeds repeat(out()).times({HOPS}).count()",
                      lambda: g.V(*seeds).repeat(__.out()).times(HOPS).count().next(),
                      lambda: walks(adjacency, seeds, HOPS)),
        traversal_row(f"Cora {SEEDS} seeds out().out().out().count()",
                      lambda: g.V(*seeds).out().out().out().count().next(),
                      lambda: walks(adjacency, seeds, HOPS)),
        traversal_row(f"Cora {SEEDS} seeds out().out().path().by(id)",
                      lambda: as_lists(g.V(*seeds).out().out().path().by(__.id_()).to_list()),
                      lambda: sorted(paths(adjacency, seeds))),
    ]


# -- point reads, idle and beside a bulk load ----------------------------------------------------

def point_reads(g: GraphTraversalSource, ids: list[str], until: Callable[[], bool] | None = None,
                count: int = 0) -> list[float]:
    """Latencies (seconds) of ``g.V(id).valueMap()``: ``count`` of them, or as many as fit before ``until()``."""
    latencies: list[float] = []
    index = 0
    while (until is None and index < count) or (until is not None and not until()):
        vid = ids[index % len(ids)]
        started = time.perf_counter()
        g.V(vid).value_map().to_list()
        latencies.append(time.perf_counter() - started)
        index += 1
    return latencies


def read_in_process(url: str, ids: list[str], count: int, ready: Any, stop: Any, results: Any) -> None:
    """The body of :class:`ReaderProcess`: warm up, say so, then ``count`` reads (0: until ``stop``)."""
    remote = DriverRemoteConnection(url, "g")
    g = traversal().with_remote(remote)
    try:
        point_reads(g, ids, count=200)  # warm the connection and the server
        ready.set()
        results.put(point_reads(g, ids, count=count) if count else point_reads(g, ids, until=stop.is_set))
    finally:
        remote.close()


class ReaderProcess:
    """Point reads from a process of their own: in the bench's process they would wait for its interpreter
    lock behind the load's status polls (boto3) and the embedded S3, which is not the server's latency."""

    def __init__(self, url: str, ids: list[str], count: int = 0) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop, self._results, ready = context.Event(), context.Queue(), context.Event()
        self._process = context.Process(target=read_in_process, args=(url, ids, count, ready, self._stop,
                                                                      self._results), daemon=True)
        self._process.start()
        if not ready.wait(120):
            raise RuntimeError("the point-read process did not start")

    def latencies(self) -> list[float]:
        """Stop reading (if reading until told) and return every read's seconds."""
        self._stop.set()
        try:
            return self._results.get(timeout=600)
        finally:
            self._process.join(30)


def percentile(latencies: list[float], q: float) -> float:
    return statistics.quantiles(latencies, n=100, method="inclusive")[q - 1] if len(latencies) > 1 else latencies[0]


def latency_row(name: str, idle: list[float], busy: list[float]) -> Row:
    ratio = percentile(busy, 99) / percentile(idle, 99)
    return (name, f"p50 {percentile(busy, 50) * 1000:.2f} ms  p99 {percentile(busy, 99) * 1000:.2f} ms",
            f"idle p50 {percentile(idle, 50) * 1000:.2f} ms  p99 {percentile(idle, 99) * 1000:.2f} ms",
            f"{ratio:.1f}x p99 ({len(busy):,} reads during the load, max {max(busy) * 1000:.0f} ms; "
            f"target <= {LATENCY_TARGET:.0f}x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, default=1_000_000, help="edges of the generated graph")
    parser.add_argument("--read", type=int, default=200_000, help="elements read per export")
    parser.add_argument("--page", type=int, default=20_000, help="page size of the exports")
    parser.add_argument("--point-reads", type=int, default=2_000, help="point reads on the idle server")
    parser.add_argument("--batch-size", type=int, default=0,
                        help="results per response frame (batchSize); 0 keeps the server default of 64")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("gremlinpython").setLevel(logging.CRITICAL)  # "unsupported" rows say it once

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    s3_url = f"http://{host}:{port}"
    s3 = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1", aws_access_key_id="bench",
                      aws_secret_access_key="bench")
    s3.create_bucket(Bucket="graph-bench")
    work = Path(tempfile.mkdtemp(prefix="graph-bench-"))
    # the graph server's own supervised process, exactly as ``mlharbor up`` starts it
    server = GraphProcess(GraphSettings(data_dir=str(work), host="127.0.0.1", port=0, s3_endpoint_url=s3_url,
                                        region="us-east-1", query_timeout_ms=120_000,
                                        config=config_module.resolve({"data_dir": str(work)})))
    server.start()
    rows: list[tuple[str, str, str, str]] = []
    try:
        graph_port = server.port
        neptune = boto3.client("neptunedata", endpoint_url=f"http://127.0.0.1:{graph_port}", region_name="us-east-1",
                               aws_access_key_id="bench", aws_secret_access_key="bench",
                               config=Config(retries={"max_attempts": 1}))
        cora_v, cora_e = cora_csv()
        parsed, parse_s = parse_only(cora_v, cora_e)
        loaded, load_s = bulk_load(neptune, s3, "graph-bench", "cora", {"v.csv": cora_v, "e.csv": cora_e})
        rows.append(("load Cora (rows/s)", f"{loaded / load_s:,.0f}", f"{parsed / parse_s:,.0f} parse only",
                     f"{load_share(loaded / load_s, parsed / parse_s)}  "
                     f"({loaded:,} rows in {load_s:.2f} s)"))
        gremlin_url = f"ws://127.0.0.1:{graph_port}/gremlin"
        read_ids = sorted(cora_adjacency())[:500]
        idle = ReaderProcess(gremlin_url, read_ids, args.point_reads).latencies()
        # the load's rate on a quiet server; then the point reads during a second load of the same shape
        gen_v, gen_e = generated_csv(args.edges)
        parsed, parse_s = parse_only(gen_v, gen_e)
        loaded, load_s = bulk_load(neptune, s3, "graph-bench", "generated", {"v.csv": gen_v, "e.csv": gen_e})
        rows.append((f"load {args.edges:,} edges (rows/s)", f"{loaded / load_s:,.0f}",
                     f"{parsed / parse_s:,.0f} parse only",
                     f"{load_share(loaded / load_s, parsed / parse_s)}  "
                     f"({loaded:,} rows in {load_s:.1f} s; target < 30 s)"))
        plain, records_s, plain_s = plain_python_load(gen_v, gen_e, work / "plain.sqlite")
        rows.append((f"load {args.edges:,} edges, plain Python (rows/s)", f"{loaded / load_s:,.0f}",
                     f"{plain / plain_s:,.0f} plain-Python loader",
                     f"{(loaded / load_s) / (plain / plain_s):.2f}x the plain loader's rate, which is "
                     f"{(plain / plain_s) / (parsed / parse_s):.1%} of parse only (records, adjacency and SQLite "
                     f"rows; no checks, no staging); beyond the parse, its records took "
                     f"{(records_s - parse_s) / parse_s:.1f}x and its SQLite rows "
                     f"{(plain_s - records_s) / parse_s:.1f}x the parse's time (40% allows 1.5x for both)"))
        gen_v, gen_e = generated_csv(args.edges, prefix="busy-")
        reader = ReaderProcess(gremlin_url, read_ids)
        try:
            loaded, load_s = bulk_load(neptune, s3, "graph-bench", "busy", {"v.csv": gen_v, "e.csv": gen_e})
        finally:
            busy = reader.latencies()
        rows.append((f"load {args.edges:,} more edges, read meanwhile", f"{loaded / load_s:,.0f}",
                     f"{parsed / parse_s:,.0f} parse only",
                     f"{load_share(loaded / load_s, parsed / parse_s)}  (the point reads below ran meanwhile)"))
        del gen_v, gen_e
        rows.append(latency_row(f"point reads during the {args.edges:,}-edge load", idle, busy))

        conn = DriverRemoteConnection(f"ws://127.0.0.1:{graph_port}/gremlin", "g")
        g = traversal().with_remote(conn)
        rows.extend(cora_traversals(g))
        if args.batch_size:
            g = g.with_strategies(OptionsStrategy(batchSize=args.batch_size))
        vertex_total = min(args.read, g.V().count().next())
        edge_total = min(args.read, g.E().count().next())
        warm_up(g, vertex_total, args.page)
        wire_v = best_export(lambda a, b: vertex_page(g, a, b).to_list(), vertex_total, args.page)
        wire_e = best_export(lambda a, b: edge_page(g, a, b).to_list(), edge_total, args.page)
        conn.close()
    finally:
        server.stop()

    local_v, local_e, read_v, read_e = local_exports(work / "graph.sqlite", vertex_total, edge_total, args.page)
    moto.stop()
    batch = args.batch_size or 64
    pages_v, pages_e = page_frames(read_v, args.page, batch), page_frames(read_e, args.page, batch)
    total_v, total_e = len(read_v), len(read_e)
    del read_v, read_e  # see replay() and decode_only()
    # the decoder's ceiling on exactly the elements the wire export read (the first page alone is Cora's
    # 1,433-feature papers, far heavier than the generated vertices after them)
    ceiling_v, ceiling_e = decode_only(pages_v), decode_only(pages_e)
    replay_v, replay_e = replay(pages_v, total_v, pages_e, total_e, args.page, work)
    for name, wire, here, ceiling, replayed in (("read V().valueMap(true)", wire_v, local_v, ceiling_v, replay_v),
                                                ("read E().project(s,t,l)", wire_e, local_e, ceiling_e, replay_e)):
        wire_rate, local_rate = wire[0] / wire[1], here[0] / here[1]
        rows.append((f"{name} (elements/s)", f"{wire_rate:,.0f}", f"{local_rate:,.0f} in-process",
                     f"{local_rate / wire_rate:.1f}x  ({wire[0]:,} elements, pages of {args.page:,}; target >= "
                     f"50,000/s; gremlinpython's decoder alone: {ceiling:,.0f}/s, so the wire runs at "
                     f"{wire_rate / ceiling:.0%} of it, target >= {READ_TARGET:.0%}; the replay server (the "
                     f"client's whole path, a server that costs nothing): {replayed:,.0f}/s, the wire at "
                     f"{wire_rate / replayed:.0%} of it)"))

    print("graph server benchmark (gremlinpython GraphBinary over websocket; neptunedata loader)")
    widths = [max(len(r[i]) for r in rows + [("measure", "server", "baseline", "ratio")]) for i in range(4)]
    header = ("measure", "server", "baseline", "baseline/server")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
