"""Neptune's bulk loader: load jobs that read Gremlin CSV files from S3 into the graph.

Emulates https://docs.aws.amazon.com/neptune/latest/userguide/load-api-reference.html. A job lists
the objects under its ``source`` (one object or a folder), parses every file (vertex files before
edge files), then applies all rows to ONE staged change (:mod:`emulator.services.neptune.staging`),
published with the job's final status in one SQLite transaction. So a load is atomic: a crash or a
failure leaves the graph as it was before the load, and a job is never reported LOAD_COMPLETED
unless its data is on disk. Reads go on during the load: they see the graph without it until it
is published, and wait only for that short step. (Real Neptune commits in
chunks and keeps what was loaded before an error; this emulator is stricter.) Jobs run one at a
time on a worker thread; ``queueRequest`` queues, otherwise a second load is refused as on Neptune.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from itertools import chain, islice, repeat
from typing import Any

from emulator.services.neptune import errors
from emulator.services.neptune.csvformat import (
    Column,
    CsvFormatError,
    Header,
    convert,
    convert_column,
    parse_header,
    split_labels,
)
from emulator.services.neptune.gremlin.predicates import values_equal
from emulator.services.neptune.staging import LoadConflict, StagedLoad
from emulator.services.neptune.store import (
    DEFAULT_VERTEX_LABEL,
    LABEL_SEPARATOR,
    EdgeRecord,
    GraphError,
    GraphStore,
    VertexRecord,
    encode_props,
    encode_props_columns,
    put_vertex_value,
)

log = logging.getLogger(__name__)

MAX_ERROR_LOGS = 10_000
MAX_JOBS_LISTED = 1024
CANCEL_CHECK_EVERY = 20_000
# edge rows per column-wise chunk: short, as each C-level step over a chunk (the csv reader's rows, a set, a
# map) holds the interpreter lock throughout, and a point read waits behind it
CHUNK_ROWS = 500
DOWNLOADS_AT_ONCE = 4  # a load's files fetched side by side (each GET is mostly waiting on S3)
FINISHED = frozenset({"LOAD_COMPLETED", "LOAD_FAILED", "LOAD_CANCELLED_BY_USER", "LOAD_CANCELLED_DUE_TO_ERRORS",
                      "LOAD_UNEXPECTED_ERROR", "LOAD_S3_READ_ERROR", "LOAD_S3_ACCESS_DENIED_ERROR",
                      "LOAD_FAILED_BECAUSE_DEPENDENCY_NOT_SATISFIED", "LOAD_FAILED_INVALID_REQUEST"})
SUPPORTED_FORMATS = frozenset({"csv"})
KNOWN_FORMATS = frozenset({"csv", "opencypher", "ntriples", "nquads", "rdfxml", "turtle"})


class LoadStopped(Exception):
    """Ends a load early: failOnError hit an error, or the user cancelled it."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


@dataclass
class FeedStatus:
    """One file of a load (Neptune calls it a feed) and its counters."""

    fullUri: str
    status: str = "LOAD_NOT_STARTED"
    runNumber: int = 1
    retryNumber: int = 0
    totalTimeSpent: int = 0
    startTime: int = 0
    totalRecords: int = 0
    totalDuplicates: int = 0
    parsingErrors: int = 0
    datatypeMismatchErrors: int = 0
    insertErrors: int = 0

    @property
    def error_count(self) -> int:
        return self.parsingErrors + self.datatypeMismatchErrors + self.insertErrors


@dataclass
class LoadOptions:
    """The StartLoaderJob parameters the loader acts on."""

    source: str
    format: str = "csv"
    region: str = "us-east-1"
    iam_role_arn: str = ""
    fail_on_error: bool = True
    mode: str = "AUTO"
    parallelism: str = "HIGH"
    update_single_cardinality: bool = False
    queue_request: bool = False
    dependencies: list[str] = field(default_factory=list)


