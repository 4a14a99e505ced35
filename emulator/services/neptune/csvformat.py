"""The Neptune Gremlin load-data CSV format: headers, typed columns, value conversion.

Implements https://docs.aws.amazon.com/neptune/latest/userguide/bulk-load-tutorial-format-gremlin.html:
system columns ``~id``, ``~label`` (vertices: several labels separated by ``;``), ``~from``, ``~to``
(edges), property columns ``name``, ``name:Type``, ``name:Type[]`` (values separated by ``;``, ``\\;``
escapes one) and ``name:Type(single)`` / ``name:Type(set)`` (vertex cardinality; ``set`` by default).
Types: Bool/Boolean, Byte, Short, Int, Long, Float, Double, String, Date/Datetime. Pure functions.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from emulator.services.neptune.store import LABEL_SEPARATOR

_INT_RANGES = {"byte": 8, "short": 16, "int": 32, "long": 64}
_TYPES = {"bool", "boolean", "byte", "short", "int", "long", "float", "double", "string", "date", "datetime"}
_HEADER = re.compile(r"^(?P<name>.+?)(?::(?P<type>[A-Za-z]+)(?P<array>\[\])?)?(?:\((?P<card>single|set)\))?$")
_SPLIT = re.compile(r"(?<!\\);")


class CsvFormatError(ValueError):
    """A header or a value that breaks the format; ``code`` is the loader's error code."""

    def __init__(self, message: str, code: str = "PARSING_ERROR") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Column:
    """One property column: key, type (lower case), array or not, cardinality."""

    name: str
    type: str = "string"
    array: bool = False
    cardinality: str = "set"


@dataclass
class Header:
    """The parsed header row of one file."""

    kind: str  # "vertex" or "edge"
    id_index: int
    label_index: int | None = None
    from_index: int | None = None
    to_index: int | None = None
    columns: list[tuple[int, Column]] = field(default_factory=list)
    width: int = 0


def parse_column(text: str) -> Column:
    """``age:Int``, ``tags:String[]``, ``name:String(single)`` → :class:`Column`."""
    match = _HEADER.match(text.strip())
    if match is None or not match.group("name"):
        raise CsvFormatError(f"Invalid column header {text!r}")
    kind = (match.group("type") or "string").lower()
    if kind not in _TYPES:
        raise CsvFormatError(f"Invalid data type {match.group('type')!r} in column header {text!r}")
    if kind == "boolean":
        kind = "bool"
    if kind == "datetime":
        kind = "date"
    cardinality = match.group("card") or "set"
    array = bool(match.group("array"))
    if array and cardinality == "single":
        raise CsvFormatError(f"Column {text!r}: an array column cannot have single cardinality")
    return Column(match.group("name"), kind, array, cardinality)


def parse_header(row: list[str]) -> Header:
    """Parse a header row; a row with ``~from`` and ``~to`` describes edges."""
    names = [cell.strip() for cell in row]
    system = {name: index for index, name in enumerate(names) if name.startswith("~")}
    for name in system:
        if name not in ("~id", "~label", "~from", "~to"):
            raise CsvFormatError(f"Unknown system column {name!r}")
    if len(system) != sum(1 for name in names if name.startswith("~")):
        raise CsvFormatError("A system column appears twice in the header")
    if "~id" not in system:
        raise CsvFormatError("The header has no ~id column")
    is_edge = "~from" in system or "~to" in system
    if is_edge and ("~from" not in system or "~to" not in system):
        raise CsvFormatError("An edge file needs both ~from and ~to columns")
    if is_edge and "~label" not in system:
        raise CsvFormatError("An edge file needs a ~label column")
    header = Header("edge" if is_edge else "vertex", system["~id"], system.get("~label"),
                    system.get("~from"), system.get("~to"), width=len(names))
    seen = set()
    for index, name in enumerate(names):
        if name.startswith("~"):
            continue
        column = parse_column(name)
        if column.name in seen:
            raise CsvFormatError(f"Property {column.name!r} appears twice in the header")
        seen.add(column.name)
        if is_edge and (column.array or column.cardinality == "single" and "(" in name):
            raise CsvFormatError(f"Edge property column {name!r}: edges take single values, without arrays "
                                 "or cardinality")
        header.columns.append((index, column))
    return header


def convert(text: str, column: Column) -> list[Any]:
    """The values of one cell (``[]`` for an empty cell).

    Raises:
        CsvFormatError: with code ``DATATYPE_MISMATCH`` when a value does not fit the type.
    """
    if text == "":
        return []
    parts = [p.replace("\\;", ";") for p in _SPLIT.split(text)] if column.array else [text]
    return [convert_one(part, column) for part in parts if part != "" or column.type == "string"]


def convert_column(cells: tuple[str, ...], column: Column) -> list[Any] | None:
    """The value of each cell of a single-valued column (``None`` for an empty cell), as :func:`convert`
    gives it, with one C-level loop for the numeric types; ``None`` when a cell does not convert (the
    caller then takes the cells one by one, for the error).
    """
    kind = column.type
    if column.array:
        return None
    if "" in cells or kind not in ("string", "float", "double") and kind not in _INT_RANGES:
        try:
            return [found[-1] if (found := convert(cell, column)) else None for cell in cells]
        except CsvFormatError:
            return None
    if kind == "string":
        return list(cells)
    try:  # float() and int() strip the cell as convert_one does
        if kind in _INT_RANGES:
            numbers = list(map(int, cells))
            bits = _INT_RANGES[kind]
            if numbers and not (-(1 << (bits - 1)) <= min(numbers) and max(numbers) < (1 << (bits - 1))):
                return None
            return numbers
        return list(map(float, cells))
    except ValueError:
        return None


def convert_one(text: str, column: Column) -> Any:
    kind = column.type
    if kind == "string":
        return text
    value = text.strip()
    try:
        if kind in _INT_RANGES:
            number = int(value)
            bits = _INT_RANGES[kind]
            if not -(1 << (bits - 1)) <= number < (1 << (bits - 1)):
                raise ValueError("out of range")
            return number
        if kind in ("float", "double"):
            return float(value)
        if kind == "bool":
            lowered = value.lower()
            if lowered not in ("true", "false"):
                raise ValueError("not a boolean")
            return lowered == "true"
        return parse_date(value)
    except ValueError:
        raise CsvFormatError(f"Value {text!r} of column {column.name!r} is not a valid {kind}",
                             "DATATYPE_MISMATCH") from None


def parse_date(value: str) -> dt.datetime:
    """ISO-8601 date or date-time (``yyyy-MM-dd``, ``…THH:mm``, ``…THH:mm:ss``, ``…Z``/offset) as naive UTC."""
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def split_labels(text: str) -> str:
    """``a;b`` → ``a::b`` (Neptune shows several labels joined with ``::``)."""
    labels = [label.strip() for label in _SPLIT.split(text) if label.strip()]
    return LABEL_SEPARATOR.join(dict.fromkeys(labels))
