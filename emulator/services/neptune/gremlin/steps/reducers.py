"""Collection and reducing steps: count, fold/unfold, sum/min/max/mean, order, group, groupCount.

Global scope reduces the whole stream (a barrier); ``Scope.local`` reduces each traverser's own
collection (https://tinkerpop.apache.org/docs/3.7.0/reference/#a-note-on-scopes).
"""

from __future__ import annotations

import copy
import decimal
from collections.abc import Iterator
from typing import Any

from gremlin_python.statics import long

from emulator.services.neptune.errors import IllegalArgument, MalformedQuery
from emulator.services.neptune.gremlin.engine import (
    NOVALUE,
    By,
    Context,
    Step,
    Traverser,
    collection_items,
    describe,
    freeze,
    is_sym,
    register,
    run_steps,
    select_value,
)
from emulator.services.neptune.gremlin.gtypes import FrozenMap
from emulator.services.neptune.gremlin.predicates import compare, is_number, sort_key
from emulator.services.neptune.gremlin.steps.filters import _scope


@register("count")
class CountStep(Step):
    reducing = True
    bulk_aware = True

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.local, _ = _scope(args)

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.local:
            for trav in it:
                items = collection_items(trav.obj)
                yield trav.split(long(1 if items is None else len(items)))
            return
        total = 0
        for trav in it:
            total += trav.bulk
        yield Traverser(long(total))


