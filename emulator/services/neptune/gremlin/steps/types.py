"""Type steps: asString, asNumber, asBool, asDate, dateAdd, dateDiff.

Semantics and error texts follow TinkerPop 3.8 (https://tinkerpop.apache.org/docs/3.8.0/reference/#asString-step,
#asNumber-step, #asBool-step, #asDate-step, #dateAdd-step, #dateDiff-step). Dates are timezone-aware
``datetime`` values (TinkerPop 3.8's OffsetDateTime); a naive one is read as UTC.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Iterator
from typing import Any

from gremlin_python.statics import SingleByte, bigint, long, short

from emulator.services.neptune.errors import IllegalArgument, MalformedQuery
from emulator.services.neptune.gremlin.bytecode import Bytecode, Sym
from emulator.services.neptune.gremlin.engine import (
    NOVALUE,
    Context,
    PropRef,
    Step,
    Traverser,
    compile_bytecode,
    describe,
    first_result,
    is_sym,
    register,
)
from emulator.services.neptune.gremlin.gtypes import Float32
from emulator.services.neptune.store import EdgeRecord, VertexRecord

#: (lowest, highest) of the bounded integer types asNumber() converts to
_BOUNDS = {"BYTE": (-128, 127), "SHORT": (-32768, 32767), "INT": (-2**31, 2**31 - 1), "LONG": (-2**63, 2**63 - 1)}
_NUMERIC_TYPES = frozenset({"BYTE", "SHORT", "INT", "LONG", "BIGINT", "FLOAT", "DOUBLE", "BIGDECIMAL", "NUMBER"})


def split_scope(args: list[Any]) -> tuple[bool, list[Any]]:
    """A leading ``Scope`` argument: (is_local, the remaining arguments)."""
    if args and is_sym(args[0], "Scope"):
        return args[0].name == "local", list(args[1:])
    return False, list(args)


def java_type_name(value: Any) -> str:
    """The Java class a value would be in TinkerPop (for its error messages)."""
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, SingleByte):
        return "Byte"
    if isinstance(value, short):
        return "Short"
    if isinstance(value, bigint):
        return "BigInteger"
    if isinstance(value, long):
        return "Long"
    if isinstance(value, int):
        return "Integer" if -2**31 <= value < 2**31 else "Long"
    if isinstance(value, float):
        return "Double"
    if isinstance(value, decimal.Decimal):
        return "BigDecimal"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list | tuple):
        return "ArrayList"
    if isinstance(value, dict):
        return "LinkedHashMap"
    if isinstance(value, set):
        return "LinkedHashSet"
    return type(value).__name__


def _java_float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e7:
        return f"{int(value)}.0"
    return repr(value)


def java_string(value: Any) -> str:
    """A value as Java's ``String.valueOf`` prints it in TinkerPop (``v[1]``, ``{name=[marko]}``, ``[1, 2]``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _java_float(value)
    if isinstance(value, VertexRecord):
        return f"v[{value.id}]"
    if isinstance(value, EdgeRecord):
        return f"e[{value.id}][{value.out_v.id}-{value.label}->{value.in_v.id}]"
    if isinstance(value, PropRef):
        prefix = "vp" if isinstance(value.element, VertexRecord) else "p"
        return f"{prefix}[{value.key}->{java_string(value.value)}]"
    if isinstance(value, list | tuple | set):
        return "[" + ", ".join(java_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{java_string(k)}={java_string(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sym):
        return value.name
    if isinstance(value, dt.datetime):
        return as_utc(value).isoformat().replace("+00:00", "Z")
    return str(value)


def as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


class ValueStep(Step):
    """A one-value-in, one-value-out step; ``Scope.local`` maps it over an incoming list."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.local, self.rest = split_scope(args)

    def convert(self, value: Any) -> Any:
        raise NotImplementedError

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            obj = trav.obj
            if self.local and isinstance(obj, list | tuple):
                yield trav.split([self.convert(item) for item in obj])
            else:
                yield trav.split(self.convert(obj))


@register("asString")
class AsStringStep(ValueStep):
    def convert(self, value: Any) -> Any:
        if value is None:
            raise IllegalArgument("Can't parse null as String.")
        return java_string(value)


def parse_number(text: str) -> Any:
    """A string as asNumber() reads it: int (growing to long and BigInteger), hex, or double."""
    cleaned = text.strip()
    try:
        if cleaned.lower().startswith(("0x", "-0x")):
            return _sized_int(int(cleaned, 16))
        if cleaned.lstrip("+-").isdigit():
            return _sized_int(int(cleaned))
        number = float(cleaned)
    except ValueError:
        raise IllegalArgument(f"Can't parse string '{text}' as number.") from None
    if math.isnan(number) and cleaned.lower() != "nan":
        raise IllegalArgument(f"Can't parse string '{text}' as number.")
    return number


def _sized_int(number: int) -> int:
    if -2**31 <= number < 2**31:
        return number
    if -2**63 <= number < 2**63:
        return long(number)
    return bigint(number)


def _to_type(value: Any, gtype: str) -> Any:
    """Convert a number to one numeric GType, refusing overflow as TinkerPop does."""
    if gtype == "NUMBER":
        return value
    if gtype == "DOUBLE":
        return float(value)
    if gtype == "FLOAT":
        return Float32(value)
    if gtype == "BIGDECIMAL":
        return decimal.Decimal(str(value)) if isinstance(value, float) else decimal.Decimal(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise IllegalArgument(f"Can't convert {_java_float(value)} to an integer type.")
    whole = int(value)
    if gtype == "BIGINT":
        return bigint(whole)
    low, high = _BOUNDS[gtype]
    if not low <= whole <= high:
        raise IllegalArgument(f"Can't convert number of type {java_type_name(value)} to "
                              f"{ {'BYTE': 'Byte', 'SHORT': 'Short', 'INT': 'Integer', 'LONG': 'Long'}[gtype] } "
                              "due to overflow.")
    return {"BYTE": SingleByte, "SHORT": short, "INT": int, "LONG": long}[gtype](whole)


@register("asNumber")
class AsNumberStep(ValueStep):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.gtype: str | None = None
        if len(self.rest) > 1:
            raise MalformedQuery("asNumber() takes at most one GType")
        if self.rest:
            token = self.rest[0]
            name = token.name if is_sym(token, "GType") else str(token).upper()
            if name.upper() not in _NUMERIC_TYPES:
                raise IllegalArgument(f"asNumber() requires a numeric type token, got {name}")
            self.gtype = name.upper()

    def convert(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            number: Any = long(int(as_utc(value).timestamp() * 1000))
        elif isinstance(value, str):
            number = parse_number(value)
        elif isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool):
            number = value
        else:
            raise IllegalArgument(f"Can't parse type {java_type_name(value)} as number.")
        return number if self.gtype is None else _to_type(number, self.gtype)


@register("asBool")
class AsBoolStep(ValueStep):
    def convert(self, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float | decimal.Decimal):
            return not (value == 0 or (isinstance(value, float) and math.isnan(value)))
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise IllegalArgument(f"Can't parse {java_string(value)} as Boolean.")


def parse_date(value: Any) -> dt.datetime:
    """What asDate() accepts: a datetime, epoch milliseconds (an integer), or an ISO 8601 string."""
    if isinstance(value, dt.datetime):
        return as_utc(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value / 1000.0, tz=dt.UTC)
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise IllegalArgument(f"Can't parse {value} as Date.") from None
        return as_utc(parsed)
    raise IllegalArgument(f"Can't parse {java_string(value)} as Date.")


@register("asDate")
class AsDateStep(ValueStep):
    def convert(self, value: Any) -> Any:
        return parse_date(value)


_UNITS = {"second": dt.timedelta(seconds=1), "minute": dt.timedelta(minutes=1), "hour": dt.timedelta(hours=1),
          "day": dt.timedelta(days=1)}


def _date_input(value: Any, step: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise IllegalArgument(f"{step}() can only take Date or OffsetDateTime, encountered: {describe(value)}")
    return as_utc(value)


@register("dateAdd")
class DateAddStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) != 2 or not is_sym(args[0], "DT") or not isinstance(args[1], int) or isinstance(args[1], bool):
            raise MalformedQuery("dateAdd() takes a DT unit and an integer")
        self.delta = _UNITS[args[0].name] * args[1]

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            yield trav.split(_date_input(trav.obj, "dateAdd") + self.delta)


@register("dateDiff")
class DateDiffStep(Step):
    """``dateDiff(other)``: milliseconds from ``other`` to the incoming date; a null other counts as epoch 0."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) != 1:
            raise MalformedQuery("dateDiff() takes a date or a traversal giving one")
        self.steps = compile_bytecode(args[0]) if isinstance(args[0], Bytecode) else None
        self.value = args[0]

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            date = _date_input(trav.obj, "dateDiff")
            other = first_result(ctx, self.steps, trav) if self.steps is not None else self.value
            other_millis = 0 if other is NOVALUE or other is None else _millis(_date_input(other, "dateDiff"))
            yield trav.split(long(_millis(date) - other_millis))


def _millis(value: dt.datetime) -> int:
    delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000
