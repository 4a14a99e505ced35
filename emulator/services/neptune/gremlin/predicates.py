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
from collections.abc import Callable
from typing import Any

import re2

from emulator.services.neptune.gremlin.bytecode import Pred
from emulator.services.neptune.gremlin.gtypes import type_test

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


_RANKS: dict[type, int] = {type(None): 0, bool: 1, int: 2, float: 2, dt.datetime: 3, str: 4}


def sort_key(value: Any) -> tuple[int, Any]:
    """A key that orders mixed values the way ``order()`` does: nulls, booleans, numbers, dates, strings, rest."""
    rank = _RANKS.get(type(value))
    if rank is None:
        if isinstance(value, bool):
            rank = 1
        elif isinstance(value, int | float):
            rank = 2
        elif isinstance(value, str):
            rank = 4
        elif isinstance(value, dt.datetime):
            return 3, value.timestamp() if value.tzinfo else value.replace(tzinfo=dt.UTC).timestamp()
        else:
            element_id = getattr(value, "id", None)
            if isinstance(element_id, str):
                return 5, element_id
            return 6, repr(value)
    if rank == 0:
        return 0, 0
    if rank == 3:
        return 3, value.timestamp() if value.tzinfo else value.replace(tzinfo=dt.UTC).timestamp()
    return rank, value


def _ordered(op: str, other: Any) -> Predicate:
    def test(value: Any) -> bool:
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
