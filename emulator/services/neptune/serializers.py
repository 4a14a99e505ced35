"""Request decoding and response encoding for GraphBinary v1 and GraphSON v3.

Responses reuse gremlinpython's own writers (``GraphBinaryWriter``, ``GraphSONWriter``), so what
we write is exactly what its readers expect. Requests are decoded here into the format-free
values of :mod:`emulator.services.neptune.gremlin.bytecode`: gremlinpython's readers cannot read what only a
server receives (``P``, ``TextP``, strategies, lambdas, ``Cardinality.set``...).

Specs: https://tinkerpop.apache.org/docs/3.7.0/dev/io/#graphbinary and
https://tinkerpop.apache.org/docs/3.7.0/dev/io/#graphson-3d0 ; request/response envelopes:
https://tinkerpop.apache.org/docs/3.7.0/dev/io/#_request_message and #_response_message.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import struct
import uuid
from dataclasses import dataclass
from typing import Any

from gremlin_python.statics import bigint, long
from gremlin_python.structure.graph import Edge, Vertex
from gremlin_python.structure.io import graphbinaryV1 as gb
from gremlin_python.structure.io.graphsonV3d0 import GraphSONReader

from emulator.services.neptune.encoding import ENUM_TYPE_CODES, write_binary, write_graphson, write_traversers
from emulator.services.neptune.gremlin.bytecode import (
    Bytecode,
    CardinalityValue,
    ClassRef,
    Lambda,
    Pred,
    RequestError,
    Strategy,
    sym,
)

GRAPHBINARY_MIME = "application/vnd.graphbinary-v1.0"
GRAPHSON_V3_MIME = "application/vnd.gremlin-v3.0+json"
GRAPHSON_MIMES = frozenset({GRAPHSON_V3_MIME, "application/vnd.gremlin-v3.0+json;types=true", "application/json"})
MAX_DEPTH = 200


class RequestDecodeError(RequestError):
    """A request that could not be decoded after its request id was read: the answer still carries the id."""

    def __init__(self, message: str, request_id: str) -> None:
        super().__init__(message)
        self.request_id = request_id


#: what a decoder may raise on bytes it cannot read (every one becomes a 498 with the request id)
DECODE_ERRORS = (RequestError, ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError,
                 RecursionError, struct.error, UnicodeDecodeError)


@dataclass
class RequestMessage:
    """A Gremlin Server request: ``{requestId, op, processor, args}``."""

    request_id: str
    op: str
    processor: str
    args: dict[str, Any]


# -- GraphBinary requests -------------------------------------------------------------------

_ENUM_CODES = {code: kind for kind, code in ENUM_TYPE_CODES.items()}
#: path, property, vertex property: read by gremlinpython's reader (what a client sends back to us)
_READ_BY_GREMLINPYTHON = frozenset({0x0E, 0x0F, 0x12})
_BINARY_READER = gb.GraphBinaryReader()
_GRAPHSON_READER = GraphSONReader()
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_F64 = struct.Struct(">d")
_F32 = struct.Struct(">f")
_I16 = struct.Struct(">h")


class _Reader:
    """A cursor over a GraphBinary buffer; every read checks bounds."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0
        self.depth = 0

    def take(self, size: int) -> memoryview:
        if size < 0 or self.pos + size > len(self.data):
            raise RequestError("GraphBinary message ends early")
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def i32(self) -> int:
        return _I32.unpack(self.take(4))[0]

    def length(self) -> int:
        size = self.i32()
        if size < 0 or size > len(self.data) - self.pos + 16 * len(self.data):
            raise RequestError(f"bad length {size} in GraphBinary message")
        return size

    def string(self) -> str:
        return bytes(self.take(self.length())).decode("utf-8")

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(bytes=bytes(self.take(16)))

    def any(self) -> Any:
        """A fully qualified value: type code, value flag, value."""
        code = self.byte()
        flag = self.byte()
        if code == 0xFE or flag == 0x01:
            return None
        return self.value(code)

    def value(self, code: int) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise RequestError("GraphBinary value nested too deeply")
        try:
            return self._value(code)
        finally:
            self.depth -= 1

    def _value(self, code: int) -> Any:  # noqa: C901 - one branch per type code
        if code == 0x01:
            return self.i32()
        if code == 0x02:
            return long(_I64.unpack(self.take(8))[0])
        if code == 0x03:
            return self.string()
        if code in (0x04, 0x05):
            millis = _I64.unpack(self.take(8))[0]
            return dt.datetime.fromtimestamp(millis / 1000.0, tz=dt.UTC).replace(tzinfo=None)
        if code == 0x06:
            return ClassRef(self.string())
        if code == 0x07:
            return _F64.unpack(self.take(8))[0]
        if code == 0x08:
            return _F32.unpack(self.take(4))[0]
        if code == 0x09:
            return [self.any() for _ in range(self.length())]
        if code == 0x0B:
            return as_set([self.any() for _ in range(self.length())])
        if code == 0x0A:
            result = {}
            for _ in range(self.length()):
                key = self.any()
                try:
                    result[key] = self.any()
                except TypeError:
                    raise RequestError("map keys must be hashable values") from None
            return result
        if code == 0x0C:
            return self.uuid()
        if code == 0x0D:
            edge_id = self.any()
            label = self.string()
            in_v = Vertex(self.any(), self.string())
            out_v = Vertex(self.any(), self.string())
            self.any()
            self.any()
            return Edge(edge_id, out_v, label, in_v)
        if code in _READ_BY_GREMLINPYTHON:
            return self.by_gremlinpython(code)
        if code == 0x11:
            vertex_id = self.any()
            label = self.string()
            self.any()
            return Vertex(vertex_id, label)
        if code in _ENUM_CODES:
            name = self.any()
            if not isinstance(name, str):
                raise RequestError(f"{_ENUM_CODES[code]} value must be a string")
            return sym(_ENUM_CODES[code], name)
        if code == 0x14:  # binding: the value stands in for the name
            self.string()
            return self.any()
        if code == 0x15:
            return self.bytecode()
        if code == 0x1D:
            language = self.string()
            script = self.string()
            self.i32()
            return Lambda(script, language)
        if code in (0x1E, 0x28):
            name = self.string()
            args = [self.any() for _ in range(self.length())]
            return Pred(name, args, text=code == 0x28)
        if code == 0x21:
            self.take(8)
            return self.any()
        if code == 0x22:
            scale = self.i32()
            unscaled = int.from_bytes(self.take(self.length()), "big", signed=True)
            return decimal.Decimal(unscaled).scaleb(-scale)
        if code == 0x23:
            return bigint(int.from_bytes(self.take(self.length()), "big", signed=True))
        if code == 0x24:
            return struct.unpack(">b", self.take(1))[0]
        if code == 0x25:
            return bytes(self.take(self.length()))
        if code == 0x26:
            return _I16.unpack(self.take(2))[0]
        if code == 0x27:
            return self.byte() == 0x01
        if code == 0x29:
            name = self.string()
            config = self.value(0x0A)
            return Strategy(name, config)
        if code == 0x80:
            first = self.data[self.pos] if self.pos < len(self.data) else 0
            size = 1 if first < 0x80 else 2 if first < 0xE0 else 3 if first < 0xF0 else 4
            return bytes(self.take(size)).decode("utf-8")
        if code == 0x88:
            return self.offset_datetime()
        if code == 0x81:
            seconds = _I64.unpack(self.take(8))[0]
            nanos = self.i32()
            return dt.timedelta(seconds=seconds, microseconds=nanos / 1000)
        raise RequestError(f"unsupported GraphBinary type code 0x{code:02x}")

    def by_gremlinpython(self, code: int) -> Any:
        """A structure gremlinpython's own reader reads exactly as its writer wrote it (paths, properties)."""
        buffer = io.BytesIO(bytes((code, 0)) + bytes(self.data[self.pos:]))
        value = _BINARY_READER.read_object(buffer)
        self.pos += buffer.tell() - 2
        return value

    def offset_datetime(self) -> dt.datetime:
        """An OffsetDateTime (gremlinpython 3.8 sends every timezone-aware ``datetime`` as one): year, month,
        day, nanoseconds of the day, offset in seconds; it stays timezone-aware, so it round-trips."""
        year = self.i32()
        month, day = self.byte(), self.byte()
        nanos = _I64.unpack(self.take(8))[0]
        offset = self.i32()
        if not 0 <= nanos < 86_400 * 10**9 or not -18 * 3600 <= offset <= 18 * 3600:
            raise RequestError("OffsetDateTime out of range")
        zone = dt.timezone(dt.timedelta(seconds=offset))
        return dt.datetime(year, month, day, tzinfo=zone) + dt.timedelta(microseconds=nanos // 1000)

    def bytecode(self) -> Any:
        steps = [(self.string(), [self.any() for _ in range(self.length())]) for _ in range(self.length())]
        sources = [(self.string(), [self.any() for _ in range(self.length())]) for _ in range(self.length())]
        return make_bytecode(steps, sources)


def make_bytecode(steps: list[tuple[str, list[Any]]], sources: list[tuple[str, list[Any]]]) -> Any:
    """Bytecode, or the ``CardinalityValue`` that gremlinpython sends as a one-source bytecode."""
    if not steps and len(sources) == 1 and sources[0][0] == "CardinalityValueTraversal":
        args = sources[0][1]
        if len(args) != 2 or not hasattr(args[0], "kind"):
            raise RequestError("CardinalityValueTraversal needs a cardinality and a value")
        return CardinalityValue(args[0].name, args[1])
    return Bytecode(steps, sources)


def read_mime(frame: bytes) -> tuple[str, int]:
    """The mime type a websocket request frame starts with, and where the message begins."""
    if not frame:
        raise RequestError("empty request frame")
    size = frame[0]
    if size == 0 or len(frame) < 1 + size:
        raise RequestError("request frame does not start with a mime type")
    return frame[1:1 + size].decode("ascii", "replace"), 1 + size


def decode_graphbinary_request(body: bytes) -> RequestMessage:
    """A GraphBinary request message (after its mime header)."""
    reader = _Reader(body)
    version = reader.byte()
    if version != 0x81:
        raise RequestError(f"unsupported GraphBinary request version 0x{version:02x}")
    request_id = str(reader.uuid())
    try:
        op = reader.string()
        processor = reader.string()
        args = reader.value(0x0A)
    except DECODE_ERRORS as error:
        raise RequestDecodeError(str(error) or type(error).__name__, request_id) from None
    return RequestMessage(request_id, op, processor, args)


def as_set(items: list[Any]) -> Any:
    """A request Set as a Python set, so that Set in gives Set out; a list when an item is unhashable."""
    try:
        return set(items)
    except TypeError:
        return items


def _decimal(raw: Any) -> decimal.Decimal:
    try:
        return decimal.Decimal(str(raw))
    except decimal.InvalidOperation:
        raise RequestError(f"bad BigDecimal {raw!r}") from None


# -- GraphSON requests ----------------------------------------------------------------------

_GRAPHSON_ENUMS = {"g:T": "T", "g:Direction": "Direction", "g:Order": "Order", "g:Cardinality": "Cardinality",
                   "g:Column": "Column", "g:Pop": "Pop", "g:Scope": "Scope", "g:Merge": "Merge",
                   "g:Barrier": "Barrier", "g:Operator": "Operator", "g:Pick": "Pick", "g:DT": "DT",
                   "g:GType": "GType"}


#: leaf and structure types gremlinpython's reader reads exactly as its writer wrote them
_GRAPHSON_BY_GREMLINPYTHON = frozenset({"gx:Duration", "gx:ByteBuffer", "g:VertexProperty", "g:Property",
                                        "g:Path"})


def from_graphson(value: Any, depth: int = 0) -> Any:  # noqa: C901 - one branch per type
    """Decode one GraphSON 3 value into request values."""
    if depth > MAX_DEPTH:
        raise RequestError("GraphSON value nested too deeply")
    if isinstance(value, list):
        return [from_graphson(v, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    kind = value.get("@type")
    if kind is None:
        return {k: from_graphson(v, depth + 1) for k, v in value.items()}
    raw = value.get("@value")
    if kind in ("g:Int32", "gx:Int16", "gx:Byte"):
        return int(raw)
    if kind == "g:Int64":
        return long(int(raw))
    if kind == "gx:BigInteger":
        return bigint(int(raw))
    if kind == "gx:BigDecimal":
        return _decimal(raw)
    if kind in ("g:Double", "g:Float"):
        return float(raw)
    if kind in ("g:Date", "g:Timestamp"):
        return dt.datetime.fromtimestamp(int(raw) / 1000.0, tz=dt.UTC).replace(tzinfo=None)
    if kind == "gx:OffsetDateTime":
        return dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    if kind == "g:UUID":
        return uuid.UUID(str(raw))
    if kind in ("g:List", "g:BulkSet"):
        return [from_graphson(v, depth + 1) for v in raw or []]
    if kind == "g:Set":
        return as_set([from_graphson(v, depth + 1) for v in raw or []])
    if kind == "g:Map":
        items = raw or []
        result = {}
        for index in range(0, len(items) - 1, 2):
            try:
                result[from_graphson(items[index], depth + 1)] = from_graphson(items[index + 1], depth + 1)
            except TypeError:
                raise RequestError("map keys must be hashable values") from None
        return result
    if kind in _GRAPHSON_ENUMS:
        return sym(_GRAPHSON_ENUMS[kind], str(raw))
    if kind in ("g:P", "g:TextP"):
        op = raw.get("predicate")
        args = from_graphson(raw.get("value"), depth + 1)
        if op in ("within", "without", "between", "inside", "outside", "and", "or"):
            args = args if isinstance(args, list) else [args]
        else:
            args = [args]
        return Pred(str(op), args, text=kind == "g:TextP")
    if kind == "g:Bytecode":
        def instructions(name: str) -> list[tuple[str, list[Any]]]:
            return [(str(i[0]), [from_graphson(a, depth + 1) for a in i[1:]]) for i in raw.get(name, [])]
        return make_bytecode(instructions("step"), instructions("source"))
    if kind == "g:Lambda":
        return Lambda(str(raw.get("script")), str(raw.get("language")))
    if kind == "g:Vertex":
        return Vertex(from_graphson(raw.get("id"), depth + 1), raw.get("label", "vertex"))
    if kind == "g:Edge":
        out_v = Vertex(from_graphson(raw.get("outV"), depth + 1), raw.get("outVLabel", "vertex"))
        in_v = Vertex(from_graphson(raw.get("inV"), depth + 1), raw.get("inVLabel", "vertex"))
        return Edge(from_graphson(raw.get("id"), depth + 1), out_v, raw.get("label", "edge"), in_v)
    if kind in _GRAPHSON_BY_GREMLINPYTHON:
        return _GRAPHSON_READER.to_object(value)
    if kind == "g:Class":
        return ClassRef(str(raw))
    if kind == "g:Binding":
        return from_graphson(raw.get("value"), depth + 1)
    if kind == "g:Traverser":
        return from_graphson(raw.get("value"), depth + 1)
    if kind == "gx:Char":
        return str(raw)
    if kind.endswith("Strategy"):
        config = from_graphson(raw, depth + 1) if isinstance(raw, dict) else {}
        return Strategy(kind.split(":", 1)[-1], config)
    raise RequestError(f"unsupported GraphSON type {kind}")


def decode_graphson_request(body: bytes | str) -> RequestMessage:
    try:
        message = json.loads(body)
    except ValueError as error:
        raise RequestError(f"request is not JSON: {error}") from None
    if not isinstance(message, dict):
        raise RequestError("request must be a JSON object")
    request_id = _graphson_request_id(message.get("requestId"))
    try:
        args = from_graphson(message.get("args") or {})
        if not isinstance(args, dict):
            raise RequestError("request args must be a map")
    except DECODE_ERRORS as error:
        raise RequestDecodeError(str(error) or type(error).__name__, request_id) from None
    return RequestMessage(request_id, str(message.get("op", "")), str(message.get("processor", "")), args)


def _graphson_request_id(value: Any) -> str:
    """The request id, a UUID plain or typed (``{"@type": "g:UUID", ...}``)."""
    if isinstance(value, dict) and value.get("@type") == "g:UUID":
        value = value.get("@value")
    if not isinstance(value, str):
        raise RequestError("requestId must be a UUID")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise RequestError(f"requestId {value!r} is not a UUID") from None


# -- responses ------------------------------------------------------------------------------

class _IntIO(gb.IntIO):
    """Python ints: Int when they fit in 32 bits, else Long (gremlinpython would overflow)."""

    @classmethod
    def dictify(cls, obj: int, writer: Any, to_extend: bytearray, as_value: bool = False,
                nullable: bool = True) -> bytearray:
        if -2147483648 <= obj <= 2147483647:
            return gb.IntIO.dictify(obj, writer, to_extend, as_value, nullable)
        return gb.LongIO.dictify(obj, writer, to_extend, as_value, nullable)


_BINARY_WRITER = gb.GraphBinaryWriter(serializer_map={int: _IntIO})
_EMPTY_MAP = b"\x00\x00\x00\x00"


def encode_graphbinary_response(request_id: str | None, status: int, message: str | None,
                                data: Any, attributes: dict[str, Any] | None = None, traversers: bool = False) -> bytes:
    """A GraphBinary response message (what ``GraphBinarySerializersV1.deserialize_message`` reads).

    ``traversers``: ``data`` is a list of results, each written as a Traverser of bulk 1.
    """
    out = bytearray(b"\x81")
    if request_id is None:
        out += b"\x01"
    else:
        out += b"\x00"
        out += uuid.UUID(request_id).bytes
    out += _I32.pack(status)
    if message is None:
        out += b"\x01"
    else:
        gb.StringIO.dictify(message, _BINARY_WRITER, out, True, True)
    if attributes:
        gb.MapIO.dictify(attributes, _BINARY_WRITER, out, True, False)
    else:
        out += _EMPTY_MAP
    out += _EMPTY_MAP
    if traversers:
        write_traversers(data, out)
    else:
        write_binary(data, out)
    return bytes(out)


def graphson_value(data: Any) -> Any:
    return write_graphson(data)


def encode_graphson_response(request_id: str | None, status: int, message: str, data: Any,
                             attributes: dict[str, Any] | None = None) -> str:
    """A GraphSON 3 response message (``GraphSONMessageSerializer.deserialize_message``)."""
    document = {
        "requestId": request_id,
        "status": {"message": message, "code": status, "attributes": graphson_value(attributes or {})},
        "result": {"data": None if data is None else graphson_value(data), "meta": {"@type": "g:Map", "@value": []}},
    }
    return json.dumps(document, separators=(",", ":"))