def _operator(name: str) -> Any:
    """An ``Operator`` as a two-argument function (https://tinkerpop.apache.org/docs/3.7.0/reference/#operator)."""

    def add_all(a: Any, b: Any) -> Any:
        if isinstance(a, dict) and isinstance(b, dict):
            return {**a, **b}
        if isinstance(a, list | tuple) and isinstance(b, list | tuple):
            return [*a, *b]
        if isinstance(a, set) and isinstance(b, set | list | tuple):
            return a | set(b)
        raise IllegalArgument(f"Operator.addAll needs two collections, got {describe(a)} and {describe(b)}")

    def numbers(fn: Any) -> Any:
        def apply(a: Any, b: Any) -> Any:
            if not is_number(a) or not is_number(b):
                raise IllegalArgument(f"Operator.{name} needs numbers, got {describe(a)} and {describe(b)}")
            return fn(a, b)
        return apply

    table = {
        "sum": numbers(lambda a, b: a + b), "sumLong": numbers(lambda a, b: long(a + b)),
        "minus": numbers(lambda a, b: a - b), "mult": numbers(lambda a, b: a * b),
        "div": numbers(lambda a, b: a // b if isinstance(a, int) and isinstance(b, int) else a / b),
        "min": numbers(min), "max": numbers(max), "assign": lambda a, b: b,
        "and": lambda a, b: bool(a) and bool(b), "or": lambda a, b: bool(a) or bool(b), "addAll": add_all,
    }
    return table[name]


@register("fold")
class FoldStep(Step):
    """``fold()`` into a list, or ``fold(seed, Operator)`` reducing the stream from the seed."""

    reducing = True

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.operator: Any = None
        if args:
            if len(args) != 2 or not is_sym(args[1], "Operator"):
                raise MalformedQuery("fold() takes no arguments, or a seed and an Operator")
            self.seed, self.operator = args[0], _operator(args[1].name)

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.operator is None:
            yield Traverser([t.obj for t in it])
            return
        value = copy.deepcopy(self.seed)
        for trav in it:
            value = self.operator(value, trav.obj)
        yield Traverser(value)


@register("unfold")
class UnfoldStep(Step):
    bulk_aware = True

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            items = collection_items(trav.obj)
            if items is None:
                yield trav
            else:
                for item in items:
                    yield trav.split(item)


def _numbers(values: list[Any], step: str) -> list[Any]:
    for value in values:
        if not is_number(value):
            raise IllegalArgument(f"{step}() needs numbers, got {describe(value)}")
    return values


def _sum(values: list[Any]) -> Any:
    """A sum that widens to BigDecimal when one is present, as Java's NumberHelper does."""
    if any(isinstance(v, decimal.Decimal) for v in values):
        return sum((v if isinstance(v, decimal.Decimal) else decimal.Decimal(str(v)) for v in values),
                   decimal.Decimal(0))
    return sum(values)


def _reduce(name: str, values: list[Any]) -> Any:
    if not values:
        return NOVALUE
    values = [v for v in values if v is not None]  # TinkerPop 3.8: the reducers skip nulls...
    if not values:
        return None  # ...and nulls alone reduce to null (nothing at all reduces to nothing)
    if name == "sum":
        return _sum(_numbers(values, name))
    if name == "mean":
        return float(_sum(_numbers(values, name))) / len(values)
    best = values[0]
    for value in values[1:]:
        result = compare(value, best)
        if result is None:
            raise IllegalArgument(f"{name}() cannot compare {describe(value)} with {describe(best)}")
        if (name == "min" and result < 0) or (name == "max" and result > 0):
            best = value
    return best


class ReduceStep(Step):
    """sum, min, max, mean."""

    reducing = True
    name_used = "sum"

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.local, _ = _scope(args)

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.local:
            for trav in it:
                items = collection_items(trav.obj)
                value = _reduce(self.name_used, [trav.obj] if items is None else items)
                if value is not NOVALUE:
                    yield trav.split(value)
            return
        value = _reduce(self.name_used, [t.obj for t in it])
        if value is not NOVALUE:
            yield Traverser(value)


for _name in ("sum", "min", "max", "mean"):
    register(_name)(type(f"ReduceStep_{_name}", (ReduceStep,), {"name_used": _name}))


def sort_traversers(ctx: Context, items: list[Any], bys: list[By], of: Any) -> list[Any]:
    """Sort ``items`` (objects) by the ``by()`` list; items without a by-value are dropped."""
    if not bys:
        bys = [By([], "order")]
    if any(by.order == "shuffle" for by in bys):
        items = list(items)
        ctx.rng.shuffle(items)
        return items
    keyed = []
    for item in items:
        keys = []
        for by in bys:
            value = by.value_of(ctx, item, of(item))
            if value is NOVALUE:
                break
            keys.append(sort_key(value))
        else:
            keyed.append((keys, item))
    for index in range(len(bys) - 1, -1, -1):
        keyed.sort(key=lambda pair, i=index: pair[0][i], reverse=bys[index].order == "desc")
    return [item for _, item in keyed]


@register("order")
class OrderStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.local, _ = _scope(args)
        self.bys: list[By] = []

    def modulate(self, name: str, args: list[Any]) -> None:
        if name != "by":
            super().modulate(name, args)
        self.bys.append(By(args, "order"))

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.local:
            for trav in it:
                obj = trav.obj
                if isinstance(obj, dict):
                    entries = sort_traversers(ctx, [{k: v} for k, v in obj.items()], self.bys, trav.split)
                    yield trav.split({k: v for entry in entries for k, v in entry.items()})
                    continue
                items = collection_items(obj)
                if items is None:
                    yield trav
                else:
                    yield trav.split(sort_traversers(ctx, items, self.bys, trav.split))
            return
        bys = [_lift(b) for b in self.bys] or [_lift(By([], "order"))]
        yield from sort_traversers(ctx, list(it), bys, lambda t: t)


class _TraverserBy(By):
    """A ``By`` applied to a traverser list item rather than to a bare object."""

    def value_of(self, ctx: Context, obj: Any, trav: Traverser) -> Any:
        return By.value(self, ctx, obj)


def _lift(by: By) -> By:
    lifted = _TraverserBy([], "order")
    lifted.kind, lifted.arg, lifted.steps, lifted.order = by.kind, by.arg, by.steps, by.order
    return lifted


def _group_value(ctx: Context, by: By | None, members: list[Traverser]) -> Any:
    """The value of one group: folded members, or the value ``by()`` reduced over them."""
    if by is None or by.kind == "identity":
        return [t.obj for t in members for _ in range(t.bulk)]
    if by.kind in ("traversal", "chain"):
        # the value traversal runs over the group's members; without a reducing end TinkerPop takes its first
        # result (group().by().by(out().order()) maps a vertex to one neighbour; no result drops the key)
        for result in run_steps(ctx, by.steps, iter(members)):
            return result.obj
        return NOVALUE
    values = []
    for trav in members:
        value = by.value(ctx, trav)
        if value is not NOVALUE:
            values.extend([value] * trav.bulk)
    return values


@register("group")
class GroupStep(Step):
    reducing = True
    #: members keep their bulk: the value by() runs over them as a stream, the identity value repeats each
    bulk_aware = True

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if args:
            raise MalformedQuery("group(sideEffectKey) is not supported; use group()")
        self.key_by: By | None = None
        self.value_by: By | None = None

    def modulate(self, name: str, args: list[Any]) -> None:
        if name != "by":
            super().modulate(name, args)
        if self.key_by is None:
            self.key_by = By(args, "group")
        elif self.value_by is None:
            self.value_by = By(args, "group")
        else:
            raise MalformedQuery("group() takes at most two by() modulators")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        groups: dict[Any, tuple[Any, list[Traverser]]] = {}
        for trav in it:
            key = trav.obj if self.key_by is None else self.key_by.value(ctx, trav)
            if key is NOVALUE:
                continue
            groups.setdefault(freeze(key), (key, []))[1].append(trav)
        result = {}
        ordered = list(groups.values())
        if ctx.seed is not None:  # a random step in by() draws per group in the order TinkerPop visits them
            ordered = java_hash_map_order(ordered)
        for key, members in ordered:
            value = _group_value(ctx, self.value_by, members)
            if value is not NOVALUE:
                result[_hashable_key(key)] = value
        yield Traverser(result)


def java_string_hash(text: str) -> int:
    """Java's ``String.hashCode()`` (over UTF-16 code units), as a signed 32-bit int."""
    value = 0
    data = text.encode("utf-16-be")
    for index in range(0, len(data), 2):
        value = (31 * value + (data[index] << 8 | data[index + 1])) & 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def java_hash_map_order(entries: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """``(key, value)`` pairs in the order a Java HashMap filled with them in this order iterates them.

    GroupStep keeps its groups in a HashMap: under SeedStrategy the order it reduces them in decides which
    group gets which random draws. Only string keys are placed (other keys keep their order).
    """
    if not entries or not all(isinstance(key, str) for key, _ in entries):
        return entries
    capacity = 16
    while len(entries) > capacity * 3 // 4:
        capacity *= 2

    def bucket(key: str) -> int:
        code = java_string_hash(key) & 0xFFFFFFFF
        return (code ^ (code >> 16)) & (capacity - 1)

    return sorted(entries, key=lambda entry: bucket(entry[0]))  # stable: a bucket keeps arrival order


def _hashable_key(key: Any) -> Any:
    """Map keys must be hashable in Python; a list key becomes a tuple, a set key a frozenset."""
    if isinstance(key, list):
        return tuple(_hashable_key(k) for k in key)
    if isinstance(key, set):
        return frozenset(key)
    if isinstance(key, dict):
        return FrozenMap({_hashable_key(k): v for k, v in key.items()})
    return key


@register("groupCount")
class GroupCountStep(Step):
    reducing = True
    bulk_aware = True

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if args:
            raise MalformedQuery("groupCount(sideEffectKey) is not supported; use groupCount()")
        self.key_by: By | None = None

    def modulate(self, name: str, args: list[Any]) -> None:
        if name != "by":
            super().modulate(name, args)
        if self.key_by is not None:
            raise MalformedQuery("GroupCount step can only have one by modulator")
        self.key_by = By(args, "groupCount")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        counts: dict[Any, list[Any]] = {}
        for trav in it:
            key = trav.obj if self.key_by is None else self.key_by.value(ctx, trav)
            if key is NOVALUE:
                continue
            entry = counts.setdefault(freeze(key), [key, 0])
            entry[1] += trav.bulk
        yield Traverser({_hashable_key(key): long(count) for key, count in counts.values()})


__all__ = ["select_value"]
