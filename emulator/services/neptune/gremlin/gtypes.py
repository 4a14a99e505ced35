"""``P.typeOf(GType.X)``: what Gremlin type a value is.

A value here is a Python value standing for a Java one (https://tinkerpop.apache.org/docs/3.8.0/reference/#a-note-on-predicates,
``GType``): a plain ``int`` is an Integer when it fits in 32 bits and a Long otherwise, gremlinpython's
``long``/``bigint``/``short``/``SingleByte`` keep their types, ``Float32`` is what ``asNumber(GType.FLOAT)``
makes, ``decimal.Decimal`` is a BigDecimal. ``typeOf`` also takes a Java class name (``"String"``,
``"java.lang.Integer"``); a name it does not know is an error.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable
from typing import Any

from gremlin_python.statics import SingleByte, SingleChar, bigint, long, short

from emulator.services.neptune.gremlin.bytecode import Sym
from emulator.services.neptune.store import EdgeRecord, VertexRecord


class Float32(float):
    """A float that is a Java Float (``asNumber(GType.FLOAT)``), not a Double."""


class OrderedSet(list):
    """A Set that keeps its order, as Java's LinkedHashSet does (a map's ``select(keys)``); written as a Set."""


class Tree(dict):
    """What ``tree()`` gives: each path's objects nested, ``{root: {child: {...}}}``; written as a map of maps."""


class FrozenMap(dict):
    """A map used as a map key (``group().by(project(...))``): a dict that hashes by its content.

    Keys must not change once it is a key; on the wire it is gremlinpython's HashableDict.
    """

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple((key, _content_hash(value)) for key, value in self.items()))


def _content_hash(value: Any) -> Any:
    try:
        return hash(value)
    except TypeError:  # a list or map value: its repr stands for it (equal content, equal repr)
        return repr(value)


class SubGraph:
    """What ``subgraph(key)`` builds: the edges it saw and their end vertices (TinkerPop gives a TinkerGraph).

    gremlinpython has no Graph type to read one into, so it is a value inside a traversal only
    (``typeOf(GType.GRAPH)``, ``count()``); returning it is refused.
    """

    __slots__ = ("vertices", "edges")

    def __init__(self) -> None:
        self.vertices: dict[str, VertexRecord] = {}
        self.edges: dict[str, EdgeRecord] = {}

    def add_edge(self, edge: EdgeRecord) -> None:
        self.edges[edge.id] = edge
        self.vertices[edge.out_v.id] = edge.out_v
        self.vertices[edge.in_v.id] = edge.in_v


class BulkSet(list):
    """What ``aggregate()`` collects: TinkerPop's BulkSet, a Set that counts repeats.

    It is a Set to ``typeOf(GType.SET)``, and goes on the wire as the list of its members, repeats
    included (gremlinpython reads a BulkSet as that list).
    """


def _is_int(value: Any) -> bool:
    return type(value) is int and -2**31 <= value < 2**31


def _is_long(value: Any) -> bool:
    return type(value) is long or (type(value) is int and not -2**31 <= value < 2**31)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)


def _property(value: Any, of_vertex: bool | None) -> bool:
    # a PropRef, known by its shape: the engine (where PropRef lives) imports the predicates that use this module
    element = getattr(value, "element", None)
    if not isinstance(element, VertexRecord | EdgeRecord) or not hasattr(value, "key"):
        return False
    return of_vertex is None or isinstance(element, VertexRecord) == of_vertex


GTYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "NULL": lambda v: v is None,
    "BOOLEAN": lambda v: isinstance(v, bool),
    "BYTE": lambda v: isinstance(v, SingleByte),
    "SHORT": lambda v: isinstance(v, short),
    "INT": _is_int,
    "LONG": _is_long,
    "BIGINT": lambda v: isinstance(v, bigint),
    "FLOAT": lambda v: isinstance(v, Float32),
    "DOUBLE": lambda v: type(v) is float,
    "BIGDECIMAL": lambda v: isinstance(v, decimal.Decimal),
    "NUMBER": _is_number,
    "STRING": lambda v: isinstance(v, str) and not isinstance(v, SingleChar),
    "CHAR": lambda v: isinstance(v, SingleChar),
    "UUID": lambda v: isinstance(v, uuid.UUID),
    "DATETIME": lambda v: isinstance(v, dt.datetime),
    "DURATION": lambda v: isinstance(v, dt.timedelta),
    "BINARY": lambda v: isinstance(v, bytes | bytearray),
    "LIST": lambda v: isinstance(v, list | tuple) and not isinstance(v, OrderedSet | BulkSet),
    "SET": lambda v: isinstance(v, set | frozenset | OrderedSet | BulkSet),
    "MAP": lambda v: isinstance(v, dict),
    "VERTEX": lambda v: isinstance(v, VertexRecord),
    "EDGE": lambda v: isinstance(v, EdgeRecord),
    "VPROPERTY": lambda v: _property(v, True),
    "PROPERTY": lambda v: _property(v, None),
    "PATH": lambda v: type(v).__name__ == "Path",
    "TREE": lambda v: isinstance(v, Tree),
    "GRAPH": lambda v: isinstance(v, SubGraph),
}

#: Java class names (simple or qualified) typeOf() accepts, and the GType each one is
JAVA_CLASSES: dict[str, str] = {
    "String": "STRING", "Integer": "INT", "Long": "LONG", "Short": "SHORT", "Byte": "BYTE", "Double": "DOUBLE",
    "Float": "FLOAT", "Boolean": "BOOLEAN", "Character": "CHAR", "BigInteger": "BIGINT", "BigDecimal": "BIGDECIMAL",
    "Number": "NUMBER", "UUID": "UUID", "OffsetDateTime": "DATETIME", "Date": "DATETIME", "Duration": "DURATION",
    "List": "LIST", "ArrayList": "LIST", "Set": "SET", "HashSet": "SET", "LinkedHashSet": "SET", "Map": "MAP",
    "HashMap": "MAP", "LinkedHashMap": "MAP", "Vertex": "VERTEX", "Edge": "EDGE", "VertexProperty": "VPROPERTY",
    "Property": "PROPERTY", "Path": "PATH", "Tree": "TREE", "Graph": "GRAPH",
}


def type_test(args: list[Any]) -> Callable[[Any], bool]:
    """The test of ``P.typeOf(arg)``.

    Raises:
        ValueError: no argument, or a type name that is not a GType or a known Java class.
    """
    if len(args) != 1:
        raise ValueError("P.typeOf needs one GType or type name")
    arg = args[0]
    if isinstance(arg, Sym) and arg.kind == "GType":
        name = arg.name.upper()
    elif isinstance(arg, str):
        name = JAVA_CLASSES.get(arg.rsplit(".", 1)[-1], "")
    else:
        name = ""
    test = GTYPE_TESTS.get(name)
    if test is None:
        raise ValueError(f"P.typeOf: {arg!r} is not a GType or a type name this server knows")
    return test
