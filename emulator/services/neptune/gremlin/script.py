"""A parser for Gremlin scripts (the traversal subset of the Gremlin language), never ``eval``.

Scripts arrive as text on ``POST /gremlin`` and in websocket ``eval`` requests. This module
tokenizes and parses them with a small recursive-descent parser, following the shape of
TinkerPop's ``Gremlin.g4`` grammar (https://tinkerpop.apache.org/docs/3.7.0/dev/developer/#gremlin-language):
``g`` followed by source and step calls, literals (strings, numbers with ``L``/``d``/``f`` suffixes,
booleans, ``null``, lists ``[a, b]``, maps ``[k: v]``), enums (``T.id``, ``desc``…), predicates
(``P.gt(1)``, ``within(…)``, ``TextP.containing(…)``), anonymous traversals (``__.out()`` or bare
``out()``), bindings, and a final ``toList()``/``next()``/``iterate()``. Anything else is a
:class:`~emulator.services.neptune.errors.MalformedQuery`. The result is the same :class:`Bytecode` a
driver sends, run by the same interpreter.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gremlin_python.statics import long

from emulator.services.neptune.errors import MalformedQuery
from emulator.services.neptune.gremlin.bytecode import (
    ENUMS,
    P_OPERATORS,
    TEXTP_OPERATORS,
    Bytecode,
    CardinalityValue,
    Pred,
    RequestError,
    Sym,
    sym,
)
from emulator.services.neptune.gremlin.traversal import execute, execute_stream
from emulator.services.neptune.store import GraphStore

MAX_SCRIPT_LENGTH = 1_000_000
MAX_DEPTH = 100

_TOKEN = re.compile(r"""
    (?P<ws>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<number>-?(?:\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+)[lLdDfFiImMnN]?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<punct>[.,()\[\]:;])
""", re.VERBOSE | re.DOTALL)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\", "$": "$"}

#: bare words that mean an enum value when not called like a step
_BARE_ENUMS: dict[str, Sym] = {
    "id": Sym("T", "id"), "label": Sym("T", "label"), "key": Sym("T", "key"), "value": Sym("T", "value"),
    "asc": Sym("Order", "asc"), "desc": Sym("Order", "desc"), "shuffle": Sym("Order", "shuffle"),
    "incr": Sym("Order", "asc"), "decr": Sym("Order", "desc"),
    "local": Sym("Scope", "local"), "global": Sym("Scope", "global"),
    "keys": Sym("Column", "keys"), "values": Sym("Column", "values"),
    "single": Sym("Cardinality", "single"), "set": Sym("Cardinality", "set"), "list": Sym("Cardinality", "list"),
    "first": Sym("Pop", "first"), "last": Sym("Pop", "last"), "all": Sym("Pop", "all"), "mixed": Sym("Pop", "mixed"),
    "OUT": Sym("Direction", "OUT"), "IN": Sym("Direction", "IN"), "BOTH": Sym("Direction", "BOTH"),
    "onCreate": Sym("Merge", "onCreate"), "onMatch": Sym("Merge", "onMatch"),
    "outV": Sym("Merge", "outV"), "inV": Sym("Merge", "inV"),
}
_WITH_OPTIONS: dict[str, Any] = {"tokens": "~tinkerpop.valueMap.tokens", "none": 0, "ids": 1, "labels": 2,
                                 "keys": 4, "values": 8, "all": 15, "indexer": "~tinkerpop.index.indexer",
                                 "list": 0, "map": 1}
_TERMINALS = frozenset({"toList", "next", "iterate", "toSet", "hasNext", "tryNext", "toBulkSet"})
_STEPS_THAT_ARE_PREDICATES = frozenset({"not", "and", "or"})


@dataclass
class Token:
    kind: str
    text: str
    pos: int


def tokenize(script: str) -> list[Token]:
    """Split a script into tokens; raises MalformedQuery on any character outside the language."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(script):
        match = _TOKEN.match(script, pos)
        if match is None:
            raise MalformedQuery(f"Failed to interpret Gremlin query: unexpected character {script[pos]!r} "
                                 f"at position {pos}")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(script)))
    return tokens


def _unquote(text: str) -> str:
    body = text[1:-1]
    out = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            nxt = body[index + 1]
            if nxt == "u" and index + 5 < len(body):
                out.append(chr(int(body[index + 2:index + 6], 16)))
                index += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _number(text: str) -> Any:
    suffix = text[-1] if text[-1].isalpha() and text[-1] not in "eE" else ""
    body = text[:-1] if suffix else text
    if suffix in ("l", "L"):
        return long(int(body))
    if suffix in ("d", "D", "f", "F", "m", "M") or "." in body or "e" in body or "E" in body:
        return float(body)
    return int(body)


