"""``DynamicFrame`` and its reader/writer, on a Spark DataFrame.

Every method returns a new frame; the wrapped DataFrame is what Spark runs, so a chain of Glue
transforms is one Spark plan. Records passed to ``filter``/``map`` are plain ``dict``s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

#: Glue type names in mappings and casts -> Spark SQL type names.
_TYPE_NAMES = {"long": "bigint", "integer": "int", "short": "smallint", "byte": "tinyint", "bool": "boolean"}


def spark_type(name: str) -> str:
    """The Spark SQL type for a Glue type name (``long`` -> ``bigint``; Spark's own names pass)."""
    return _TYPE_NAMES.get(name.lower(), name.lower())


def _column(path: str) -> Any:
    from pyspark.sql import functions as F  # noqa: N812

    return F.col(path)


class DynamicFrame:
    """A distributed table of records with a schema, the unit every Glue transform works on.

    Args:
        df: the Spark DataFrame holding the records.
        glue_ctx: the run's GlueContext.
        name: a name for the frame (shown nowhere but kept, as Glue keeps it).
    """

    def __init__(self, df: Any, glue_ctx: Any, name: str = "") -> None:
        self._df = df
        self.glue_ctx = glue_ctx
        self.name = name

    def __repr__(self) -> str:
        return f"DynamicFrame(name={self.name!r}, columns={self._df.columns})"

    # -- conversions ---------------------------------------------------------------------------
    def toDF(self) -> Any:  # noqa: N802 (AWS's name)
        """The Spark DataFrame of these records."""
        return self._df

    @classmethod
    def fromDF(cls, dataframe: Any, glue_ctx: Any, name: str = "") -> DynamicFrame:  # noqa: N802
        """A frame over a Spark DataFrame."""
        return cls(dataframe, glue_ctx, name)

    def _with(self, df: Any, name: str = "") -> DynamicFrame:
        return DynamicFrame(df, self.glue_ctx, name or self.name)

    # -- looking at it -------------------------------------------------------------------------
    def count(self) -> int:
        return self._df.count()

    def schema(self) -> Any:
        """The frame's schema (a Spark ``StructType``; Glue returns its own schema type)."""
        return self._df.schema

    def printSchema(self) -> None:  # noqa: N802
        self._df.printSchema()

    def show(self, num_rows: int = 20) -> None:
        self._df.show(num_rows, truncate=False)

    def getNumPartitions(self) -> int:  # noqa: N802
        return self._df.rdd.getNumPartitions()

    def repartition(self, num_partitions: int, **_: Any) -> DynamicFrame:
        return self._with(self._df.repartition(num_partitions))

    def coalesce(self, num_partitions: int, **_: Any) -> DynamicFrame:
        return self._with(self._df.coalesce(num_partitions))

    # -- field transforms ----------------------------------------------------------------------
    def select_fields(self, paths: Sequence[str], transformation_ctx: str = "", **_: Any) -> DynamicFrame:
        """Only the fields named in ``paths`` (top-level or dotted nested paths)."""
        return self._with(self._df.select([_column(p) for p in paths]))

    def drop_fields(self, paths: Sequence[str], transformation_ctx: str = "", **_: Any) -> DynamicFrame:
        """Every field but those in ``paths`` (top-level names)."""
        return self._with(self._df.drop(*[p.strip("`") for p in paths]))

    def rename_field(self, oldName: str, newName: str, transformation_ctx: str = "",  # noqa: N803
                     **_: Any) -> DynamicFrame:
        return self._with(self._df.withColumnRenamed(oldName.strip("`"), newName.strip("`")))

    def apply_mapping(self, mappings: Sequence[Sequence[str]], case_sensitive: bool = False,
                      transformation_ctx: str = "", **_: Any) -> DynamicFrame:
        """Only the mapped fields, each ``(source, source_type, target, target_type)`` renamed and cast.

        Raises:
            ValueError: a mapping is not a 4-tuple.
        """
        columns = []
        for mapping in mappings:
            if len(mapping) != 4:
                raise ValueError(f"a mapping is (source, source type, target, target type), not {mapping!r}")
            source, _, target, target_type = mapping
            columns.append(_column(source).cast(spark_type(target_type)).alias(target.strip("`")))
        return self._with(self._df.select(columns))

    def resolveChoice(self, specs: Sequence[tuple[str, str]] | None = None, choice: str = "",  # noqa: N802
                      database: str | None = None, table_name: str | None = None,
                      transformation_ctx: str = "", **_: Any) -> DynamicFrame:
        """Settles field types: ``cast:T`` and ``project:T`` cast; ``make_cols``/``make_struct`` keep the field.

        A Spark column has one type, so there is no choice to split; ``match_catalog`` casts each field to
        the type the catalog table gives it.

        Raises:
            ValueError: both or an unknown action given.
        """
        if specs and choice:
            raise ValueError("give either specs or choice, not both")
        df = self._df
        if choice == "match_catalog":
            columns = self.glue_ctx.catalog_columns(database, table_name)
            for name, glue_type in columns.items():
                if name in df.columns:
                    df = df.withColumn(name, df[name].cast(spark_type(glue_type)))
            return self._with(df)
        actions = list(specs or [])
        if choice:
            actions = [(name, choice) for name in df.columns]
        for path, action in actions:
            kind, _, type_name = action.partition(":")
            if kind in ("cast", "project"):
                df = df.withColumn(path.strip("`"), _column(path).cast(spark_type(type_name)))
            elif kind not in ("make_cols", "make_struct"):
                raise ValueError(f"unknown resolveChoice action {action!r}")
        return self._with(df)

    def drop_null_fields(self, transformation_ctx: str = "", **_: Any) -> DynamicFrame:
        """Every field but those null in every record."""
        from pyspark.sql import functions as F  # noqa: N812

        if not self._df.columns:
            return self
        counts = self._df.select([F.count(F.col(f"`{c}`")).alias(c) for c in self._df.columns]).first()
        empty = [c for c in self._df.columns if counts[c] == 0]
        return self._with(self._df.drop(*empty))

    # -- record transforms ---------------------------------------------------------------------
    def filter(self, f: Callable[[dict[str, Any]], bool], transformation_ctx: str = "",
               **_: Any) -> DynamicFrame:
        """The records for which ``f(record)`` is true (``record`` is a dict of the fields)."""
        schema = self._df.schema
        rdd = self._df.rdd.filter(lambda row: bool(f(row.asDict(recursive=True))))
        return self._with(self._df.sparkSession.createDataFrame(rdd, schema))

    def map(self, f: Callable[[dict[str, Any]], Mapping[str, Any]], transformation_ctx: str = "",
            **_: Any) -> DynamicFrame:
        """``f(record)`` for every record; the new schema is inferred from the returned dicts."""
        import json

        from pyspark.errors import PySparkValueError
        from pyspark.sql import Row

        session = self._df.sparkSession
        records = self._df.rdd.map(lambda row: dict(f(row.asDict(recursive=True))))
        try:
            return self._with(session.createDataFrame(records.map(lambda record: Row(**record))))
        except PySparkValueError:
            # a field None in every sampled record has no Python type; Spark's JSON inference calls it string
            return self._with(session.read.json(records.map(lambda record: json.dumps(record, default=str))))

    def join(self, paths1: Sequence[str], paths2: Sequence[str], frame2: DynamicFrame,
             transformation_ctx: str = "", **_: Any) -> DynamicFrame:
        """Inner equality join of this frame's ``paths1`` with ``frame2``'s ``paths2``.

        Raises:
            ValueError: the key lists differ in length.
        """
        if len(paths1) != len(paths2):
            raise ValueError("paths1 and paths2 must name as many keys")
        left, right = self._df, frame2.toDF()
        condition = [left[a] == right[b] for a, b in zip(paths1, paths2, strict=True)]
        return self._with(left.join(right, condition, "inner"))

    def split_fields(self, paths: Sequence[str], name1: str, name2: str, **_: Any) -> DynamicFrameCollection:
        """Two frames: ``name1`` with the fields in ``paths``, ``name2`` with the rest."""
        rest = [c for c in self._df.columns if c not in paths]
        return DynamicFrameCollection({name1: self.select_fields(paths), name2: self.select_fields(rest)},
                                      self.glue_ctx)


class DynamicFrameCollection:
    """Frames by name (what ``split_fields`` and multi-output transforms return)."""

    def __init__(self, dynamic_frames: Mapping[str, DynamicFrame], glue_ctx: Any) -> None:
        self._frames = dict(dynamic_frames)
        self.glue_ctx = glue_ctx

    def __iter__(self) -> Iterator[str]:
        return iter(self._frames)

    def __len__(self) -> int:
        return len(self._frames)

    def keys(self) -> list[str]:
        return list(self._frames)

    def values(self) -> list[DynamicFrame]:
        return list(self._frames.values())

    def select(self, key: str, transformation_ctx: str = "") -> DynamicFrame:
        return self._frames[key]


class DynamicFrameReader:
    """``glueContext.create_dynamic_frame``: ``from_options`` and ``from_catalog``."""

    def __init__(self, glue_context: Any) -> None:
        self._context = glue_context

    def from_options(self, connection_type: str, connection_options: Mapping[str, Any] | None = None,
                     format: str | None = None, format_options: Mapping[str, Any] | None = None,  # noqa: A002
                     transformation_ctx: str = "", **kwargs: Any) -> DynamicFrame:
        return self._context.create_dynamic_frame_from_options(
            connection_type, connection_options, format, format_options, transformation_ctx, **kwargs)

    def from_catalog(self, database: str | None = None, table_name: str | None = None,
                     redshift_tmp_dir: str = "", transformation_ctx: str = "", push_down_predicate: str = "",
                     additional_options: Mapping[str, Any] | None = None, catalog_id: str | None = None,
                     **kwargs: Any) -> DynamicFrame:
        return self._context.create_dynamic_frame_from_catalog(
            database, table_name, redshift_tmp_dir, transformation_ctx, push_down_predicate,
            additional_options, catalog_id, **kwargs)


class DynamicFrameWriter:
    """``glueContext.write_dynamic_frame``: ``from_options`` and ``from_catalog``."""

    def __init__(self, glue_context: Any) -> None:
        self._context = glue_context

    def from_options(self, frame: DynamicFrame, connection_type: str,
                     connection_options: Mapping[str, Any] | None = None, format: str | None = None,  # noqa: A002
                     format_options: Mapping[str, Any] | None = None, transformation_ctx: str = "",
                     **kwargs: Any) -> DynamicFrame:
        return self._context.write_dynamic_frame_from_options(
            frame, connection_type, connection_options, format, format_options, transformation_ctx, **kwargs)

    def from_catalog(self, frame: DynamicFrame, database: str | None = None, table_name: str | None = None,
                     redshift_tmp_dir: str = "", transformation_ctx: str = "",
                     additional_options: Mapping[str, Any] | None = None, catalog_id: str | None = None,
                     **kwargs: Any) -> DynamicFrame:
        return self._context.write_dynamic_frame_from_catalog(
            frame, database, table_name, redshift_tmp_dir, transformation_ctx, additional_options, catalog_id)