@dataclass
class LoadJob:
    """A load job as kept in memory and in the ``load_jobs`` table."""

    load_id: str
    options: LoadOptions
    created: float
    status: str = "LOAD_NOT_STARTED"
    start_time: int = 0
    time_spent: int = 0
    feeds: list[FeedStatus] = field(default_factory=list)
    error_logs: list[dict[str, Any]] = field(default_factory=list)
    cancel_requested: bool = False

    def record(self) -> str:
        data = {"load_id": self.load_id, "options": asdict(self.options), "created": self.created,
                "status": self.status, "start_time": self.start_time, "time_spent": self.time_spent,
                "feeds": [asdict(f) for f in self.feeds], "error_logs": self.error_logs}
        return json.dumps(data)

    @classmethod
    def from_record(cls, text: str) -> LoadJob:
        data = json.loads(text)
        job = cls(data["load_id"], LoadOptions(**data["options"]), data["created"], data["status"],
                  data["start_time"], data["time_spent"], [FeedStatus(**f) for f in data["feeds"]],
                  data["error_logs"])
        return job

    def overall(self) -> dict[str, Any]:
        totals = FeedStatus(self.options.source, self.status, startTime=self.start_time,
                            totalTimeSpent=self.time_spent)
        for feed in self.feeds:
            totals.totalRecords += feed.totalRecords
            totals.totalDuplicates += feed.totalDuplicates
            totals.parsingErrors += feed.parsingErrors
            totals.datatypeMismatchErrors += feed.datatypeMismatchErrors
            totals.insertErrors += feed.insertErrors
        return asdict(totals)

    def add_error(self, feed: FeedStatus, code: str, message: str, record: int) -> None:
        if code == "DATATYPE_MISMATCH":
            feed.datatypeMismatchErrors += 1
        elif code == "PARSING_ERROR":
            feed.parsingErrors += 1
        else:
            feed.insertErrors += 1
        if len(self.error_logs) < MAX_ERROR_LOGS:
            self.error_logs.append({"errorCode": code, "errorMessage": message, "fileName": feed.fullUri,
                                    "recordNum": record})