class Parser:
    """Recursive descent over the tokens of one script."""

    def __init__(self, script: str, bindings: dict[str, Any]) -> None:
        if len(script) > MAX_SCRIPT_LENGTH:
            raise MalformedQuery(f"Query is longer than {MAX_SCRIPT_LENGTH} characters")
        self.tokens = tokenize(script)
        self.index = 0
        self.bindings = bindings
        self.depth = 0

    # -- token helpers -----------------------------------------------------------------
    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def next(self) -> Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def at(self, text: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token.kind in ("punct", "name") and token.text == text

    def expect(self, text: str) -> Token:
        token = self.next()
        if token.text != text or token.kind not in ("punct", "name"):
            self.fail(token, f"expected {text!r}")
        return token

    def fail(self, token: Token, message: str) -> None:
        found = "end of query" if token.kind == "end" else repr(token.text)
        raise MalformedQuery(f"Failed to interpret Gremlin query: {message}, found {found} at position {token.pos}")

    # -- grammar -----------------------------------------------------------------------
    def script(self) -> tuple[Bytecode, str | None, list[Any]]:
        """Statements separated by ``;``; the last one's traversal and terminal are returned."""
        result: tuple[Bytecode, str | None, list[Any]] | None = None
        while self.peek().kind != "end":
            if self.at(";"):
                self.next()
                continue
            result = self.statement()
            if not self.at(";") and self.peek().kind != "end":
                self.fail(self.peek(), "expected ';' or end of query")
        if result is None:
            raise MalformedQuery("Failed to interpret Gremlin query: the query is empty")
        return result

    def statement(self) -> tuple[Bytecode, str | None, list[Any]]:
        token = self.next()
        if token.kind != "name" or token.text != "g":
            self.fail(token, "a query must start with 'g'")
        bytecode = Bytecode()
        in_source = True
        terminal: str | None = None
        terminal_args: list[Any] = []
        while self.at("."):
            self.next()
            name_token = self.next()
            if name_token.kind != "name":
                self.fail(name_token, "expected a step name")
            name = _step_name(name_token.text)
            args = self.call_args()
            if name in _TERMINALS:
                terminal, terminal_args = name, args
                if self.at("."):
                    self.fail(self.peek(), f"nothing may follow {name}()")
                break
            if in_source and (name.startswith("with") or name == "tx"):
                bytecode.sources.append((name, args))
            else:
                in_source = False
                bytecode.steps.append((name, args))
        return bytecode, terminal, terminal_args

    def call_args(self) -> list[Any]:
        self.expect("(")
        args: list[Any] = []
        if self.at(")"):
            self.next()
            return args
        while True:
            args.append(self.expression())
            if self.at(","):
                self.next()
                continue
            self.expect(")")
            return args

    def expression(self) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise MalformedQuery("Failed to interpret Gremlin query: nested too deeply")
        try:
            return self._expression()
        finally:
            self.depth -= 1

    def _expression(self) -> Any:  # noqa: C901 - one branch per kind of literal
        token = self.peek()
        if token.kind == "number":
            self.next()
            return _number(token.text)
        if token.kind == "string":
            self.next()
            return _unquote(token.text)
        if token.kind == "punct" and token.text == "[":
            return self.collection()
        if token.kind == "punct" and token.text == "(":
            self.next()
            value = self.expression()
            self.expect(")")
            return value
        if token.kind != "name":
            self.fail(token, "expected a value")
        name = token.text
        if name in ("true", "false"):
            self.next()
            return name == "true"
        if name == "null":
            self.next()
            return None
        if name == "__":
            self.next()
            return self.anonymous()
        if name in ("P", "TextP") and self.at(".", 1):
            self.next()
            self.next()
            op = self.next()
            return self.predicate(op.text, text=name == "TextP")
        if name == "WithOptions" and self.at(".", 1):
            self.next()
            self.next()
            option = self.next().text
            if option not in _WITH_OPTIONS:
                self.fail(token, f"unknown WithOptions.{option}")
            return _WITH_OPTIONS[option]
        if name in ENUMS and self.at(".", 1):
            self.next()
            self.next()
            member = self.next().text.rstrip("_")
            if name == "Cardinality" and self.at("("):
                args = self.call_args()
                if len(args) != 1:
                    self.fail(token, "Cardinality.x(value) takes one value")
                return CardinalityValue(member, args[0])
            try:
                return sym(name, "from" if member == "from" else member)
            except RequestError as error:
                raise MalformedQuery(f"Failed to interpret Gremlin query: {error}") from None
        if name == "datetime" and self.at("(", 1):
            self.next()
            args = self.call_args()
            if len(args) != 1 or not isinstance(args[0], str):
                self.fail(token, "datetime() takes one ISO-8601 string")
            try:
                return dt.datetime.fromisoformat(args[0].replace("Z", "+00:00"))
            except ValueError:
                raise MalformedQuery(f"Failed to interpret Gremlin query: bad datetime {args[0]!r}") from None
        if self.at("(", 1):
            if name in (P_OPERATORS | TEXTP_OPERATORS) and name not in _STEPS_THAT_ARE_PREDICATES:
                self.next()
                return self.predicate(name, text=name in TEXTP_OPERATORS)
            return self.anonymous()
        if name in self.bindings:
            self.next()
            return self.bindings[name]
        if name in _BARE_ENUMS:
            self.next()
            return _BARE_ENUMS[name]
        self.fail(token, "unknown name")
        return None

    def predicate(self, op: str, text: bool) -> Pred:
        args = self.call_args()
        if op in ("within", "without") and len(args) == 1 and isinstance(args[0], list):
            args = list(args[0])
        try:
            return Pred(op, args, text=text)
        except RequestError as error:
            raise MalformedQuery(f"Failed to interpret Gremlin query: {error}") from None

    def anonymous(self) -> Bytecode:
        """``__.out().values('x')`` or a bare ``out().values('x')``."""
        bytecode = Bytecode()
        if self.at("."):
            self.next()
        while True:
            token = self.next()
            if token.kind != "name":
                self.fail(token, "expected a step name")
            bytecode.steps.append((_step_name(token.text), self.call_args()))
            if not self.at("."):
                return bytecode
            self.next()

    def collection(self) -> Any:
        """``[a, b]`` is a list, ``[k: v]`` a map, ``[:]`` the empty map."""
        self.expect("[")
        if self.at(":") and self.at("]", 1):
            self.next()
            self.next()
            return {}
        if self.at("]"):
            self.next()
            return []
        items: list[Any] = []
        mapping: dict[Any, Any] | None = None
        while True:
            key_token = self.peek()
            if key_token.kind == "name" and self.at(":", 1) and key_token.text not in ENUMS:
                self.next()
                key: Any = key_token.text
                if key in self.bindings:
                    key = self.bindings[key]
            else:
                key = self.expression()
            if self.at(":"):
                self.next()
                if mapping is None:
                    if items:
                        self.fail(self.peek(), "a list cannot become a map")
                    mapping = {}
                try:
                    mapping[key] = self.expression()
                except TypeError:
                    raise MalformedQuery("Failed to interpret Gremlin query: map keys must be values") from None
            elif mapping is not None:
                self.fail(self.peek(), "expected ':' in a map")
            else:
                items.append(key)
            if self.at(","):
                self.next()
                continue
            self.expect("]")
            return mapping if mapping is not None else items


def _step_name(name: str) -> str:
    """Accept Python-style names too (``as_``, ``in_``, ``from_``...)."""
    return name[:-1] if name.endswith("_") and len(name) > 1 else name


def parse(script: str, bindings: dict[str, Any] | None = None) -> tuple[Bytecode, str | None, list[Any]]:
    """Parse a script into (bytecode, terminal method or None, terminal args)."""
    return Parser(script, bindings or {}).script()


#: picks the graph a parsed traversal runs on (the graph server's picks a snapshot for read-only ones)
GraphFor = Callable[[Bytecode], Any]


def stream_script(store: GraphStore, script: str, bindings: dict[str, Any] | None = None,
                  timeout_ms: float | None = None, graph_for: GraphFor | None = None) -> Iterator[Any]:
    """Parse and run a script, yielding results as they come (``toList()`` or no terminal)."""
    bytecode, terminal, _ = parse(script, bindings)
    if terminal not in (None, "toList"):
        yield from run_script(store, script, bindings, timeout_ms, graph_for)
        return
    yield from execute_stream(graph_for(bytecode) if graph_for else store, bytecode, timeout_ms)


def run_script(store: GraphStore, script: str, bindings: dict[str, Any] | None = None,
               timeout_ms: float | None = None, graph_for: GraphFor | None = None) -> list[Any]:
    """Parse and run a script; the results a Gremlin Server would return for it."""
    bytecode, terminal, args = parse(script, bindings)
    results = execute(graph_for(bytecode) if graph_for else store, bytecode, timeout_ms)
    if terminal == "iterate":
        return []
    if terminal in ("next", "tryNext"):
        count = args[0] if args and isinstance(args[0], int) else None
        return results[:count] if count is not None else results[:1]
    if terminal == "hasNext":
        return [bool(results)]
    if terminal == "toSet":
        unique: list[Any] = []
        for item in results:
            if item not in unique:
                unique.append(item)
        return unique
    return results
