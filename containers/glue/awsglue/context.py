"""``GlueContext``: the run's SparkSession, its S3 sources and sinks, the Data Catalog and bookmarks.

S3 reads list the objects under each path (through boto3 on the run's endpoint), leave out what the
job bookmark says was read, stage the rest on local disk and read them with Spark; S3 writes go
through the same staging (:mod:`mlharbor_glue.spark_s3`). ``from_catalog`` looks the table up with
boto3 ``glue.get_table`` and reads its location in its format, cast to the catalog's column types.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

from mlharbor_glue import bookmarks as bookmark_state
from mlharbor_glue import formats, runenv, spark_s3
from mlharbor_glue.s3stage import is_s3, split_uri

from .dynamicframe import DynamicFrame, DynamicFrameReader, DynamicFrameWriter, spark_type


def _glue_client() -> Any:
    import boto3

    return boto3.client("glue", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)


class GlueContext:
    """Wraps a SparkContext for Glue's reading, writing and catalog calls.

    Args:
        sparkContext: the run's SparkContext (``SparkContext.getOrCreate()`` in a typical script).
    """

    def __init__(self, sparkContext: Any, **options: Any) -> None:  # noqa: N803 (AWS's name)
        from pyspark.sql import SparkSession

        spark_s3.install()
        self._sc = sparkContext
        self.spark_session = SparkSession(sparkContext)
        self.create_dynamic_frame = DynamicFrameReader(self)
        self.write_dynamic_frame = DynamicFrameWriter(self)
        env = runenv.current()
        self.bookmarks = bookmark_state.Bookmarks(bookmark_state.option_from_argv(sys.argv),
                                                  bookmark_state.read_state(env.bookmark_in))
        self._logger = logging.getLogger("awsglue")

    @property
    def sparkContext(self) -> Any:  # noqa: N802
        return self._sc

    def get_logger(self) -> logging.Logger:
        return self._logger

    # -- sources -------------------------------------------------------------------------------
    def _read_paths(self, paths: list[str], fmt: str, format_options: Mapping[str, Any] | None,
                    ctx: str, recurse: bool) -> Any:
        stage = spark_s3.stage()
        reader = self.spark_session.read.options(**formats.read_options(fmt, format_options))
        if recurse:
            reader = reader.option("recursiveFileLookup", "true")
        local: list[str] = []
        bases: list[str] = []
        for path in paths:
            if not is_s3(path):
                local.append(path)
                continue
            bucket, key = split_uri(path)
            objects = self.bookmarks.unread(ctx, stage.list_objects(path))
            if not objects:
                continue
            root = stage.download(objects)
            self.bookmarks.record(ctx, objects)
            # a folder keeps its partition folders; basePath makes Spark read key=value under it
            base = root / bucket / key.rstrip("/")
            if base.is_dir():
                bases.append(base.as_uri())
            local.append(base.as_uri())
        if len(local) == 1 and bases:
            reader = reader.option("basePath", bases[0])
        if not local:
            from pyspark.sql.types import StructType

            return self.spark_session.createDataFrame([], StructType([]))
        df = reader.format(formats.check_format(fmt)).load(local)
        if fmt == "csv" and formats.read_options(fmt, format_options)["header"] != "true":
            df = df.toDF(*formats.glue_csv_columns(df.columns))
        return df

    def create_dynamic_frame_from_options(self, connection_type: str,
                                          connection_options: Mapping[str, Any] | None = None,
                                          format: str | None = None,  # noqa: A002
                                          format_options: Mapping[str, Any] | None = None,
                                          transformation_ctx: str = "", **_: Any) -> DynamicFrame:
        """A frame of the files under ``connection_options["paths"]`` (``connection_type="s3"``).

        Raises:
            ValueError: another connection type, no paths, or an unknown format.
        """
        if connection_type != "s3":
            raise ValueError(f"connection_type {connection_type!r} is not served here (only 's3')")
        options = dict(connection_options or {})
        paths = options.get("paths") or ([options["path"]] if options.get("path") else [])
        if isinstance(paths, str):
            paths = [paths]
        if not paths:
            raise ValueError("connection_options needs 'paths' (a list of S3 paths)")
        recurse = str(options.get("recurse", False)).lower() == "true"
        df = self._read_paths(list(paths), format or "", format_options, transformation_ctx, recurse)
        return DynamicFrame(df, self, transformation_ctx)

    def _table(self, database: str | None, table_name: str | None, catalog_id: str | None = None) -> dict:
        if not database or not table_name:
            raise ValueError("from_catalog needs database and table_name")
        request = {"DatabaseName": database, "Name": table_name}
        if catalog_id:
            request["CatalogId"] = catalog_id
        return _glue_client().get_table(**request)["Table"]

    def catalog_columns(self, database: str | None, table_name: str | None) -> dict[str, str]:
        """name -> Glue type of a catalog table's columns and partition keys."""
        table = self._table(database, table_name)
        columns = table.get("StorageDescriptor", {}).get("Columns", []) + table.get("PartitionKeys", [])
        return {c["Name"]: c.get("Type", "string") for c in columns}

    def create_dynamic_frame_from_catalog(self, database: str | None = None, table_name: str | None = None,
                                          redshift_tmp_dir: str = "", transformation_ctx: str = "",
                                          push_down_predicate: str = "",
                                          additional_options: Mapping[str, Any] | None = None,
                                          catalog_id: str | None = None, **_: Any) -> DynamicFrame:
        """A frame of a catalog table: its location read in its format, cast to its column types."""
        table = self._table(database, table_name, catalog_id)
        location = table.get("StorageDescriptor", {}).get("Location", "")
        if not location:
            raise ValueError(f"table {database}.{table_name} has no StorageDescriptor.Location")
        fmt, format_options = formats.catalog_format(table)
        df = self._read_paths([location], fmt, format_options, transformation_ctx, recurse=False)
        columns = table.get("StorageDescriptor", {}).get("Columns", []) + table.get("PartitionKeys", [])
        for column in columns:
            name = column["Name"]
            if name in df.columns and column.get("Type"):
                df = df.withColumn(name, df[f"`{name}`"].cast(spark_type(column["Type"])))
        if push_down_predicate and df.columns:
            df = df.filter(push_down_predicate)
        return DynamicFrame(df, self, transformation_ctx)

    # -- sinks ---------------------------------------------------------------------------------
    def write_dynamic_frame_from_options(self, frame: DynamicFrame, connection_type: str,
                                         connection_options: Mapping[str, Any] | None = None,
                                         format: str | None = None,  # noqa: A002
                                         format_options: Mapping[str, Any] | None = None,
                                         transformation_ctx: str = "", **_: Any) -> DynamicFrame:
        """Writes ``frame`` under ``connection_options["path"]``, beside what is there (Glue appends).

        Raises:
            ValueError: another connection type, no path, or an unknown format.
        """
        if connection_type != "s3":
            raise ValueError(f"connection_type {connection_type!r} is not served here (only 's3')")
        options = dict(connection_options or {})
        path = options.get("path")
        if not path:
            raise ValueError("connection_options needs 'path'")
        fmt = formats.check_format(format or "")
        writer = frame.toDF().write.mode("append").options(**formats.write_options(fmt, format_options))
        partition_keys = options.get("partitionKeys") or []
        if partition_keys:
            writer = writer.partitionBy(*partition_keys)
        writer.format(fmt).save(path)
        return frame

    def write_dynamic_frame_from_catalog(self, frame: DynamicFrame, database: str | None = None,
                                         table_name: str | None = None, redshift_tmp_dir: str = "",
                                         transformation_ctx: str = "",
                                         additional_options: Mapping[str, Any] | None = None,
                                         catalog_id: str | None = None, **_: Any) -> DynamicFrame:
        """Writes ``frame`` to a catalog table's location in its format (partitioned by its keys)."""
        table = self._table(database, table_name, catalog_id)
        fmt, format_options = formats.catalog_format(table)
        keys = [k["Name"] for k in table.get("PartitionKeys", [])]
        return self.write_dynamic_frame_from_options(
            frame, "s3", {"path": table["StorageDescriptor"]["Location"], "partitionKeys": keys}, fmt,
            {"writeHeader": format_options.get("withHeader", False), **format_options})

    def getSink(self, connection_type: str, path: str = "", format: str = "", **options: Any) -> GlueSink:  # noqa: N802,A002
        """A sink writing frames to ``path`` (``setFormat``/``writeFrame``; catalog updates are not made)."""
        return GlueSink(self, connection_type, path or options.get("path", ""), format,
                        options.get("partitionKeys") or [])


class GlueSink:
    """What ``getSink`` returns: a configured S3 writer."""

    def __init__(self, context: GlueContext, connection_type: str, path: str, fmt: str,
                 partition_keys: list[str]) -> None:
        self._context = context
        self._connection_type = connection_type
        self._path = path
        self._format = fmt
        self._format_options: dict[str, Any] = {}
        self._partition_keys = partition_keys

    def setFormat(self, format: str, **format_options: Any) -> None:  # noqa: N802,A002
        self._format = format
        self._format_options = format_options

    def setCatalogInfo(self, catalogDatabase: str = "", catalogTableName: str = "", **_: Any) -> None:  # noqa: N802,N803
        """Accepted for compatibility; the catalog is updated by crawlers here."""

    def writeFrame(self, dynamic_frame: DynamicFrame) -> DynamicFrame:  # noqa: N802
        return self._context.write_dynamic_frame_from_options(
            dynamic_frame, self._connection_type, {"path": self._path, "partitionKeys": self._partition_keys},
            self._format, self._format_options)
