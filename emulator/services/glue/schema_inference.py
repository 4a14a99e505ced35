"""What a crawler infers from a file's bytes: its format, columns with Glue (Hive) types, and partitions.

Pure: bytes and keys in, schemas out; no IO. CSV: the delimiter among ``, \\t | ;``, a header when the
first row is distinct non-numeric names, column types from the values (bigint, double, boolean, else
string). JSON: one object per line (JSON Lines), nested objects as ``struct<...>``, lists as
``array<...>``. Parquet: the file's own schema through pyarrow. Partitions: ``key=value`` folders
between the crawled path and the file, typed ``string`` as AWS's crawler types them.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

CSV, JSON, PARQUET = "csv", "json", "parquet"
DELIMITERS = (",", "\t", "|", ";")
#: The order in which a column's evidence widens its type: a value that fits an earlier type fits a later one.
_WIDENING = ("boolean", "bigint", "double", "string")
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_PARTITION = re.compile(r"^([^=/]+)=([^/]*)$")


class InferenceError(ValueError):
    """A file whose format or schema cannot be read."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str


@dataclass
class FileSchema:
    """What one file says: its format, columns and (for CSV) delimiter and header."""

    format: str
    columns: list[Column]
    delimiter: str = ","
    header: bool = False
    partitions: list[tuple[str, str]] = field(default_factory=list)


def format_of(key: str, head: bytes) -> str:
    """The format of an object from its name, else its first bytes (``PAR1`` magic, ``{``)."""
    lowered = key.lower()
    for suffix, fmt in ((".parquet", PARQUET), (".json", JSON), (".jsonl", JSON), (".csv", CSV), (".tsv", CSV)):
        if lowered.endswith(suffix) or f"{suffix}." in lowered:
            return fmt
    if head.startswith(b"PAR1"):
        return PARQUET
    if head.lstrip().startswith(b"{"):
        return JSON
    return CSV


def value_type(text: str) -> str | None:
    """The narrowest Glue type of one CSV cell (``None`` for an empty cell)."""
    value = text.strip()
    if not value:
        return None
    if value.lower() in ("true", "false"):
        return "boolean"
    if _INT.match(value):
        return "bigint"
    if _FLOAT.match(value):
        return "double"
    return "string"


def widen(a: str | None, b: str | None) -> str | None:
    """The type holding both ``a`` and ``b``: numbers widen, anything else that differs is a string."""
    if a is None or a == b:
        return b if a is None else a
    if b is None:
        return a
    if "boolean" in (a, b) or not (a in _WIDENING and b in _WIDENING):
        return "string"
    return max(a, b, key=_WIDENING.index)


def _delimiter(first_line: str) -> str:
    return max(DELIMITERS, key=first_line.count) if any(d in first_line for d in DELIMITERS) else ","


def infer_csv(data: bytes, max_rows: int = 1000) -> FileSchema:
    """Columns of a CSV (or TSV/pipe) file from its first ``max_rows`` rows."""
    text = data.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if not lines:
        raise InferenceError("empty CSV file")
    delimiter = _delimiter(lines[0])
    rows = [row for row in csv.reader(io.StringIO("\n".join(lines[: max_rows + 1])), delimiter=delimiter) if row]
    if not rows:
        raise InferenceError("empty CSV file")
    first = [cell.strip() for cell in rows[0]]
    header = (len(rows) > 1 and all(first) and len(set(first)) == len(first)
              and all(value_type(cell) == "string" for cell in first))
    body = rows[1:] if header else rows
    width = max(len(row) for row in rows)
    types: list[str | None] = [None] * width
    for row in body:
        for index, cell in enumerate(row[:width]):
            types[index] = widen(types[index], value_type(cell))
    names = [first[i].lower() if header and i < len(first) else f"col{i}" for i in range(width)]
    return FileSchema(CSV, [Column(n, t or "string") for n, t in zip(names, types, strict=True)], delimiter, header)


