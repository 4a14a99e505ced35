"""Glue's S3 ``format``/``format_options`` in terms of Spark's DataFrameReader and DataFrameWriter options.

Pure: maps names, touches no data. Glue's CSV reader names columns ``col0, col1...`` unless
``withHeader`` is true; we let Spark infer column types (Glue infers too, as choice types).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The formats a job reads and writes on S3.
FORMATS = ("csv", "json", "parquet", "orc")


class FormatError(ValueError):
    """A format or format option we do not serve."""


def check_format(fmt: str) -> str:
    value = (fmt or "").lower()
    if value not in FORMATS:
        raise FormatError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return value


def _flag(options: Mapping[str, Any], name: str, default: bool) -> bool:
    value = options.get(name, default)
    return value if isinstance(value, bool) else str(value).lower() == "true"


def read_options(fmt: str, format_options: Mapping[str, Any] | None) -> dict[str, str]:
    """Spark reader options for a Glue source of format ``fmt``."""
    options = dict(format_options or {})
    fmt = check_format(fmt)
    if fmt == "csv":
        spark = {"header": str(_flag(options, "withHeader", False)).lower(), "inferSchema": "true",
                 "sep": str(options.get("separator", ",")), "quote": str(options.get("quoteChar", '"'))}
        if "escaper" in options:
            spark["escape"] = str(options["escaper"])
        if _flag(options, "multiLine", False):
            spark["multiLine"] = "true"
        return spark
    if fmt == "json":
        return {"multiLine": "true"} if _flag(options, "multiline", False) else {}
    return {}


def write_options(fmt: str, format_options: Mapping[str, Any] | None) -> dict[str, str]:
    """Spark writer options for a Glue sink of format ``fmt`` (CSV gets a header unless told not to)."""
    options = dict(format_options or {})
    fmt = check_format(fmt)
    if fmt == "csv":
        return {"header": str(_flag(options, "writeHeader", True)).lower(),
                "sep": str(options.get("separator", ",")), "quote": str(options.get("quoteChar", '"'))}
    if fmt in ("parquet", "orc") and "compression" in options:
        return {"compression": str(options["compression"])}
    return {}


def glue_csv_columns(names: list[str]) -> list[str]:
    """Glue's names for header-less CSV columns (Spark calls them ``_c0``...)."""
    return [f"col{index}" if name == f"_c{index}" else name for index, name in enumerate(names)]


def catalog_format(table: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The format and Glue format options of a catalog table (``GetTable``'s ``Table``).

    Reads ``Parameters.classification`` (what a crawler sets), else the InputFormat/SerDe names.
    """
    parameters = {**table.get("Parameters", {}), **table.get("StorageDescriptor", {}).get("Parameters", {})}
    descriptor = table.get("StorageDescriptor", {})
    serde = descriptor.get("SerdeInfo", {})
    hint = " ".join([parameters.get("classification", ""), descriptor.get("InputFormat", ""),
                     serde.get("SerializationLibrary", "")]).lower()
    fmt = next((f for f in ("parquet", "orc", "json", "csv") if f in hint), "")
    if not fmt and ("text" in hint or "lazysimpleserde" in hint):
        fmt = "csv"
    if not fmt:
        raise FormatError(f"table {table.get('Name')!r} has no classification or format we can read")
    options: dict[str, Any] = {}
    if fmt == "csv":
        options["withHeader"] = parameters.get("skip.header.line.count", "0") == "1"
        delimiter = serde.get("Parameters", {}).get("field.delim") or parameters.get("delimiter")
        if delimiter:
            options["separator"] = delimiter
    return fmt, options
