"""Gremlin value comparison, ordering and the ``P``/``TextP`` predicates.

Follows TinkerPop's comparability rules (https://tinkerpop.apache.org/docs/3.7.0/dev/provider/#gremlin-semantics):
numbers compare by value whatever their type, booleans are not numbers, values of different
kinds are never equal and never ordered (a comparison that would be an error is false in a filter).

``TextP.regex`` runs on RE2 (google-re2), whose matching time is linear in the text whatever the
pattern, so ``^(a+)+$`` cannot stall a request; it matches anywhere in the value (TinkerPop's
``Matcher.find()``; anchor with ``^``/``$`` for a full match). RE2 has no backreferences or
lookaround: such a pattern is refused as invalid.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import math
import uuid
from collections.abc import Callable
from typing import Any

import re2

from emulator.services.neptune.gremlin.bytecode import Pred
from emulator.services.neptune.gremlin.gtypes import type_test
from emulator.services.neptune.store import EdgeRecord, VertexRecord

Predicate = Callable[[Any], bool]

#: cap on a ``TextP.regex`` pattern, so a hostile request cannot make us compile huge expressions
MAX_REGEX_LENGTH = 1000


class PredicateError(ValueError):
    """A predicate was built with arguments it cannot use."""


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)


def values_equal(a: Any, b: Any) -> bool:
    """Gremlin equality: ``1 == 1.0``, ``True != 1``, elements by identity, collections deeply."""
    if a is b:
        return True
    if is_number(a):
        return is_number(b) and a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return len(a) == len(b) and all(k in b and values_equal(v, b[k]) for k, v in a.items())
    if type(a) is not type(b) and not (isinstance(a, str) and isinstance(b, str)):
        return False
    return bool(a == b)


def compare(a: Any, b: Any) -> int | None:
    """-1, 0 or 1, or ``None`` when the two values are not comparable."""
    if is_number(a) and is_number(b) or isinstance(a, str) and isinstance(b, str) \
            or isinstance(a, dt.datetime) and isinstance(b, dt.datetime) \
            or isinstance(a, bool) and isinstance(b, bool):
        try:
            return -1 if a < b else (1 if a > b else 0)
        except TypeError:  # naive vs aware datetimes
            return None
    return None


# TinkerPop's orderability: the type groups in the order ``order()`` puts them
# (https://tinkerpop.apache.org/docs/3.7.0/dev/provider/#gremlin-semantics-orderability)
(_NULL, _BOOLEAN, _NUMBER, _DATE, _STRING, _UUID, _VERTEX, _EDGE, _VERTEX_PROPERTY, _PROPERTY, _PATH, _SET, _LIST,
 _MAP, _UNKNOWN) = range(15)

#: how the traversal objects defined above this module (the engine's Path and property) order
ORDER_KEYS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def _timestamp(value: dt.datetime) -> float:
    return value.timestamp() if value.tzinfo else value.replace(tzinfo=dt.UTC).timestamp()


def sort_key(value: Any) -> tuple[Any, ...]:
    """A key that orders any mix of values the way ``order()`` does.

    Type groups first (nulls, booleans, numbers, dates, strings, UUIDs, vertices, edges, vertex properties,
    properties, paths, sets, lists, maps, the rest); inside a group by value: NaN after every other number,
    elements by id, properties by key then value, collections item by item (sets and maps sorted first).
    """
    if value is None:
        return (_NULL,)
    if isinstance(value, bool):
        return _BOOLEAN, value
    if is_number(value):
        return (_NUMBER, 1, 0) if isinstance(value, float) and math.isnan(value) else (_NUMBER, 0, value)
    if isinstance(value, dt.datetime):
        return _DATE, _timestamp(value)
    if isinstance(value, str):
        return _STRING, value
    if isinstance(value, enum.Enum):  # T.id, T.label (elementMap keys) order among the string keys by name
        return _STRING, value.name
    if isinstance(value, uuid.UUID):
        return _UUID, str(value)
    if isinstance(value, VertexRecord):
        return _VERTEX, sort_key(value.id)
    if isinstance(value, EdgeRecord):
        return _EDGE, sort_key(value.id)
    custom = ORDER_KEYS.get(type(value))
    if custom is not None:
        return custom(value)
    if isinstance(value, set | frozenset):
        return _SET, tuple(sorted(sort_key(item) for item in value))
    if isinstance(value, list | tuple):
        return _LIST, tuple(sort_key(item) for item in value)
    if isinstance(value, dict):
        return _MAP, tuple(sorted((sort_key(k), sort_key(v)) for k, v in value.items()))
    return _UNKNOWN, repr(value)


def property_sort_key(key: str, value: Any, on_vertex: bool) -> tuple[Any, ...]:
    """Where a property goes in ``order()``: after the elements, by key then value."""
    return (_VERTEX_PROPERTY if on_vertex else _PROPERTY), key, sort_key(value)


def path_sort_key(objects: list[Any]) -> tuple[Any, ...]:
    return _PATH, tuple(sort_key(item) for item in objects)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _ordered(op: str, other: Any) -> Predicate:
    def test(value: Any) -> bool:
        if value is None and other is None:  # null is comparable with null: lte/gte hold, lt/gt do not
            return op in ("lte", "gte")
        if _is_nan(value) or _is_nan(other):  # NaN is not ordered against any number, itself included
            return False
        result = compare(value, other)
        if result is None:
            return False
        if op == "lt":
            return result < 0
        if op == "lte":
            return result <= 0
        if op == "gt":
            return result > 0
        return result >= 0

    return test


def compile_predicate(pred: Pred) -> Predicate:
    """Turn a :class:`Pred` into a one-argument test.

    Raises:
        PredicateError: wrong number or kind of arguments.
    """
    op, args = pred.op, pred.args
    if pred.text:
        return _compile_text(op, args)
    if op in ("and", "or"):
        if len(args) != 2 or not all(isinstance(a, Pred) for a in args):
            raise PredicateError(f"P.{op} needs two predicates")
        left, right = compile_predicate(args[0]), compile_predicate(args[1])
        if op == "and":
            return lambda v: left(v) and right(v)
        return lambda v: left(v) or right(v)
    if op == "not":
        if len(args) != 1 or not isinstance(args[0], Pred):
            raise PredicateError("P.not needs a predicate")
        inner = compile_predicate(args[0])
        return lambda v: not inner(v)
    if op in ("within", "without"):
        members = args[0] if len(args) == 1 and isinstance(args[0], list | tuple | set) else args
        members = list(members)
        if op == "within":
            return lambda v: any(values_equal(v, m) for m in members)
        return lambda v: not any(values_equal(v, m) for m in members)
    if op in ("inside", "outside", "between"):
        if len(args) != 2:
            raise PredicateError(f"P.{op} needs two values")
        low, high = args
        if op == "between":
            return lambda v: _ordered("gte", low)(v) and _ordered("lt", high)(v)
        if op == "inside":
            return lambda v: _ordered("gt", low)(v) and _ordered("lt", high)(v)
        return lambda v: _ordered("lt", low)(v) or _ordered("gt", high)(v)
    if op == "typeOf":
        try:
            return type_test(args)
        except ValueError as error:
            raise PredicateError(str(error)) from None
    if len(args) != 1:
        raise PredicateError(f"P.{op} needs one value")
    other = args[0]
    if op == "eq":
        return lambda v: values_equal(v, other)
    if op == "neq":
        return lambda v: not values_equal(v, other)
    if op in ("lt", "lte", "gt", "gte"):
        return _ordered(op, other)
    raise PredicateError(f"P.{op} is not supported")


def _regex_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a bad pattern is the client's error, answered, not logged by RE2
    options.never_capture = True  # groups are never read: matching without them is faster
    return options


_REGEX_OPTIONS = _regex_options()


def compile_regex(op: str, text: str) -> Any:
    """An RE2 pattern for ``TextP.regex``/``notRegex``; raises PredicateError for what RE2 can not compile."""
    try:
        return re2.compile(text, _REGEX_OPTIONS)
    except re2.error as error:
        reason = error.args[0].decode(errors="replace") if error.args and isinstance(error.args[0], bytes) \
            else str(error)
        raise PredicateError(f"TextP.{op}: invalid pattern {text!r}: {reason} (patterns are RE2 syntax: "
                             "no backreferences or lookaround)") from None


def _compile_text(op: str, args: list[Any]) -> Predicate:
    if len(args) != 1 or not isinstance(args[0], str):
        raise PredicateError(f"TextP.{op} needs one string")
    text = args[0]
    if op in ("regex", "notRegex"):
        if len(text) > MAX_REGEX_LENGTH:
            raise PredicateError(f"TextP.{op} pattern longer than {MAX_REGEX_LENGTH} characters")
        pattern = compile_regex(op, text)
        if op == "regex":
            return lambda v: isinstance(v, str) and pattern.search(v) is not None
        return lambda v: isinstance(v, str) and pattern.search(v) is None
    checks: dict[str, Callable[[str], bool]] = {
        "containing": lambda v: text in v,
        "notContaining": lambda v: text not in v,
        "startingWith": lambda v: v.startswith(text),
        "notStartingWith": lambda v: not v.startswith(text),
        "endingWith": lambda v: v.endswith(text),
        "notEndingWith": lambda v: not v.endswith(text),
    }
    check = checks[op]
    return lambda v: isinstance(v, str) and check(v)