def json_type(value: Any) -> str | None:
    """The Glue type of one JSON value (``None`` for null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, float):
        return "double"
    if isinstance(value, dict):
        inner = ",".join(f"{k}:{json_type(v) or 'string'}" for k, v in value.items())
        return f"struct<{inner}>"
    if isinstance(value, list):
        element: str | None = None
        for item in value:
            element = widen(element, json_type(item))
        return f"array<{element or 'string'}>"
    return "string"


def infer_json(data: bytes, max_rows: int = 1000) -> FileSchema:
    """Columns of a JSON Lines file (one object per line) from its first ``max_rows`` records."""
    order: list[str] = []
    types: dict[str, str | None] = {}
    seen = 0
    for line in data.decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InferenceError(f"not JSON Lines: {error}") from None
        if not isinstance(record, dict):
            raise InferenceError("a JSON record is not an object")
        for name, value in record.items():
            if name not in types:
                order.append(name)
                types[name] = json_type(value)
            else:
                types[name] = widen(types[name], json_type(value))
        seen += 1
        if seen >= max_rows:
            break
    if not order:
        raise InferenceError("no JSON records")
    return FileSchema(JSON, [Column(name.lower(), types[name] or "string") for name in order])


def arrow_type(arrow: Any) -> str:
    """The Glue type of a pyarrow type."""
    import pyarrow as pa

    checks = ((pa.types.is_boolean, "boolean"), (pa.types.is_int8, "tinyint"), (pa.types.is_int16, "smallint"),
              (pa.types.is_int32, "int"), (pa.types.is_int64, "bigint"), (pa.types.is_uint8, "smallint"),
              (pa.types.is_uint16, "int"), (pa.types.is_uint32, "bigint"), (pa.types.is_uint64, "bigint"),
              (pa.types.is_float32, "float"), (pa.types.is_float64, "double"), (pa.types.is_date, "date"),
              (pa.types.is_timestamp, "timestamp"), (pa.types.is_binary, "binary"),
              (pa.types.is_large_binary, "binary"))
    for check, name in checks:
        if check(arrow):
            return name
    if pa.types.is_decimal(arrow):
        return f"decimal({arrow.precision},{arrow.scale})"
    if pa.types.is_list(arrow) or pa.types.is_large_list(arrow):
        return f"array<{arrow_type(arrow.value_type)}>"
    if pa.types.is_struct(arrow):
        return "struct<" + ",".join(f"{f.name}:{arrow_type(f.type)}" for f in arrow) + ">"
    if pa.types.is_map(arrow):
        return f"map<{arrow_type(arrow.key_type)},{arrow_type(arrow.item_type)}>"
    return "string"


def infer_parquet(data: bytes) -> FileSchema:
    """Columns of a Parquet file from its footer."""
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(io.BytesIO(data))
    except Exception as error:  # pyarrow raises its own ArrowInvalid family
        raise InferenceError(f"not a Parquet file: {error}") from None
    return FileSchema(PARQUET, [Column(f.name.lower(), arrow_type(f.type)) for f in schema])


def infer_file(key: str, data: bytes) -> FileSchema:
    """The schema of one object, by its format."""
    fmt = format_of(key, data[:4])
    if fmt == PARQUET:
        return infer_parquet(data)
    if fmt == JSON:
        return infer_json(data)
    return infer_csv(data)


def partitions_of(relative_key: str) -> list[tuple[str, str]]:
    """The ``key=value`` folders of a key below the crawled path, outermost first."""
    folders = relative_key.split("/")[:-1]
    found = []
    for folder in folders:
        match = _PARTITION.match(folder)
        if not match:
            return []
        found.append((match.group(1).lower(), match.group(2)))
    return found


@dataclass
class TableSchema:
    """What a crawler writes for one table: format, data columns, partition keys and CSV details."""

    format: str
    columns: list[Column]
    partition_keys: list[str]
    partition_values: list[list[str]]
    delimiter: str = ","
    header: bool = False


def merge_files(files: Sequence[FileSchema]) -> TableSchema:
    """One table from the files under a path: the most common format, columns merged in first-seen order.

    Raises:
        InferenceError: no files.
    """
    if not files:
        raise InferenceError("no data files")
    formats = [f.format for f in files]
    fmt = max(set(formats), key=formats.count)
    chosen = [f for f in files if f.format == fmt]
    order: list[str] = []
    types: dict[str, str] = {}
    for schema in chosen:
        for column in schema.columns:
            if column.name not in types:
                order.append(column.name)
                types[column.name] = column.type
            elif types[column.name] != column.type:
                types[column.name] = widen(types[column.name], column.type) or "string"
    keys = [name for name, _ in chosen[0].partitions]
    if any([name for name, _ in f.partitions] != keys for f in chosen):
        keys = []
    values = sorted({tuple(v for _, v in f.partitions) for f in chosen}) if keys else []
    columns = [Column(n, types[n]) for n in order if n not in keys]
    return TableSchema(fmt, columns, keys, [list(v) for v in values], chosen[0].delimiter, chosen[0].header)


def table_name(path_key: str, prefix: str = "") -> str:
    """A catalog table name for a crawled folder: its last segment, lower case, ``[a-z0-9_]`` only."""
    last = next((part for part in reversed(path_key.split("/")) if part), "")
    name = re.sub(r"[^a-z0-9_]", "_", last.lower()) or "table"
    return f"{prefix}{name}".lower()


def is_data_key(key: str, names: Iterable[str] = ()) -> bool:
    """Whether a crawler reads this key: not a folder marker, nor a hidden/underscore file (``_SUCCESS``)."""
    last = key.rsplit("/", 1)[-1]
    return bool(last) and not last.startswith(("_", ".")) and not last.endswith(".crc") and last not in names
