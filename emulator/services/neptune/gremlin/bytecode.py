"""Request-side Gremlin values, independent of the wire format.

The GraphBinary and GraphSON decoders and the Gremlin-language parser all produce these, and
the interpreter consumes only these, so a traversal means the same thing whichever way it came.
See https://tinkerpop.apache.org/docs/3.7.0/dev/io/#graphbinary (bytecode, P, enums).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: enum families TinkerPop sends as symbols, with the names each one allows
ENUMS: dict[str, frozenset[str]] = {
    "T": frozenset({"id", "label", "key", "value"}),
    "Direction": frozenset({"OUT", "IN", "BOTH", "from", "to"}),
    "Order": frozenset({"asc", "desc", "shuffle", "incr", "decr"}),
    "Scope": frozenset({"local", "global"}),
    "Column": frozenset({"keys", "values"}),
    "Pop": frozenset({"first", "last", "all", "mixed"}),
    "Cardinality": frozenset({"single", "set", "list"}),
    "Merge": frozenset({"onCreate", "onMatch", "outV", "inV"}),
    "Operator": frozenset({"sum", "minus", "mult", "div", "min", "max", "assign", "and", "or", "addAll", "sumLong"}),
    "Barrier": frozenset({"normSack"}),
    "Pick": frozenset({"any", "none", "unproductive"}),
    "DT": frozenset({"second", "minute", "hour", "day"}),
    "GType": frozenset(),
}

#: the predicate names of ``P`` and ``TextP``
P_OPERATORS = frozenset({"eq", "neq", "lt", "lte", "gt", "gte", "inside", "outside", "between",
                         "within", "without", "and", "or", "not", "test", "typeOf"})
TEXTP_OPERATORS = frozenset({"containing", "notContaining", "startingWith", "notStartingWith",
                             "endingWith", "notEndingWith", "regex", "notRegex"})


class RequestError(ValueError):
    """A request value could not be decoded into a traversal argument."""


@dataclass(frozen=True)
class Sym:
    """An enum constant such as ``T.id`` (``Sym("T", "id")``) or ``Order.desc``."""

    kind: str
    name: str

    def __post_init__(self) -> None:
        allowed = ENUMS.get(self.kind)
        if allowed is None:
            raise RequestError(f"unknown enum type {self.kind}")
        if allowed and self.name not in allowed:
            raise RequestError(f"unknown {self.kind} value {self.name!r}")

    def __repr__(self) -> str:
        return f"{self.kind}.{self.name}"


def sym(kind: str, name: str) -> Sym:
    """Build a :class:`Sym`, mapping old spellings (``incr``/``decr``) to today's."""
    if kind == "Order" and name in ("incr", "decr"):
        name = "asc" if name == "incr" else "desc"
    return Sym(kind, name)


@dataclass
class Pred:
    """A ``P`` or ``TextP`` predicate: ``Pred("gt", [30])``, ``Pred("and", [Pred, Pred])``."""

    op: str
    args: list[Any]
    text: bool = False

    def __post_init__(self) -> None:
        known = TEXTP_OPERATORS if self.text else P_OPERATORS
        if self.op not in known:
            raise RequestError(f"unknown {'TextP' if self.text else 'P'} predicate {self.op!r}")


@dataclass
class Bytecode:
    """A traversal as instructions: ``steps`` and ``sources`` are ``[(name, [args])]``."""

    steps: list[tuple[str, list[Any]]] = field(default_factory=list)
    sources: list[tuple[str, list[Any]]] = field(default_factory=list)


@dataclass
class Lambda:
    """A lambda as sent by a client; never executed, only refused."""

    script: str
    language: str


@dataclass
class Strategy:
    """A traversal strategy (``OptionsStrategy`` carries ``batchSize`` and friends)."""

    name: str
    config: dict[str, Any]


@dataclass
class CardinalityValue:
    """``Cardinality.single("x")`` inside a ``mergeV`` map."""

    cardinality: str
    value: Any


@dataclass
class ClassRef:
    """A Java class name (``g:Class``)."""

    name: str
