"""Glue crawlers: records, the crawl (scan S3, infer, write the catalog) and its state machine.

A crawl runs on its own thread: ``READY`` → ``RUNNING`` → (``STOPPING`` when stopped) → ``READY``,
with ``LastCrawl`` saying ``SUCCEEDED``, ``FAILED`` (and why) or ``CANCELLED``. For each S3 target the
crawl lists the objects under the path (leaving out ``Exclusions`` and ``_``/``.`` files), makes one
table of the path, or one per top-level sub-folder when the files lie in plain folders below it, infers
the schema (:mod:`~emulator.services.glue.schema_inference`) and creates or updates the table and its
partitions in the Data Catalog, which stays moto's: the crawl calls it through boto3 on the edge.
Records live in memory (a restart forgets crawlers, not the tables they wrote).
"""

from __future__ import annotations

import copy
import fnmatch
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.core.errors import ServiceError
from emulator.core.paging import cut
from emulator.services.glue import schema_inference as infer
from emulator.services.glue.exceptions import AlreadyExistsError, EntityNotFoundError, InvalidInputError

READY, RUNNING, STOPPING = "READY", "RUNNING", "STOPPING"
SUCCEEDED, FAILED, CANCELLED = "SUCCEEDED", "FAILED", "CANCELLED"
LOG_GROUP = "/aws-glue/crawlers"
#: How much of a CSV or JSON object a crawl reads to infer its columns (Parquet: the whole object).
HEAD_BYTES = 1 << 20
#: How many files of one table a crawl reads for its schema (every key still counts for partitions).
SAMPLE_FILES = 50

_TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
_TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
_SERDES = {
    infer.CSV: (_TEXT_INPUT, _TEXT_OUTPUT, "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"),
    infer.JSON: (_TEXT_INPUT, _TEXT_OUTPUT, "org.openx.data.jsonserde.JsonSerDe"),
    infer.PARQUET: ("org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                    "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"),
}


class CrawlerRunningError(ServiceError):
    """``CrawlerRunningException``: the crawler is already crawling."""

    code = "CrawlerRunningException"
    status = 400


class CrawlerNotRunningError(ServiceError):
    """``CrawlerNotRunningException``: StopCrawler on a crawler that is not crawling."""

    code = "CrawlerNotRunningException"
    status = 400


class CrawlerStoppingError(ServiceError):
    """``CrawlerStoppingException``: the crawler is stopping."""

    code = "CrawlerStoppingException"
    status = 400


class CrawlCancelled(Exception):
    """StopCrawler was called; the crawl ends where it is."""


@dataclass
class Crawl:
    """One crawl in progress: its start, and the flag StopCrawler sets."""

    started: float
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class S3Target:
    bucket: str
    prefix: str
    exclusions: tuple[str, ...]

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def s3_targets(targets: dict[str, Any]) -> list[S3Target]:
    """The crawler's ``Targets.S3Targets`` as buckets and prefixes.

    Raises:
        InvalidInputError: no S3 target, or a path that is not ``s3://bucket/...``.
    """
    found = []
    for target in targets.get("S3Targets") or []:
        path = target.get("Path", "")
        scheme, _, rest = path.partition("://")
        bucket, _, prefix = rest.partition("/")
        if scheme.lower() not in ("s3", "s3a") or not bucket:
            raise InvalidInputError(f"S3Targets Path must be s3://bucket/prefix, not {path!r}.")
        found.append(S3Target(bucket, prefix, tuple(target.get("Exclusions") or [])))
    if not found:
        raise InvalidInputError("A crawler needs at least one S3Targets entry (other target types are not crawled).")
    return found


@dataclass
class TableFound:
    """A table a crawl makes of one folder."""

    name: str
    location: str
    schema: infer.TableSchema


def group_keys(prefix: str, keys: list[str]) -> dict[str, list[str]]:
    """Folder (below the target) -> its keys: ``""`` when all files are the target's own or partitioned."""
    base = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    relative = [key[len(base):] if key.startswith(base) else key.rsplit("/", 1)[-1] for key in keys]
    nested = [r.split("/", 1)[0] for r in relative if "/" in r]
    if not nested or any("/" not in r for r in relative) or any("=" in folder for folder in nested):
        return {"": keys}
    groups: dict[str, list[str]] = {}
    for key, rel in zip(keys, relative, strict=True):
        groups.setdefault(rel.split("/", 1)[0], []).append(key)
    return groups


def table_input(found: TableFound, classification_extra: dict[str, str] | None = None) -> dict[str, Any]:
    """The catalog ``TableInput`` for a found table."""
    schema = found.schema
    input_format, output_format, serde = _SERDES[schema.format]
    parameters = {"classification": schema.format, "compressionType": "none", "typeOfData": "file",
                  **(classification_extra or {})}
    serde_parameters: dict[str, str] = {}
    if schema.format == infer.CSV:
        parameters["delimiter"] = schema.delimiter
        serde_parameters["field.delim"] = schema.delimiter
        if schema.header:
            parameters["skip.header.line.count"] = "1"
    return {
        "Name": found.name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": parameters,
        "PartitionKeys": [{"Name": k, "Type": "string"} for k in schema.partition_keys],
        "StorageDescriptor": {
            "Columns": [{"Name": c.name, "Type": c.type} for c in schema.columns],
            "Location": found.location,
            "InputFormat": input_format,
            "OutputFormat": output_format,
            "SerdeInfo": {"SerializationLibrary": serde, "Parameters": serde_parameters},
            "Parameters": dict(parameters),
        },
    }


class CrawlerBackend:
    """The crawlers of one server.

    Args:
        s3: ``region -> boto3 S3 client`` on the edge.
        catalog: ``region -> boto3 Glue client`` on the edge (moto's Data Catalog answers it).
    """

    def __init__(self, s3: Callable[[str], Any], catalog: Callable[[str], Any]) -> None:
        self._s3 = s3
        self._catalog = catalog
        self._lock = threading.Lock()
        self._crawlers: dict[tuple[str, str], dict[str, Any]] = {}
        self._crawls: dict[tuple[str, str], Crawl] = {}

    # -- records -------------------------------------------------------------------------------
    def create(self, region: str, params: dict[str, Any]) -> None:
        s3_targets(params.get("Targets") or {})
        if not params.get("DatabaseName"):
            raise InvalidInputError("DatabaseName is required: the crawler writes its tables there.")
        now = time.time()
        record = {k: copy.deepcopy(v) for k, v in params.items() if k != "Tags"}
        record.update(State=READY, CreationTime=now, LastUpdated=now, Version=1, CrawlElapsedTime=0)
        record.setdefault("SchemaChangePolicy", {"UpdateBehavior": "UPDATE_IN_DATABASE",
                                                 "DeleteBehavior": "DEPRECATE_IN_DATABASE"})
        record.setdefault("Classifiers", [])
        with self._lock:
            if (region, params["Name"]) in self._crawlers:
                raise AlreadyExistsError(f"{params['Name']} already exists.")
            self._crawlers[(region, params["Name"])] = record

    def _record(self, region: str, name: str) -> dict[str, Any]:
        record = self._crawlers.get((region, name))
        if record is None:
            raise EntityNotFoundError(f"Crawler with name {name} has not been found.")
        return record

    def get(self, region: str, name: str) -> dict[str, Any]:
        with self._lock:
            record = copy.deepcopy(self._record(region, name))
            crawl = self._crawls.get((region, name))
        if crawl is not None:
            record["CrawlElapsedTime"] = int((time.time() - crawl.started) * 1000)
        return record

    def names(self, region: str) -> list[str]:
        with self._lock:
            return sorted(name for r, name in self._crawlers if r == region)

    def page(self, region: str, max_results: int, next_token: str | None) -> tuple[list[str], str | None]:
        return cut(self.names(region), max_results, next_token, f"crawlers:{region}")

    def delete(self, region: str, name: str) -> None:
        with self._lock:
            record = self._record(region, name)
            if record["State"] != READY:
                raise CrawlerRunningError(f"Crawler {name} is {record['State']}; stop it first.")
            del self._crawlers[(region, name)]

    # -- crawls --------------------------------------------------------------------------------
    def start(self, region: str, name: str) -> None:
        with self._lock:
            record = self._record(region, name)
            if record["State"] == STOPPING:
                raise CrawlerStoppingError(f"Crawler {name} is stopping.")
            if record["State"] == RUNNING:
                raise CrawlerRunningError(f"Crawler with name {name} has already started")
            record["State"] = RUNNING
            crawl = Crawl(time.time())
            self._crawls[(region, name)] = crawl
            snapshot = copy.deepcopy(record)
        threading.Thread(target=self._run, args=(region, name, snapshot, crawl), name=f"crawl-{name}",
                         daemon=True).start()

    def stop(self, region: str, name: str) -> None:
        with self._lock:
            record = self._record(region, name)
            if record["State"] == STOPPING:
                raise CrawlerStoppingError(f"Crawler {name} is stopping.")
            if record["State"] != RUNNING:
                raise CrawlerNotRunningError(f"Crawler with name {name} is not running")
            record["State"] = STOPPING
            self._crawls[(region, name)].cancel.set()

    def _run(self, region: str, name: str, record: dict[str, Any], crawl: Crawl) -> None:
        status, message = SUCCEEDED, ""
        try:
            self.crawl(region, record, crawl.cancel)
        except CrawlCancelled:
            status = CANCELLED
        except Exception as error:  # noqa: BLE001 (any failure of a crawl is its LastCrawl, never the server's)
            status, message = FAILED, _message(error)
        last = {"Status": status, "LogGroup": LOG_GROUP, "LogStream": name, "MessagePrefix": str(uuid.uuid4()),
                "StartTime": crawl.started}
        if message:
            last["ErrorMessage"] = message
        with self._lock:
            stored = self._crawlers.get((region, name))
            self._crawls.pop((region, name), None)
            if stored is not None:
                stored.update(State=READY, LastCrawl=last, CrawlElapsedTime=0)

    def crawl(self, region: str, record: dict[str, Any], cancel: threading.Event) -> list[TableFound]:
        """Scans every S3 target and writes what it found; returns the tables written."""
        s3 = self._s3(region)
        found: list[TableFound] = []
        for target in s3_targets(record.get("Targets") or {}):
            keys = self._data_keys(s3, target)
            for folder, folder_keys in sorted(group_keys(target.prefix, keys).items()):
                if cancel.is_set():
                    raise CrawlCancelled
                found.extend(self._table(s3, record, target, folder, folder_keys, cancel))
        for table in found:
            if cancel.is_set():
                raise CrawlCancelled
            self._write(self._catalog(region), record, table)
        return found

    def _data_keys(self, s3: Any, target: S3Target) -> list[str]:
        keys = []
        folder = target.prefix if not target.prefix or target.prefix.endswith("/") else target.prefix + "/"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=target.bucket, Prefix=target.prefix):
            for item in page.get("Contents", []):
                key = item["Key"]
                if not (key == target.prefix or key.startswith(folder)) or not infer.is_data_key(key):
                    continue
                relative = key[len(folder):]
                if any(fnmatch.fnmatch(relative, pattern) for pattern in target.exclusions):
                    continue
                keys.append(key)
        return keys

    def _table(self, s3: Any, record: dict[str, Any], target: S3Target, folder: str, keys: list[str],
               cancel: threading.Event) -> list[TableFound]:
        if not keys:
            return []
        base = target.prefix if not target.prefix or target.prefix.endswith("/") else target.prefix + "/"
        root = f"{base}{folder}/" if folder else base
        schemas = []
        by_partition: dict[tuple[tuple[str, str], ...], list[str]] = {}
        for key in keys:
            by_partition.setdefault(tuple(infer.partitions_of(key[len(root):])), []).append(key)
        # read a few files of every partition, so partition values all appear and the sample stays small
        sample = [k for ks in by_partition.values() for k in ks[: max(1, SAMPLE_FILES // len(by_partition))]]
        for key in sample:
            if cancel.is_set():
                raise CrawlCancelled
            schema = infer.infer_file(key, self._read(s3, target.bucket, key))
            schema.partitions = infer.partitions_of(key[len(root):])
            schemas.append(schema)
        merged = infer.merge_files(schemas)
        if merged.partition_keys:
            merged.partition_values = sorted([v for _, v in p] for p in by_partition
                                             if [k for k, _ in p] == merged.partition_keys)
        name = infer.table_name(folder or target.prefix or target.bucket, record.get("TablePrefix", ""))
        return [TableFound(name, f"s3://{target.bucket}/{root}", merged)]

    @staticmethod
    def _read(s3: Any, bucket: str, key: str) -> bytes:
        if infer.format_of(key, b"") == infer.PARQUET:
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        body = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{HEAD_BYTES - 1}")["Body"].read()
        if body[:4] == b"PAR1":  # a Parquet file without the suffix: its footer is at the end
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        if len(body) == HEAD_BYTES:  # cut mid-row: the last line may be partial
            body = body[: body.rfind(b"\n") + 1] or body
        return body

    def _write(self, glue: Any, record: dict[str, Any], table: TableFound) -> None:
        database = record["DatabaseName"]
        try:
            glue.get_database(Name=database)
        except glue.exceptions.EntityNotFoundException:
            glue.create_database(DatabaseInput={"Name": database})
        wanted = table_input(table)
        try:
            glue.get_table(DatabaseName=database, Name=table.name)
            exists = True
        except glue.exceptions.EntityNotFoundException:
            exists = False
        if not exists:
            glue.create_table(DatabaseName=database, TableInput=wanted)
        elif record.get("SchemaChangePolicy", {}).get("UpdateBehavior", "UPDATE_IN_DATABASE") == "UPDATE_IN_DATABASE":
            glue.update_table(DatabaseName=database, TableInput=wanted)
        self._write_partitions(glue, database, table, wanted["StorageDescriptor"])

    @staticmethod
    def _write_partitions(glue: Any, database: str, table: TableFound, descriptor: dict[str, Any]) -> None:
        schema = table.schema
        if not schema.partition_keys:
            return
        existing = set()
        for page in glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=table.name):
            existing.update(tuple(p["Values"]) for p in page.get("Partitions", []))
        new = [values for values in schema.partition_values if tuple(values) not in existing]
        inputs = []
        for values in new:
            folder = "/".join(f"{k}={v}" for k, v in zip(schema.partition_keys, values, strict=True))
            inputs.append({"Values": values, "StorageDescriptor": {**descriptor,
                                                                  "Location": f"{table.location}{folder}/"}})
        for start in range(0, len(inputs), 100):
            glue.batch_create_partition(DatabaseName=database, TableName=table.name,
                                        PartitionInputList=inputs[start:start + 100])


def _message(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return (f"{type(error).__name__}: {text}" if text else type(error).__name__)[:2048]