def _flag(value: Any, name: str, default: bool) -> bool:
    """Neptune takes ``"TRUE"``/``"FALSE"`` strings; boto3 sends JSON booleans."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.upper() in ("TRUE", "FALSE"):
        return value.upper() == "TRUE"
    raise errors.InvalidParameter(f"Invalid value for {name}: {value!r} (expected TRUE or FALSE)")


def parse_request(body: dict[str, Any]) -> LoadOptions:
    """Validate a StartLoaderJob body (https://docs.aws.amazon.com/neptune/latest/userguide/load-api-reference-load.html)."""
    for name in ("source", "format", "iamRoleArn"):
        if not body.get(name):
            raise errors.MissingParameter(f"Missing required parameter: {name}")
    source, fmt = body["source"], body["format"]
    if not isinstance(source, str) or not source.startswith("s3://") or len(source) <= len("s3://"):
        raise errors.InvalidParameter(f"Invalid source {source!r}: expected s3://bucket/key")
    if not isinstance(fmt, str) or fmt.lower() not in KNOWN_FORMATS:
        raise errors.InvalidParameter(f"Invalid format {fmt!r}: expected one of {sorted(KNOWN_FORMATS)}")
    if fmt.lower() not in SUPPORTED_FORMATS:
        raise errors.UnsupportedOperation(f"Format {fmt!r} is not supported by this emulator (only csv, the "
                                          "Gremlin load data format)")
    dependencies = body.get("dependencies") or []
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise errors.InvalidParameter("dependencies must be a list of load ids")
    mode = str(body.get("mode") or "AUTO").upper()
    if mode not in ("RESUME", "NEW", "AUTO"):
        raise errors.InvalidParameter(f"Invalid mode {mode!r}")
    return LoadOptions(
        source=source, format=fmt.lower(), region=str(body.get("region") or "us-east-1"),
        iam_role_arn=str(body["iamRoleArn"]), fail_on_error=_flag(body.get("failOnError"), "failOnError", True),
        mode=mode, parallelism=str(body.get("parallelism") or "HIGH"),
        update_single_cardinality=_flag(body.get("updateSingleCardinalityProperties"),
                                        "updateSingleCardinalityProperties", False),
        queue_request=_flag(body.get("queueRequest"), "queueRequest", False), dependencies=dependencies)


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


# -- applying rows ---------------------------------------------------------------------------

class FileApplier:
    """Applies the rows of parsed files to one transaction, counting into the job's feeds."""

    def __init__(self, tx: StagedLoad, job: LoadJob, chunk_rows: int = CHUNK_ROWS,
                 step_aside: Callable[[], None] = lambda: None) -> None:
        self.tx = tx
        self.step_aside = step_aside  # called between chunks: the load waits while a request is answered
        self.chunk_rows = chunk_rows  # edge rows per column-wise chunk (0: row by row only)
        self.store = tx.store
        self.job = job
        self.fail_on_error = job.options.fail_on_error
        self.update_single = job.options.update_single_cardinality
        self.seen: set[str] = set()

    def _error(self, feed: FeedStatus, code: str, message: str, record: int) -> None:
        self.job.add_error(feed, code, message, record)
        if self.fail_on_error:
            raise LoadStopped("LOAD_FAILED")

    def apply(self, feed: FeedStatus, rows: Iterator[list[str]]) -> None:
        try:
            header = parse_header(next(rows))
        except StopIteration:
            return
        except CsvFormatError as error:
            self._error(feed, error.code, f"Invalid header: {error}", 0)
            return
        if header.kind == "vertex":
            def apply_row(row: list[str], number: int) -> None:
                self._vertex_row(feed, header, row, number)
        else:
            apply_row = self._edge_applier(feed, header)
        width = header.width
        chunk_applier = None
        if self.chunk_rows:
            chunk_applier = self._edge_chunk_applier(header) if header.kind == "edge" else \
                self._vertex_chunk_applier(header)
        if chunk_applier is None:
            self._apply_rows(feed, width, apply_row, enumerate(rows, start=1))
            return
        done = 0  # rows before this chunk
        while chunk := list(islice(rows, self.chunk_rows)):
            self.step_aside()
            if self.job.cancel_requested:
                raise LoadStopped("LOAD_CANCELLED_BY_USER")
            if chunk_applier(chunk):
                feed.totalRecords += len(chunk)
            else:  # a row needs its own answer: the whole chunk goes row by row
                self._apply_rows(feed, width, apply_row, enumerate(chunk, start=done + 1))
            done += len(chunk)

    def _apply_rows(self, feed: FeedStatus, width: int, apply_row: Callable[[list[str], int], None],
                    numbered: Iterator[tuple[int, list[str]]]) -> None:
        records = 0
        try:  # one call per row, counters kept in locals
            for number, row in numbered:
                # no time.sleep(0) hand-over here: on a busy machine each one gave the core away for about a
                # millisecond (5 s of a 1M-edge load); the graph process's short switch interval lets readers in
                if not number % CANCEL_CHECK_EVERY and self.job.cancel_requested:
                    raise LoadStopped("LOAD_CANCELLED_BY_USER")
                if len(row) != width:
                    if not any(row):
                        continue
                    records += 1
                    self._error(feed, "PARSING_ERROR", f"Expected {width} columns, found {len(row)}", number)
                    continue
                records += 1
                try:
                    apply_row(row, number)
                except CsvFormatError as error:
                    self._error(feed, error.code, str(error), number)
                except GraphError as error:
                    self._error(feed, "INSERT_ERROR", str(error), number)
        finally:
            feed.totalRecords += records

    def _values(self, header: Header, row: list[str]) -> list[tuple[str, str, list[Any]]]:
        found = []
        for index, column in header.columns:
            values = convert(row[index], column)
            if values:
                found.append((column.name, column.cardinality, values))
        return found

    def _vertex_row(self, feed: FeedStatus, header: Header, row: list[str], number: int) -> None:
        vid = row[header.id_index]
        if not vid:
            raise CsvFormatError("~id is empty")
        label = split_labels(row[header.label_index]) if header.label_index is not None else ""
        values = self._values(header, row)
        if vid in self.seen:
            feed.totalDuplicates += 1
        self.seen.add(vid)
        tx = self.tx
        vertex = self.store.vertices.get(vid)
        if vertex is None:  # the common case: a new vertex, its values already converted and checked
            props: dict[str, list[Any]] = {}
            for key, cardinality, new in values:
                put_values(props, key, new, cardinality)
            tx.add_vertex(vid, label or DEFAULT_VERTEX_LABEL, props)
            return
        for key, cardinality, new in values:
            old = vertex.props.get(key)
            if cardinality == "single" and old and not self.update_single and \
                    not (len(new) == 1 and len(old) == 1 and values_equal(old[0], new[0])):
                raise GraphError(f"Vertex {vid}: property {key!r} has single cardinality and already has "
                                 f"a value (set updateSingleCardinalityProperties to replace it)")
        if label and label != vertex.label:
            labels = vertex.label.split(LABEL_SEPARATOR) if vertex.label != DEFAULT_VERTEX_LABEL else []
            tx.set_vertex_label(vertex, LABEL_SEPARATOR.join(dict.fromkeys(labels + label.split(LABEL_SEPARATOR))))
        for key, cardinality, new in values:
            if cardinality == "single":
                tx.set_vertex_property(vertex, key, new[-1], "single")
            else:
                for value in new:
                    tx.set_vertex_property(vertex, key, value, "set")

    def _edge_applier(self, feed: FeedStatus, header: Header) -> Callable[[list[str], int], None]:
        """The row function of one edge file, with everything it looks up per row bound once (the hot path
        of a load: a new edge between known vertices)."""
        id_index, from_index, to_index = header.id_index, header.from_index, header.to_index
        label_index = header.label_index
        columns = [(index, column.name, column) for index, column in header.columns]
        tx = self.tx
        staged_vertices, live_vertices = tx.vertices, tx.live.vertices  # the staged map's get, inlined
        staged_edges, shadows, live_edges = tx.edges, tx.edge_shadows, tx.live.edges
        seen = self.seen

        def apply_row(row: list[str], number: int) -> None:
            eid = row[id_index]
            out_id = row[from_index]  # type: ignore[index]
            in_id = row[to_index]  # type: ignore[index]
            label = row[label_index]  # type: ignore[index]
            if not eid or not out_id or not in_id or not label:
                raise CsvFormatError("~id, ~from, ~to and ~label must not be empty")
            props: dict[str, Any] = {}
            for index, name, column in columns:
                new = convert(row[index], column)
                if new:
                    props[name] = new[-1]
            out_v = staged_vertices.get(out_id) or live_vertices.get(out_id)
            in_v = staged_vertices.get(in_id) or live_vertices.get(in_id)
            if out_v is None or in_v is None:
                missing = out_id if out_v is None else in_id
                self._error(feed, "FROM_OR_TO_VERTEX_ARE_MISSING", f"Vertex {missing} of edge {eid} does not exist",
                            number)
                return
            if eid in seen:
                feed.totalDuplicates += 1
            else:
                seen.add(eid)
            edge = staged_edges.get(eid) or shadows.get(eid) or live_edges.get(eid)
            if edge is None:  # the id is free and the label is not empty
                tx.add_new_edges([EdgeRecord(eid, label, out_v, in_v, props)])
                return
            if edge.out_v.id != out_v.id or edge.in_v.id != in_v.id or edge.label != label:
                raise GraphError(f"Edge {eid} already exists with other ~from, ~to or ~label")
            for key, value in props.items():
                tx.set_edge_property(edge, key, value)

        return apply_row

    def _vertex_chunk_applier(self, header: Header) -> Callable[[list[list[str]]], bool]:
        """The chunk function of one vertex file, as :meth:`_edge_chunk_applier` is for edges: a chunk of new
        vertices (ids new to the load and the graph), or nothing applied and False."""
        id_index, label_index, width = header.id_index, header.label_index, header.width
        columns = header.columns
        names = [column.name for _index, column in columns]
        tx = self.tx
        live_vertices = tx.live.vertices
        seen = self.seen
        label_of: dict[str, str] = {}  # a ~label cell -> the vertex's label (a file has few distinct cells)

        def cell_values(cells: tuple[str, ...], column: Column) -> list[list[Any] | None] | None:
            """Each cell's values as a new vertex keeps them (``None``: none); ``None`` if one does not convert."""
            if not column.array:
                values = convert_column(cells, column)
                return None if values is None else [None if value is None else [value] for value in values]
            try:  # set cardinality (an array cannot be single): each value once, in order
                return [list(dict.fromkeys(found)) if (found := convert(cell, column)) else None for cell in cells]
            except CsvFormatError:
                return None

        def apply_chunk(rows: list[list[str]]) -> bool:
            cells = chunk_columns(rows, width)
            if cells is None:
                return False
            ids = cells[id_index]
            fresh = set(ids)
            if "" in fresh or len(fresh) != len(ids) or not seen.isdisjoint(fresh) or \
                    not live_vertices.keys().isdisjoint(fresh):
                return False
            value_columns = []
            for index, column in columns:
                values = cell_values(cells[index], column)
                if values is None:
                    return False
                value_columns.append(values)
            if label_index is None:
                labels = [DEFAULT_VERTEX_LABEL] * len(ids)
            else:
                for cell in set(cells[label_index]) - label_of.keys():
                    label_of[cell] = split_labels(cell) or DEFAULT_VERTEX_LABEL
                labels = list(map(label_of.__getitem__, cells[label_index]))
            seen.update(fresh)
            tx.add_new_vertices(list(map(VertexRecord, ids, labels, row_props(names, value_columns, len(ids)))))
            return True

        return apply_chunk

    def _edge_chunk_applier(self, header: Header) -> Callable[[list[list[str]]], bool]:
        """The chunk function of one edge file: a chunk of rows applied column by column (one C-level loop
        per column and per check) when every row is a well-formed new edge between known vertices; for
        any other chunk it applies nothing and returns False, and the row path gives each row its answer."""
        id_index, label_index = header.id_index, header.label_index
        from_index, to_index = header.from_index, header.to_index
        width = header.width
        columns = [(index, column.name, column) for index, column in header.columns]
        tx = self.tx
        staged_vertex, live_vertex = tx.vertices.get, tx.live.vertices.get
        live_edges = tx.live.edges
        seen = self.seen
        names = [name for _index, name, _column in columns]

        def apply_chunk(rows: list[list[str]]) -> bool:
            cells = chunk_columns(rows, width)
            if cells is None:
                return False
            ids, labels = cells[id_index], cells[label_index]  # type: ignore[index]
            outs, ins = cells[from_index], cells[to_index]  # type: ignore[index]
            if "" in ids or "" in labels or "" in outs or "" in ins:
                return False
            fresh = set(ids)  # no id twice, none seen in this load (staged) or in the graph
            if len(fresh) != len(ids) or not seen.isdisjoint(fresh) or not live_edges.keys().isdisjoint(fresh):
                return False
            value_columns = []
            for index, _name, column in columns:
                values = convert_column(cells[index], column)
                if values is None:
                    return False
                value_columns.append(values)
            out_vs, in_vs = list(map(staged_vertex, outs)), list(map(staged_vertex, ins))
            ends_staged = None not in out_vs and None not in in_vs
            if not ends_staged:  # some ends are in the graph already
                out_vs, in_vs = with_live(out_vs, outs), with_live(in_vs, ins)
                if None in out_vs or None in in_vs:
                    return False
            props = row_props(names, value_columns, len(ids))
            # a column at a time when every value is there and JSON-plain (an empty cell is a None: one by one)
            texts = encode_props_columns(names, value_columns) if names else None
            if texts is None:
                texts = list(map(encode_props, props))
            records = list(map(EdgeRecord, ids, labels, out_vs, in_vs, props))
            seen.update(fresh)
            tx.add_new_edges(records, list(zip(ids, labels, outs, ins, texts, strict=True)), ends_staged)
            return True

        def with_live(found: list[VertexRecord | None], vids: tuple[str, ...]) -> list[VertexRecord | None]:
            return [vertex or live_vertex(vid) for vertex, vid in zip(found, vids, strict=True)]

        return apply_chunk


def chunk_columns(rows: list[list[str]], width: int) -> list[tuple[str, ...]] | None:
    """A chunk's rows as columns; ``None`` when a row is not ``width`` cells long (blank, or a parsing error)."""
    if set(map(len, rows)) != {width}:
        return None
    return list(zip(*rows, strict=True))


def row_props(names: list[str], value_columns: list[list[Any]], count: int) -> list[dict[str, Any]]:
    """Each of ``count`` rows' properties from its columns' values (``None``, an empty cell: no property)."""
    if not names:
        return [{} for _ in range(count)]
    rows = zip(*value_columns, strict=True)
    if None in chain.from_iterable(value_columns):
        return [{name: value for name, value in zip(names, row, strict=True) if value is not None} for row in rows]
    return list(map(dict, map(zip, repeat(names), rows)))


def put_values(props: dict[str, list[Any]], key: str, values: list[Any], cardinality: str) -> None:
    """A new vertex's values of one column (``single``: the last; ``set``: each once, in order)."""
    if cardinality == "single":
        props[key] = [values[-1]]
    elif key not in props:  # one cell's values have the column's one type: equal values are the same value
        props[key] = list(dict.fromkeys(values))
    else:
        for value in values:
            put_vertex_value(props, key, value, "set")


def csv_rows(data: bytes) -> Iterator[list[str]]:
    """Rows of an RFC 4180 CSV file (UTF-8, with or without a byte order mark)."""
    text = data.decode("utf-8-sig", errors="replace")
    return csv.reader(io.StringIO(text, newline=""))


def is_edge_file(data: bytes) -> bool:
    first_line = data[:4096].decode("utf-8-sig", errors="replace").splitlines()[:1]
    header = next(csv.reader(first_line), []) if first_line else []
    return any(cell.strip() in ("~from", "~to") for cell in header)


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a load builds its records: they are millions of new objects
    and none is garbage, yet each generation-2 pass walks them all (a third of a load's time). The
    process's other threads keep their reference counting; their cycles are collected right after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def apply_files(tx: StagedLoad, job: LoadJob, files: Iterable[tuple[FeedStatus, bytes]],
                chunk_rows: int = CHUNK_ROWS, step_aside: Callable[[], None] = lambda: None) -> None:
    """Apply files in order (the caller puts vertex files first)."""
    applier = FileApplier(tx, job, chunk_rows, step_aside)
    for feed, data in files:
        feed.status = "LOAD_IN_PROGRESS"
        feed.startTime = int(time.time())
        started = time.monotonic()
        applier.apply(feed, csv_rows(data))
        feed.totalTimeSpent = int(round(time.monotonic() - started))
        feed.status = "LOAD_FAILED" if feed.error_count else "LOAD_COMPLETED"


# -- the service -----------------------------------------------------------------------------

class LoaderService:
    """Load jobs: start, status, list, cancel; runs them one by one on a worker thread.

    Args:
        store: the graph (also keeps the job records).
        s3_client_factory: returns a boto3 S3 client for the embedded S3.
    """

    def __init__(self, store: GraphStore, s3_client_factory: Callable[[], Any],
                 step_aside: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self.step_aside = step_aside
        self.s3_factory = s3_client_factory
        self._s3: Any = None
        self.jobs: dict[str, LoadJob] = {}
        self.lock = threading.Lock()
        self.queue: queue.Queue[LoadJob | None] = queue.Queue()
        self.running: LoadJob | None = None
        # loads put in the queue and not yet running; counted under the lock so a load taken
        # from the queue is never seen as "nothing busy" before it is marked running
        self._waiting = 0
        self._recover()
        self.worker = threading.Thread(target=self._work, name="graph-loader", daemon=True)
        self.worker.start()

    def _recover(self) -> None:
        """Read job records; a load that was running when the server stopped is reported failed."""
        for load_id, record in self.store.execute("SELECT id, record FROM load_jobs ORDER BY created"):
            job = LoadJob.from_record(record)
            if job.status not in FINISHED:
                job.status = "LOAD_FAILED"
                for feed in job.feeds:
                    if feed.status not in FINISHED:
                        feed.status = "LOAD_FAILED"
                job.error_logs.append({"errorCode": "LOAD_UNEXPECTED_ERROR",
                                       "errorMessage": "The server stopped during the load; nothing of this load "
                                                       "was committed", "fileName": job.options.source,
                                       "recordNum": 0})
                self._persist(job)
            self.jobs[load_id] = job

    def _persist(self, job: LoadJob) -> None:
        self.store.execute("INSERT OR REPLACE INTO load_jobs (id, created, record) VALUES (?, ?, ?)",
                           (job.load_id, job.created, job.record()))

    # -- API ---------------------------------------------------------------------------
    def start_loader_job(self, body: dict[str, Any]) -> str:
        options = parse_request(body)
        self._check_source(options.source)
        with self.lock:
            busy = self.running is not None or self._waiting > 0
            if busy and not options.queue_request:
                raise errors.BadRequest(f"Failed to start new load for the source {options.source}. "
                                        "Max concurrent load limit breached. Limit is 1 (set queueRequest "
                                        "to TRUE to queue it)")
            job = LoadJob(str(uuid.uuid4()), options, time.time(),
                          status="LOAD_IN_QUEUE" if busy else "LOAD_NOT_STARTED")
            self.jobs[job.load_id] = job
            self._persist(job)
            self._waiting += 1
            self.queue.put(job)
        return job.load_id

    def s3(self) -> Any:
        """One S3 client for every load (a boto3 client is thread-safe; making one takes ~10 ms of a short load)."""
        if self._s3 is None:
            self._s3 = self.s3_factory()
        return self._s3

    def _check_source(self, source: str) -> None:
        bucket, key = split_s3_uri(source)
        try:
            listing = self.s3().list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
        except Exception as error:  # botocore ClientError, connection errors
            raise errors.LoadUrlAccessDenied(f"Failed to start new load from the source {source}. "
                                             f"Couldn't access the S3 location: {error}") from None
        if not listing.get("Contents"):
            raise errors.LoadUrlAccessDenied(f"Failed to start new load from the source {source}. "
                                             "No files were found at this location")

    def get_loader_job_status(self, load_id: str, details: bool = False, with_errors: bool = False,
                              page: int = 1, errors_per_page: int = 10) -> dict[str, Any]:
        """The payload of Get-Status (https://docs.aws.amazon.com/neptune/latest/userguide/load-api-reference-status-response.html)."""
        job = self._job(load_id)
        with self.lock:
            counts: dict[str, int] = {}
            for feed in job.feeds:
                counts[feed.status] = counts.get(feed.status, 0) + 1
            payload: dict[str, Any] = {
                "feedCount": [{status: count} for status, count in counts.items()],
                "overallStatus": job.overall(),
            }
            if details:
                payload["failedFeeds"] = [asdict(f) for f in job.feeds if f.status not in
                                          ("LOAD_COMPLETED", "LOAD_IN_PROGRESS", "LOAD_NOT_STARTED")]
            if with_errors:
                if page < 1 or errors_per_page < 1:
                    raise errors.InvalidParameter("page and errorsPerPage must be positive")
                start = (page - 1) * errors_per_page
                logs = job.error_logs[start:start + errors_per_page]
                payload["errors"] = {"startIndex": start + 1 if logs else 0, "endIndex": start + len(logs),
                                     "loadId": job.load_id, "errorLogs": logs}
        return payload

    def list_loader_jobs(self, limit: int = 100, include_queued: bool = True) -> list[str]:
        if not 1 <= limit <= 100:
            raise errors.InvalidParameter("limit must be between 1 and 100")
        with self.lock:
            jobs = sorted(self.jobs.values(), key=lambda j: j.created, reverse=True)[:MAX_JOBS_LISTED]
        queued = [j.load_id for j in jobs if j.status == "LOAD_IN_QUEUE"]
        others = [j.load_id for j in jobs if j.status != "LOAD_IN_QUEUE"]
        return ((queued if include_queued else []) + others)[:limit]

    def cancel_loader_job(self, load_id: str) -> None:
        job = self._job(load_id)
        with self.lock:
            if job.status in FINISHED:
                raise errors.BadRequest(f"Failed to cancel load {load_id}: it has already finished ({job.status})")
            job.cancel_requested = True
            if job.status in ("LOAD_IN_QUEUE", "LOAD_NOT_STARTED") and job is not self.running:
                job.status = "LOAD_CANCELLED_BY_USER"
                self._persist(job)

    def _job(self, load_id: str) -> LoadJob:
        job = self.jobs.get(load_id)
        if job is None:
            raise errors.BulkLoadIdNotFound(f"The load with id = {load_id} does not exist or not active")
        return job

    def shutdown(self, timeout: float = 30) -> None:
        """Stop after the running load (a running load is cancelled and rolled back)."""
        with self.lock:
            if self.running is not None:
                self.running.cancel_requested = True
        self.queue.put(None)
        self.worker.join(timeout)

    # -- worker ------------------------------------------------------------------------
    def _work(self) -> None:
        self.s3()  # made before the first load asks: boto3 reads the S3 model the first time (0.1-0.2 s)
        while True:
            job = self.queue.get()
            if job is None:
                return
            with self.lock:
                self._waiting -= 1
                if job.status == "LOAD_CANCELLED_BY_USER":
                    continue
                self.running = job
            try:
                self.run_job(job)
            except Exception:  # keep the worker alive whatever happens
                log.exception("load %s failed unexpectedly", job.load_id)
            finally:
                with self.lock:
                    self.running = None

    def run_job(self, job: LoadJob) -> None:
        """Download, parse and apply one job; its final status is committed with its data."""
        job.status = "LOAD_IN_PROGRESS"
        job.start_time = int(time.time())
        started = time.monotonic()
        self._persist(job)
        try:
            for dependency in job.options.dependencies:
                other = self.jobs.get(dependency)
                if other is None or other.status != "LOAD_COMPLETED":
                    raise LoadStopped("LOAD_FAILED_BECAUSE_DEPENDENCY_NOT_SATISFIED")
            files = self._download(job)
            staged = StagedLoad(self.store)  # built without the graph lock: reads go on meanwhile
            with collector_paused():
                apply_files(staged, job, files, step_aside=self.step_aside)
            if job.cancel_requested:
                raise LoadStopped("LOAD_CANCELLED_BY_USER")
            final = "LOAD_FAILED" if any(f.error_count for f in job.feeds) else "LOAD_COMPLETED"
            job.time_spent = int(round(time.monotonic() - started))
            job.status = final
            record = job.record()  # the final record goes to disk with the data...
            job.status = "LOAD_IN_PROGRESS"  # ...but Get-Status says so only once the data can be read
            try:
                with collector_paused():
                    staged.publish([("INSERT OR REPLACE INTO load_jobs (id, created, record) VALUES (?, ?, ?)",
                                     (job.load_id, job.created, record))])
                    # the loaded records live as long as the graph: out of the collector's sight, so no later
                    # full collection walks millions of them while a read waits (they are still freed by
                    # reference counting once dropped: a dropped element is unlinked from its neighbours)
                    gc.freeze()
                job.status = final
            except LoadConflict as conflict:
                job.error_logs.append({"errorCode": "CONCURRENT_MODIFICATION", "errorMessage": str(conflict),
                                       "fileName": job.options.source, "recordNum": 0})
                raise LoadStopped("LOAD_FAILED") from None
        except LoadStopped as stop:
            self._finish(job, stop.status, started)
        except errors.GraphServiceError as error:
            job.error_logs.append({"errorCode": "LOAD_S3_READ_ERROR", "errorMessage": error.message,
                                   "fileName": job.options.source, "recordNum": 0})
            self._finish(job, "LOAD_S3_READ_ERROR", started)
        except Exception as error:
            job.error_logs.append({"errorCode": "LOAD_UNEXPECTED_ERROR", "errorMessage": f"{error}",
                                   "fileName": job.options.source, "recordNum": 0})
            self._finish(job, "LOAD_UNEXPECTED_ERROR", started)

    def _finish(self, job: LoadJob, status: str, started: float) -> None:
        job.status = status
        for feed in job.feeds:  # the whole load was rolled back: no started feed is complete
            if feed.status != "LOAD_NOT_STARTED":
                feed.status = status
        job.time_spent = int(round(time.monotonic() - started))
        self._persist(job)

    def _download(self, job: LoadJob) -> list[tuple[FeedStatus, bytes]]:
        """All files under the source, vertex files first (each sorted by key)."""
        bucket, prefix = split_s3_uri(job.options.source)
        client = self.s3()
        try:
            keys: list[str] = []
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                keys.extend(item["Key"] for item in page.get("Contents", []) if not item["Key"].endswith("/"))
            def read(key: str) -> bytes:
                return client.get_object(Bucket=bucket, Key=key)["Body"].read()

            keys.sort()
            with ThreadPoolExecutor(max_workers=DOWNLOADS_AT_ONCE, thread_name_prefix="graph-loader-s3") as pool:
                bodies = list(zip(keys, pool.map(read, keys), strict=True))
        except Exception as error:
            raise errors.LoadUrlAccessDenied(f"Could not read {job.options.source}: {error}") from None
        vertex_files = [(k, b) for k, b in bodies if not is_edge_file(b)]
        edge_files = [(k, b) for k, b in bodies if is_edge_file(b)]
        files = []
        for key, body in vertex_files + edge_files:
            feed = FeedStatus(f"s3://{bucket}/{key}")
            job.feeds.append(feed)
            files.append((feed, body))
        return files
