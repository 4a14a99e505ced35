"""Fast result writers for GraphBinary v1 and GraphSON v3.

Results are mostly strings, numbers, lists, maps, ``T`` keys and element references. These
writers handle exactly those with a type-indexed table and cached encodings (enum keys, labels),
and hand anything else to gremlinpython's own writers, so the bytes stay what gremlinpython's
readers expect (https://tinkerpop.apache.org/docs/3.7.0/dev/io/#graphbinary,
https://tinkerpop.apache.org/docs/3.7.0/dev/io/#graphson-3d0). They matter because a page
of results is encoded in pure Python on the server while the client decodes it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import struct
from collections.abc import Callable
from typing import Any

from gremlin_python.process.traversal import Direction, T, Traverser
from gremlin_python.statics import long
from gremlin_python.structure.graph import Edge, Path, Property, Vertex, VertexProperty
from gremlin_python.structure.io import graphbinaryV1 as gb
from gremlin_python.structure.io.graphsonV3d0 import GraphSONWriter

from emulator.services.neptune.gremlin.bytecode import Sym

_I32 = struct.Struct(">i").pack
_I64 = struct.Struct(">q").pack
_F64 = struct.Struct(">d").pack
_TRAVERSER_BULK_1 = b"\x21\x00" + _I64(1)
_NULL = b"\xfe\x01"
_FALLBACK_BINARY = gb.GraphBinaryWriter()
_FALLBACK_GRAPHSON = GraphSONWriter()

#: GraphBinary type code of each enum family (https://tinkerpop.apache.org/docs/3.7.0/dev/io/#_data_type_codes)
ENUM_TYPE_CODES: dict[str, int] = {
    "Barrier": 0x13, "Cardinality": 0x16, "Column": 0x17, "Direction": 0x18, "Operator": 0x19, "Order": 0x1A,
    "Pick": 0x1B, "Pop": 0x1C, "Scope": 0x1F, "T": 0x20, "Merge": 0x2E, "DT": 0x2F, "GType": 0x30,
}


def _enum_bytes(code: int, name: str) -> bytes:
    raw = name.encode()
    return bytes((code, 0)) + b"\x03\x00" + _I32(len(raw)) + raw


_ENUM_CACHE: dict[Any, bytes] = {
    T.id: _enum_bytes(0x20, "id"), T.label: _enum_bytes(0x20, "label"), T.key: _enum_bytes(0x20, "key"),
    T.value: _enum_bytes(0x20, "value"), Direction.OUT: _enum_bytes(0x18, "OUT"),
    Direction.IN: _enum_bytes(0x18, "IN"), Direction.BOTH: _enum_bytes(0x18, "BOTH"),
}


def _millis(value: dt.datetime) -> int:
    return int(round(calendar.timegm(value.utctimetuple()) * 1e3 + value.microsecond / 1e3))


# -- GraphBinary --------------------------------------------------------------------------------

def _b_str(value: str, out: bytearray) -> None:
    raw = value.encode()
    out += b"\x03\x00" + _I32(len(raw)) + raw  # one append: strings are most of a page


def _b_int(value: int, out: bytearray) -> None:
    if -2147483648 <= value <= 2147483647:
        out += b"\x01\x00"
        out += _I32(value)
    elif -9223372036854775808 <= value <= 9223372036854775807:
        out += b"\x02\x00"
        out += _I64(value)
    else:
        _FALLBACK_BINARY.to_dict(value, out)


def _b_long(value: int, out: bytearray) -> None:
    out += b"\x02\x00"
    out += _I64(value)


def _b_float(value: float, out: bytearray) -> None:
    out += b"\x07\x00"
    out += _F64(value)


def _b_bool(value: bool, out: bytearray) -> None:
    out += b"\x27\x00\x01" if value else b"\x27\x00\x00"


def _b_list(value: list[Any], out: bytearray) -> None:
    out += b"\x09\x00"
    out += _I32(len(value))
    writers = _BINARY
    for item in value:  # write_binary, inlined for the common types: a page is mostly lists and maps
        writer = writers.get(type(item))
        if writer is not None:
            writer(item, out)
        else:
            write_binary(item, out)


def _b_set(value: set[Any], out: bytearray) -> None:
    out += b"\x0b\x00"
    out += _I32(len(value))
    for item in value:
        write_binary(item, out)


#: the bytes of string map keys seen: a page repeats a few keys thousands of times (valueMap(), project())
_KEY_BYTES: dict[str, bytes] = {}
_KEY_BYTES_MAX = 4096


def _key_bytes(key: str) -> bytes:
    raw = key.encode()
    written = b"\x03\x00" + _I32(len(raw)) + raw
    if len(_KEY_BYTES) >= _KEY_BYTES_MAX:  # keys that are data (group() of ids): start again, stay small
        _KEY_BYTES.clear()
    _KEY_BYTES[key] = written
    return written


def _b_map(value: dict[Any, Any], out: bytearray) -> None:
    out += b"\x0a\x00"
    out += _I32(len(value))
    writers = _BINARY
    keys = _KEY_BYTES
    for key, item in value.items():  # write_binary, inlined (see _b_list)
        if type(key) is str:
            out += keys.get(key) or _key_bytes(key)
        else:
            writer = writers.get(type(key))
            if writer is not None:
                writer(key, out)
            else:
                write_binary(key, out)
        writer = writers.get(type(item))
        if writer is not None:
            writer(item, out)
        else:
            write_binary(item, out)


def _b_traverser(value: Traverser, out: bytearray) -> None:
    if value.bulk == 1:
        out += _TRAVERSER_BULK_1
    else:
        out += b"\x21\x00"
        out += _I64(value.bulk)
    write_binary(value.object, out)


def _b_vertex(value: Vertex, out: bytearray) -> None:
    out += b"\x11\x00"
    write_binary(value.id, out)
    raw = value.label.encode()
    out += _I32(len(raw))
    out += raw
    out += _NULL


def _b_value_string(value: str, out: bytearray) -> None:
    raw = value.encode()
    out += _I32(len(raw))
    out += raw


def _b_edge(value: Edge, out: bytearray) -> None:
    out += b"\x0d\x00"
    write_binary(value.id, out)
    _b_value_string(value.label, out)
    write_binary(value.inV.id, out)
    _b_value_string(value.inV.label, out)
    write_binary(value.outV.id, out)
    _b_value_string(value.outV.label, out)
    out += _NULL
    out += _NULL


def _b_date(value: dt.datetime, out: bytearray) -> None:
    if value.tzinfo is not None:
        _FALLBACK_BINARY.to_dict(value, out)
        return
    out += b"\x04\x00"
    out += _I64(_millis(value))


def _b_sym(value: Sym, out: bytearray) -> None:
    code = ENUM_TYPE_CODES.get(value.kind)
    if code is None:
        raise TypeError(f"no GraphBinary type for the enum {value!r}")
    out += _enum_bytes(code, value.name)


_BINARY: dict[type, Callable[[Any, bytearray], None]] = {
    str: _b_str, int: _b_int, long: _b_long, float: _b_float, bool: _b_bool, list: _b_list, tuple: _b_list,
    set: _b_set, dict: _b_map, Traverser: _b_traverser, Vertex: _b_vertex, Edge: _b_edge, dt.datetime: _b_date,
}
_BINARY[Sym] = _b_sym  # an enum a traversal returns (constant(GType.INT), a T token...)
_BINARY[frozenset] = _b_set  # a set used as a map key (groupCount() of sets)
#: the T and Direction tokens by identity (hashing an aenum member runs Python code: valueMap(true) keys)
_TOKEN_BYTES: dict[int, bytes] = {id(token): raw for token, raw in _ENUM_CACHE.items()}


def _b_token(value: Any, out: bytearray) -> None:
    raw = _TOKEN_BYTES.get(id(value))
    if raw is None:
        _FALLBACK_BINARY.to_dict(value, out)
    else:
        out += raw


_BINARY[type(T.id)] = _b_token
_BINARY[type(Direction.OUT)] = _b_token


def write_traversers(values: list[Any], out: bytearray) -> None:
    """Append ``values`` as a List of Traversers of bulk 1, the data of a bytecode response.

    The same bytes as ``write_binary([Traverser(v, 1) for v in values], out)``, without building a
    Traverser per result (a page is thousands of them).
    """
    out += b"\x09\x00"
    out += _I32(len(values))
    writers = _BINARY
    for value in values:
        out += _TRAVERSER_BULK_1
        writer = writers.get(type(value))
        if writer is not None:
            writer(value, out)
        else:
            write_binary(value, out)


def write_binary(value: Any, out: bytearray) -> None:
    """Append ``value`` fully qualified (type code, value flag, value) to ``out``.

    Raises:
        TypeError: for a value GraphBinary has no type for (gremlinpython's writer would silently write
            nothing, and the client would fail on the truncated frame).
    """
    writer = _BINARY.get(type(value))
    if writer is not None:
        writer(value, out)
        return
    if value is None:
        out += _NULL
        return
    cached = _ENUM_CACHE.get(value) if isinstance(value, T | Direction) else None
    if cached is not None:
        out += cached
        return
    size = len(out)
    _FALLBACK_BINARY.to_dict(value, out)
    if len(out) == size:
        raise TypeError(f"no GraphBinary type for {type(value).__name__} values")


# -- GraphSON 3 ---------------------------------------------------------------------------------

def _typed(kind: str, value: Any) -> dict[str, Any]:
    return {"@type": kind, "@value": value}


def _j_int(value: int) -> Any:
    return _typed("g:Int32" if -2147483648 <= value <= 2147483647 else "g:Int64", value)


def _j_edge(value: Edge) -> Any:
    return _typed("g:Edge", {"id": write_graphson(value.id), "outV": write_graphson(value.outV.id),
                             "outVLabel": value.outV.label, "label": value.label,
                             "inV": write_graphson(value.inV.id), "inVLabel": value.inV.label})


def _j_vertex_property(value: VertexProperty) -> Any:
    body = {"id": write_graphson(value.id), "label": value.label, "value": write_graphson(value.value)}
    if value.vertex is not None:
        body["vertex"] = write_graphson(value.vertex.id)
    return _typed("g:VertexProperty", body)


_GRAPHSON: dict[type, Callable[[Any], Any]] = {
    str: lambda v: v,
    bool: lambda v: v,
    int: _j_int,
    long: lambda v: _typed("g:Int64", int(v)),
    float: lambda v: _typed("g:Double", v),
    list: lambda v: _typed("g:List", [write_graphson(i) for i in v]),
    tuple: lambda v: _typed("g:List", [write_graphson(i) for i in v]),
    set: lambda v: _typed("g:Set", [write_graphson(i) for i in v]),
    dict: lambda v: _typed("g:Map", [x for k, i in v.items() for x in (write_graphson(k), write_graphson(i))]),
    Traverser: lambda v: _typed("g:Traverser", {"bulk": _typed("g:Int64", v.bulk), "value": write_graphson(v.object)}),
    Vertex: lambda v: _typed("g:Vertex", {"id": write_graphson(v.id), "label": v.label}),
    Edge: _j_edge,
    VertexProperty: _j_vertex_property,
    Property: lambda v: _typed("g:Property", {"key": v.key, "value": write_graphson(v.value)}),
    Path: lambda v: _typed("g:Path", {"labels": _typed("g:List", [_typed("g:Set", sorted(s)) for s in v.labels]),
                                      "objects": _typed("g:List", [write_graphson(o) for o in v.objects])}),
}
_GRAPHSON[Sym] = lambda v: _typed(f"g:{v.kind}", v.name)
_GRAPHSON[frozenset] = _GRAPHSON[set]  # a set used as a map key
_GRAPHSON_ENUMS = {T.id: _typed("g:T", "id"), T.label: _typed("g:T", "label"), T.key: _typed("g:T", "key"),
                   T.value: _typed("g:T", "value"), Direction.OUT: _typed("g:Direction", "OUT"),
                   Direction.IN: _typed("g:Direction", "IN"), Direction.BOTH: _typed("g:Direction", "BOTH")}


def write_graphson(value: Any) -> Any:
    """``value`` as a GraphSON 3 JSON-ready structure."""
    writer = _GRAPHSON.get(type(value))
    if writer is not None:
        return writer(value)
    if value is None:
        return None
    if isinstance(value, T | Direction):
        return _GRAPHSON_ENUMS[value]
    written = _FALLBACK_GRAPHSON.to_dict(value)
    if written is value and not isinstance(value, str | int | float | bool):
        raise TypeError(f"no GraphSON type for {type(value).__name__} values")
    return written
