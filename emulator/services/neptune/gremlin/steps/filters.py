"""Filter steps: has*, is, where, not/and/or, dedup, range/limit/skip, tail, sample
(https://tinkerpop.apache.org/docs/3.7.0/reference/#graph-traversal-steps).

``fuse_range`` folds a global ``range()`` right after ``V()``/``E()`` into the scan (paged exports).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from emulator.services.neptune.errors import MalformedQuery
from emulator.services.neptune.gremlin.bytecode import Bytecode, Pred, Sym
from emulator.services.neptune.gremlin.engine import (
    NOVALUE,
    By,
    Context,
    PropRef,
    Step,
    Traverser,
    as_predicate,
    collection_items,
    compile_bytecode,
    describe,
    element_values,
    first_result,
    flatten_ids,
    freeze,
    is_sym,
    nested,
    only_traversal,
    register,
    select_value,
    token_value,
)
from emulator.services.neptune.gremlin.predicates import compile_predicate
from emulator.services.neptune.gremlin.steps.reads import GraphStep
from emulator.services.neptune.store import EdgeRecord, VertexRecord

# -- filters --------------------------------------------------------------------------------

class FilterStep(Step):
    #: a filter keeps or drops a traverser whole, whatever its bulk (coin() draws per traverser: not)
    bulk_aware = True

    def test(self, ctx: Context, trav: Traverser) -> bool:
        raise NotImplementedError

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        test = self.test
        for trav in it:
            if test(ctx, trav):
                yield trav


def _labels_of(obj: Any) -> list[str]:
    if isinstance(obj, VertexRecord):
        return obj.label.split("::") if "::" in obj.label else [obj.label]
    if isinstance(obj, EdgeRecord):
        return [obj.label]
    if isinstance(obj, PropRef):
        return [obj.key]
    return []


@register("has")
class HasStep(FilterStep):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.label_test = None
        self.value_steps: list[Step] | None = None
        self.value_test = None
        if len(args) == 3:
            label, key, value = args
            self.label_test = as_predicate(label)
        elif len(args) == 2:
            key, value = args
        elif len(args) == 1:
            key, value = args[0], NOVALUE
        else:
            raise MalformedQuery(f"has() takes 1 to 3 arguments, got {len(args)}")
        if key is not None and not isinstance(key, str) and not is_sym(key, "T"):
            raise MalformedQuery(f"has() key must be a string or T, got {describe(key)}")
        self.key = key
        if isinstance(value, Bytecode):
            self.value_steps = compile_bytecode(value)
        elif value is not NOVALUE:
            if is_sym(key, "T", "id") and not isinstance(value, Pred):
                value = flatten_ids([value])[0]
            self.value_test = as_predicate(value)

    def test(self, ctx: Context, trav: Traverser) -> bool:
        obj = trav.obj
        if not isinstance(obj, VertexRecord | EdgeRecord) or self.key is None:  # has(null): no element has it
            return False
        if self.label_test is not None and not any(self.label_test(lab) for lab in _labels_of(obj)):
            return False
        key = self.key
        if isinstance(key, Sym):
            values = _labels_of(obj) if key.name == "label" else [token_value(obj, key)]
        else:
            values = element_values(obj, key)
        if not values:
            return False
        if self.value_test is not None:
            return any(self.value_test(v) for v in values)
        if self.value_steps is not None:
            return any(first_result(ctx, self.value_steps, trav.split(v)) is not NOVALUE for v in values)
        return True


def _tests(args: list[Any], ids: bool = False) -> list[Any]:
    tests = []
    values = []
    for arg in args:
        if isinstance(arg, Pred):
            tests.append(compile_predicate(arg))
        elif ids:
            values.extend(flatten_ids([arg]))
        elif isinstance(arg, list | tuple):
            values.extend(arg)
        else:
            values.append(arg)
    if values:
        tests.append(compile_predicate(Pred("within", [values])))
    return tests


@register("hasLabel")
class HasLabelStep(FilterStep):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.tests = _tests(args)

    def test(self, ctx: Context, trav: Traverser) -> bool:
        labels = _labels_of(trav.obj)
        return any(t(label) for t in self.tests for label in labels)


@register("hasId")
class HasIdStep(FilterStep):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.tests = _tests(args, ids=True)

    def test(self, ctx: Context, trav: Traverser) -> bool:
        obj = trav.obj
        if not isinstance(obj, VertexRecord | EdgeRecord | PropRef):
            return False
        return any(t(obj.id) for t in self.tests)


class HasPropertyPartStep(FilterStep):
    name_used = "hasKey"

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.tests = _tests(args)

    def test(self, ctx: Context, trav: Traverser) -> bool:
        obj = trav.obj
        if not isinstance(obj, PropRef):
            return False
        part = obj.key if self.name_used == "hasKey" else obj.value
        return any(t(part) for t in self.tests)


for _name in ("hasKey", "hasValue"):
    register(_name)(type(f"HasPropertyPartStep_{_name}", (HasPropertyPartStep,), {"name_used": _name}))


@register("hasNot")
class HasNotStep(FilterStep):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) != 1 or not isinstance(args[0], str):
            raise MalformedQuery("hasNot() takes one property key")
        self.key = args[0]

    def test(self, ctx: Context, trav: Traverser) -> bool:
        return not element_values(trav.obj, self.key)


@register("is")
class IsStep(FilterStep):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) != 1:
            raise MalformedQuery("is() takes one value or predicate")
        self.check = as_predicate(args[0])

    def test(self, ctx: Context, trav: Traverser) -> bool:
        return self.check(trav.obj)


@register("where")
class WhereStep(FilterStep):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.steps: list[Step] | None = None
        self.start: str | None = None
        self.pred: Pred | None = None
        self.bys: list[By] = []
        if len(args) == 1 and isinstance(args[0], Bytecode):
            self.steps = compile_bytecode(args[0])
        elif len(args) == 1 and isinstance(args[0], Pred):
            self.pred = args[0]
        elif len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], Pred):
            self.start, self.pred = args
        else:
            raise MalformedQuery("where() takes a traversal, a predicate, or a start label and a predicate")

    def modulate(self, name: str, args: list[Any]) -> None:
        if name != "by" or self.pred is None:
            super().modulate(name, args)
        self.bys.append(By(args, "where"))

    def _by(self, index: int) -> By | None:
        if not self.bys:
            return None
        return self.bys[index % len(self.bys)]

    def _resolve(self, ctx: Context, pred: Pred, trav: Traverser, counter: list[int] | None = None) -> Pred | None:
        """``pred`` with each label replaced by its object; the ``by()`` modulators apply round-robin
        to the start label and then to the labels in the order the predicate names them."""
        counter = counter if counter is not None else [0]
        args = []
        for arg in pred.args:
            if isinstance(arg, Pred):
                inner = self._resolve(ctx, arg, trav, counter)
                if inner is None:
                    return None
                args.append(inner)
            elif isinstance(arg, str):
                value = select_value(trav, arg, side_effects=ctx.side_effects)
                if value is NOVALUE:
                    return None
                counter[0] += 1
                by = self._by(counter[0])
                if by is not None:
                    value = by.value_of(ctx, value, trav)
                    if value is NOVALUE:
                        return None
                args.append(value)
            else:
                args.append(arg)
        return Pred(pred.op, args, pred.text)

    def test(self, ctx: Context, trav: Traverser) -> bool:
        if self.steps is not None:
            return first_result(ctx, self.steps, trav) is not NOVALUE
        value = trav.obj if self.start is None else select_value(trav, self.start, side_effects=ctx.side_effects)
        if value is NOVALUE:
            return False
        by = self._by(0)
        if by is not None:
            value = by.value_of(ctx, value, trav)
            if value is NOVALUE:
                return False
        resolved = self._resolve(ctx, self.pred, trav) if self.pred is not None else None
        return resolved is not None and compile_predicate(resolved)(value)


@register("not")
class NotStep(FilterStep):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.steps = only_traversal(args, "not")

    def test(self, ctx: Context, trav: Traverser) -> bool:
        return first_result(ctx, self.steps, trav) is NOVALUE


class ConnectiveStep(FilterStep):
    name_used = "and"

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if not args:
            raise MalformedQuery(f"{self.name_used}() needs traversals as arguments (infix form is not supported)")
        self.children = [nested(a, self.name_used) for a in args]

    def test(self, ctx: Context, trav: Traverser) -> bool:
        results = (first_result(ctx, steps, trav) is not NOVALUE for steps in self.children)
        return all(results) if self.name_used == "and" else any(results)


for _name in ("and", "or"):
    register(_name)(type(f"ConnectiveStep_{_name}", (ConnectiveStep,), {"name_used": _name}))


@register("filter")
class FilterTraversalStep(FilterStep):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.steps = only_traversal(args, "filter")

    def test(self, ctx: Context, trav: Traverser) -> bool:
        return first_result(ctx, self.steps, trav) is not NOVALUE


def _scope(args: list[Any]) -> tuple[bool, list[Any]]:
    """Split a leading ``Scope`` argument: (is_local, remaining args)."""
    if args and is_sym(args[0], "Scope"):
        return args[0].name == "local", args[1:]
    return False, args


@register("dedup")
class DedupStep(Step):
    bulk_aware = True

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.local, rest = _scope(args)
        if not all(isinstance(a, str) for a in rest):
            raise MalformedQuery("dedup() takes a scope and/or as() labels")
        self.labels = rest
        self.by: By | None = None
        #: set while an enclosing repeat() runs: the keys seen in its earlier turns (TinkerPop's step keeps them)
        self.seen_across_turns: set[Any] | None = None

    def modulate(self, name: str, args: list[Any]) -> None:
        if name != "by":
            super().modulate(name, args)
        if self.by is not None:
            raise MalformedQuery("Dedup step can only have one by modulator")
        self.by = By(args, "dedup")

    def _key(self, ctx: Context, trav: Traverser) -> Any:
        if self.labels:  # dedup("a", "b").by(x): the by() applies to each labelled object
            values = [select_value(trav, label) for label in self.labels]
            if self.by is not None:
                values = [NOVALUE if v is NOVALUE else self.by.value_of(ctx, v, trav) for v in values]
            return NOVALUE if any(v is NOVALUE for v in values) else freeze(values)
        value = trav.obj if self.by is None else self.by.value(ctx, trav)
        return NOVALUE if value is NOVALUE else freeze(value)

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.local:
            for trav in it:
                items = collection_items(trav.obj)
                if items is None:
                    yield trav
                    continue
                seen: dict[Any, Any] = {}
                for item in items:
                    seen.setdefault(freeze(item), item)
                yield trav.split(_as_set(list(seen.values())))  # TinkerPop 3.8: dedup(local) gives a Set
            return
        seen_keys: set[Any] = self.seen_across_turns if self.seen_across_turns is not None else set()
        for trav in it:
            key = self._key(ctx, trav)
            if key is NOVALUE or key in seen_keys:
                continue
            seen_keys.add(key)
            yield trav.with_bulk(1)  # the one kept stands for itself only (TinkerPop sets its bulk to 1)


def _as_set(items: list[Any]) -> Any:
    try:
        return set(items)
    except TypeError:  # unhashable items (lists, maps): a list with set semantics
        return items


def _int_arg(value: Any, step: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedQuery(f"{step}() expects an integer, got {describe(value)}")
    return int(value)


def _local_slice(obj: Any, low: int, high: int) -> Any:
    """``range(local, low, high)`` on one collection.

    TinkerPop 3.8 keeps the collection's shape: a one-item range of a list is a one-item list (``unfold()``
    takes the item out), a map stays a map, and a value that is not a collection passes unchanged.
    """
    if isinstance(obj, dict):
        items = list(obj.items())
        chosen = items[low:] if high < 0 else items[low:high]
        return dict(chosen)
    items = collection_items(obj)
    if items is None:
        return obj
    return items[low:] if high < 0 else items[low:high]


class RangeStep(Step):
    name_used = "range"

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.local, rest = _scope(args)
        name = self.name_used
        if name == "range":
            if len(rest) != 2:
                raise MalformedQuery("range() takes a low and a high bound")
            self.low, self.high = _int_arg(rest[0], name), _int_arg(rest[1], name)
        elif len(rest) != 1:
            raise MalformedQuery(f"{name}() takes one number")
        elif name == "limit":
            self.low, self.high = 0, _int_arg(rest[0], name)
        else:
            self.low, self.high = _int_arg(rest[0], name), -1
        if self.low < 0 or (self.high >= 0 and self.high < self.low):
            raise MalformedQuery(f"Not a legal range: [{self.low}, {self.high}]")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.local:
            for trav in it:
                value = _local_slice(trav.obj, self.low, self.high)
                if value is not NOVALUE:
                    yield trav.split(value)
            return
        low, high = self.low, self.high
        if high == 0:
            return
        for index, trav in enumerate(it):
            if index >= low:
                yield trav
            if high >= 0 and index + 1 >= high:
                return


for _name in ("range", "limit", "skip"):
    register(_name)(type(f"RangeStep_{_name}", (RangeStep,), {"name_used": _name}))


@register("tail")
class TailStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.local, rest = _scope(args)
        self.count = _int_arg(rest[0], "tail") if rest else 1

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        count = self.count
        if self.local:
            for trav in it:
                obj = trav.obj
                if isinstance(obj, dict):
                    yield trav.split(dict(list(obj.items())[-count:] if count else []))
                    continue
                items = collection_items(obj)
                if items is None:
                    yield trav
                    continue
                yield trav.split(items[-count:] if count else [])
            return
        kept = list(it)
        yield from (kept[-count:] if count else [])


@register("sample")
class SampleStep(Step):
    """``sample(n)``: ``n`` traversers drawn without replacement; ``by(x)`` weighs each by its ``x``."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.local, rest = _scope(args)
        if len(rest) != 1:
            raise MalformedQuery("sample() takes a number")
        self.count = _int_arg(rest[0], "sample")
        self.by: By | None = None

    def modulate(self, name: str, args: list[Any]) -> None:
        if name != "by":
            super().modulate(name, args)
        if self.by is not None:
            raise MalformedQuery("Sample step can only have one by modulator")
        self.by = By(args, "sample")

    def _draw(self, ctx: Context, items: list[Any], weights: list[float] | None) -> list[Any]:
        if self.local and len(items) <= self.count:
            return list(items)  # TinkerPop returns a list that is no longer than n as it is
        if weights is None and self.local and ctx.seed is not None:
            # under SeedStrategy, TinkerPop's draw: remove a nextInt(size)-th item until n are taken
            rng = ctx.rng_for(self)
            pool, taken = list(items), []
            while pool and len(taken) < self.count:
                taken.append(pool.pop(rng.next_int(len(pool))))  # type: ignore[attr-defined]
            return taken
        if weights is None:
            return ctx.rng.sample(items, min(self.count, len(items)))
        pool = [(item, weight) for item, weight in zip(items, weights, strict=True) if weight > 0]
        chosen = []
        while pool and len(chosen) < self.count:
            pick = ctx.rng.random() * sum(weight for _, weight in pool)
            for index, (item, weight) in enumerate(pool):
                pick -= weight
                if pick <= 0 or index == len(pool) - 1:
                    chosen.append(item)
                    del pool[index]
                    break
        return chosen

    def _weight(self, ctx: Context, trav: Traverser) -> float:
        value = self.by.value(ctx, trav) if self.by is not None else 1.0
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.local:
            for trav in it:
                items = collection_items(trav.obj)
                if items is None:
                    yield trav
                    continue
                weights = None if self.by is None else [self._weight(ctx, trav.split(i)) for i in items]
                yield trav.split(self._draw(ctx, items, weights))
            return
        kept = list(it)
        weights = None if self.by is None else [self._weight(ctx, t) for t in kept]
        if ctx.seed is not None:
            yield from self._seeded_draw(ctx, kept, weights)
            return
        yield from self._draw(ctx, kept, weights)

    def _seeded_draw(self, ctx: Context, kept: list[Traverser], weights: list[float] | None) -> list[Traverser]:
        """Under SeedStrategy, TinkerPop's own draw, so a seed picks what it picks there.

        Equal traversers are one entry with a bulk (TinkerPop's TraverserSet, in arrival order). Each round
        walks the entries with a running total weight and takes the first copy whose ``nextDouble()`` falls
        under its share, until ``n`` are taken; the taken ones come out in the order they were taken.
        """
        if len(kept) <= self.count:
            return kept
        entries: dict[Any, list[Any]] = {}  # key -> [traverser, weight, bulk, taken]
        for index, trav in enumerate(kept):
            weight = 1.0 if weights is None else weights[index]
            entry = entries.setdefault(freeze(trav.obj), [trav, weight, 0, 0])
            entry[2] += 1
        total = sum(weight * bulk for _, weight, bulk, _ in entries.values())
        if total <= 0:
            return []
        rng = ctx.rng_for(self)
        order: list[list[Any]] = []
        taken = 0
        for _ in range(64 * self.count):  # each round takes one unless float rounding skips all: bounded
            if taken >= self.count:
                break
            running = total
            picked = False
            for entry in entries.values():
                _, weight, bulk, already = entry
                if already >= bulk:
                    continue
                for _ in range(bulk - already):
                    if rng.random() <= weight / running:
                        entry[3] += 1
                        if entry[3] == 1:
                            order.append(entry)
                        taken += 1
                        picked = True
                        break
                    running -= weight
                if picked or taken >= self.count:
                    break
        return [entry[0] for entry in order for _ in range(entry[3])]


@register("coin")
class CoinStep(FilterStep):
    """``coin(p)``: keep each traverser with probability ``p`` (SeedStrategy makes it repeatable)."""

    bulk_aware = False

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) != 1 or isinstance(args[0], bool) or not isinstance(args[0], int | float):
            raise MalformedQuery("coin() takes a probability")
        self.probability = float(args[0])

    def test(self, ctx: Context, trav: Traverser) -> bool:
        if ctx.seed is None:
            return self.probability >= 1.0 or (self.probability > 0.0 and ctx.rng.random() < self.probability)
        return self.probability >= ctx.rng_for(self).random()  # TinkerPop's test, one draw per traverser


def fuse_range(steps: list[Step]) -> list[Step]:
    """Fold ``V().range(a, b)`` / ``limit`` / ``skip`` at the start of a root traversal into the scan."""
    if len(steps) >= 2 and isinstance(steps[0], GraphStep) and steps[0].ids is None \
            and isinstance(steps[1], RangeStep) and not steps[1].local and steps[0].window is None:
        steps[0].window = (steps[1].low, steps[1].high)
        return [steps[0], *steps[2:]]
    return steps
