"""Read steps: start, navigation, filters and maps (https://tinkerpop.apache.org/docs/3.7.0/reference/#graph-traversal-steps).

Each class handles the bytecode step names given to :func:`register`; a step name not
registered anywhere is refused by :func:`emulator.graph.engine.compile_bytecode`.
Reducing steps (count, fold, group...) are in ``reducers.py``; writes in ``mutations.py``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from gremlin_python.process.traversal import Direction, T

from emulator.graph.bytecode import Bytecode, Pred, Sym
from emulator.graph.engine import (
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
    element_value,
    element_values,
    first_result,
    freeze,
    is_sym,
    nested,
    register,
    run_nested,
    token_value,
)
from emulator.graph.errors import IllegalArgument, MalformedQuery
from emulator.graph.predicates import compile_predicate
from emulator.graph.store import EdgeRecord, VertexRecord

#: the object the root traversal starts from (start steps ignore it, other steps refuse it)
START: Any = object()

TOKENS_OPTION = "~tinkerpop.valueMap.tokens"


def flatten_ids(args: list[Any]) -> list[str]:
    """Ids given to ``V()``/``E()``/``hasId()``: strings, numbers, lists, or elements."""
    ids: list[str] = []
    for arg in args:
        if isinstance(arg, list | tuple | set):
            ids.extend(flatten_ids(list(arg)))
        elif hasattr(arg, "id") and not isinstance(arg, str | int | float):
            ids.append(str(arg.id))
        elif arg is None:
            continue
        else:
            ids.append(str(arg))
    return ids


def _pass_start(it: Iterator[Traverser]) -> Iterator[Traverser]:
    """Drop the root's start marker: what a start step emits does not depend on it."""
    for trav in it:
        if trav.obj is not START:
            yield trav


# -- start steps ----------------------------------------------------------------------------

@register("V")
class VStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.ids = flatten_ids(args) if args else None

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        vertices = ctx.store.vertices
        for trav in it:
            if self.ids is None:
                for vertex in list(vertices.values()):
                    ctx.tick()
                    yield trav.split(vertex)
            else:
                for vid in self.ids:
                    vertex = vertices.get(vid)
                    if vertex is not None:
                        yield trav.split(vertex)


@register("E")
class EStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.ids = flatten_ids(args) if args else None

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        edges = ctx.store.edges
        for trav in it:
            if self.ids is None:
                for edge in list(edges.values()):
                    ctx.tick()
                    yield trav.split(edge)
            else:
                for eid in self.ids:
                    edge = edges.get(eid)
                    if edge is not None:
                        yield trav.split(edge)


@register("inject")
class InjectStep(Step):
    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for value in self.args:
            yield Traverser(value)
        yield from _pass_start(it)


# -- navigation -----------------------------------------------------------------------------

class VertexStep(Step):
    """out/in/both and outE/inE/bothE; the edge steps remember the vertex left, for ``otherV()``."""

    name_used = "out"

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if not all(isinstance(a, str) for a in args):
            raise MalformedQuery(f"{self.name_used}() takes edge labels (strings)")
        self.labels = frozenset(args)

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        name = self.name_used
        labels = self.labels
        want_out = name in ("out", "outE", "both", "bothE")
        want_in = name in ("in", "inE", "both", "bothE")
        edges_only = name.endswith("E")
        for trav in it:
            vertex = trav.obj
            if not isinstance(vertex, VertexRecord):
                raise IllegalArgument(f"{name}() needs a vertex, got {describe(vertex)}")
            ctx.tick()
            path = trav.labels
            if want_out:
                for edge in vertex.out_e:
                    if not labels or edge.label in labels:
                        if edges_only:
                            yield Traverser(edge, path, vertex)
                        else:
                            yield Traverser(edge.in_v, path)
            if want_in:
                for edge in vertex.in_e:
                    if not labels or edge.label in labels:
                        if edges_only:
                            yield Traverser(edge, path, vertex)
                        else:
                            yield Traverser(edge.out_v, path)


for _name in ("out", "in", "both", "outE", "inE", "bothE"):
    register(_name)(type(f"VertexStep_{_name}", (VertexStep,), {"name_used": _name}))


class EdgeVertexStep(Step):
    name_used = "outV"

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if args:
            raise MalformedQuery(f"{self.name_used}() takes no arguments")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        name = self.name_used
        for trav in it:
            edge = trav.obj
            if not isinstance(edge, EdgeRecord):
                raise IllegalArgument(f"{name}() needs an edge, got {describe(edge)}")
            if name == "outV":
                yield trav.split(edge.out_v)
            elif name == "inV":
                yield trav.split(edge.in_v)
            elif name == "bothV":
                yield trav.split(edge.out_v)
                yield trav.split(edge.in_v)
            else:
                # otherV(): the end that is not the vertex the traverser came from
                yield trav.split(edge.out_v if trav.origin is edge.in_v else edge.in_v)


for _name in ("outV", "inV", "bothV", "otherV"):
    register(_name)(type(f"EdgeVertexStep_{_name}", (EdgeVertexStep,), {"name_used": _name}))


# -- filters --------------------------------------------------------------------------------

class FilterStep(Step):
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
        if not isinstance(key, str) and not is_sym(key, "T"):
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
        if not isinstance(obj, VertexRecord | EdgeRecord):
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


def select_value(trav: Traverser, key: str, pop: str = "last", side_effects: dict[str, Any] | None = None) -> Any:
    """What ``select(key)`` sees: a map entry of the current object, an ``as()`` label, or a side effect."""
    obj = trav.obj
    if isinstance(obj, dict) and key in obj:
        return obj[key]
    if trav.labels is not None and key in trav.labels:
        found = trav.labels[key]
        if pop == "first":
            return found[0]
        if pop == "all":
            return list(found)
        return found[-1]
    if side_effects is not None and key in side_effects:
        return side_effects[key]
    return NOVALUE


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

    def _resolve(self, ctx: Context, pred: Pred, trav: Traverser) -> Pred | None:
        args = []
        for arg in pred.args:
            if isinstance(arg, Pred):
                inner = self._resolve(ctx, arg, trav)
                if inner is None:
                    return None
                args.append(inner)
            elif isinstance(arg, str):
                value = select_value(trav, arg, side_effects=ctx.side_effects)
                if value is NOVALUE:
                    return None
                by = self._by(1)
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
        if len(args) != 1:
            raise MalformedQuery("not() takes one traversal")
        self.steps = nested(args[0], "not")

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
        if len(args) != 1:
            raise MalformedQuery("filter() takes one traversal")
        self.steps = nested(args[0], "filter")

    def test(self, ctx: Context, trav: Traverser) -> bool:
        return first_result(ctx, self.steps, trav) is not NOVALUE


def _scope(args: list[Any]) -> tuple[bool, list[Any]]:
    """Split a leading ``Scope`` argument: (is_local, remaining args)."""
    if args and is_sym(args[0], "Scope"):
        return args[0].name == "local", args[1:]
    return False, args


@register("dedup")
class DedupStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.local, rest = _scope(args)
        if not all(isinstance(a, str) for a in rest):
            raise MalformedQuery("dedup() takes a scope and/or as() labels")
        self.labels = rest
        self.by: By | None = None

    def modulate(self, name: str, args: list[Any]) -> None:
        if name != "by":
            super().modulate(name, args)
        self.by = By(args, "dedup")

    def _key(self, ctx: Context, trav: Traverser) -> Any:
        if self.labels:
            return freeze([select_value(trav, label) for label in self.labels])
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
                yield trav.split(list(seen.values()))
            return
        seen_keys: set[Any] = set()
        for trav in it:
            key = self._key(ctx, trav)
            if key is NOVALUE or key in seen_keys:
                continue
            seen_keys.add(key)
            yield trav


def _int_arg(value: Any, step: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedQuery(f"{step}() expects an integer, got {describe(value)}")
    return int(value)


def _local_slice(obj: Any, low: int, high: int) -> Any:
    """``range(local, low, high)`` on one collection (a one-item list range yields the item)."""
    if isinstance(obj, dict):
        items = list(obj.items())
        chosen = items[low:] if high < 0 else items[low:high]
        return dict(chosen)
    items = collection_items(obj)
    if items is None:
        return obj if low == 0 and high != 0 else NOVALUE
    chosen = items[low:] if high < 0 else items[low:high]
    if high - low == 1:
        return chosen[0] if chosen else NOVALUE
    return chosen


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
            raise MalformedQuery(f"{name}(): not a valid range [{self.low}, {self.high})")

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
                chosen = items[-count:] if count else []
                if count == 1:
                    if chosen:
                        yield trav.split(chosen[0])
                else:
                    yield trav.split(chosen)
            return
        kept = list(it)
        yield from (kept[-count:] if count else [])


@register("sample")
class SampleStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.local, rest = _scope(args)
        if len(rest) != 1:
            raise MalformedQuery("sample() takes a number")
        self.count = _int_arg(rest[0], "sample")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.local:
            for trav in it:
                items = collection_items(trav.obj)
                if items is None:
                    yield trav
                    continue
                yield trav.split(random.sample(items, min(self.count, len(items))))
            return
        kept = list(it)
        yield from random.sample(kept, min(self.count, len(kept)))


# -- maps -----------------------------------------------------------------------------------

class MapStep(Step):
    def map(self, ctx: Context, trav: Traverser) -> Any:
        raise NotImplementedError

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        fn = self.map
        for trav in it:
            value = fn(ctx, trav)
            if value is not NOVALUE:
                yield trav.split(value)


@register("id")
class IdStep(MapStep):
    def map(self, ctx: Context, trav: Traverser) -> Any:
        return token_value(trav.obj, Sym("T", "id"))


@register("label")
class LabelStep(MapStep):
    def map(self, ctx: Context, trav: Traverser) -> Any:
        return token_value(trav.obj, Sym("T", "label"))


@register("key")
class KeyStep(MapStep):
    def map(self, ctx: Context, trav: Traverser) -> Any:
        if not isinstance(trav.obj, PropRef):
            raise IllegalArgument(f"key() needs a property, got {describe(trav.obj)}")
        return trav.obj.key


@register("value")
class ValueStep(MapStep):
    def map(self, ctx: Context, trav: Traverser) -> Any:
        if not isinstance(trav.obj, PropRef):
            raise IllegalArgument(f"value() needs a property, got {describe(trav.obj)}")
        return trav.obj.value


@register("constant")
class ConstantStep(MapStep):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) != 1:
            raise MalformedQuery("constant() takes one value")

    def map(self, ctx: Context, trav: Traverser) -> Any:
        return self.args[0]


@register("identity", "barrier")
class IdentityStep(Step):
    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        return it


def _check_keys(args: list[Any], step: str) -> list[str]:
    if not all(isinstance(a, str) for a in args):
        raise MalformedQuery(f"{step}() takes property keys (strings)")
    return list(args)


@register("values")
class ValuesStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.keys = _check_keys(args, "values")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        keys = self.keys
        single = keys[0] if len(keys) == 1 else None
        for trav in it:
            obj = trav.obj
            if isinstance(obj, VertexRecord):
                if single is not None:
                    for value in obj.props.get(single, ()):
                        yield Traverser(value, trav.labels)
                else:
                    for key in keys or list(obj.props):
                        for value in obj.props.get(key, ()):
                            yield Traverser(value, trav.labels)
            elif isinstance(obj, EdgeRecord):
                for key in keys or list(obj.props):
                    if key in obj.props:
                        yield Traverser(obj.props[key], trav.labels)
            elif isinstance(obj, dict):
                for key in keys or list(obj):
                    if key in obj:
                        yield Traverser(obj[key], trav.labels)
            else:
                raise IllegalArgument(f"values() needs an element, got {describe(obj)}")


@register("properties")
class PropertiesStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.keys = _check_keys(args, "properties")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            obj = trav.obj
            if isinstance(obj, VertexRecord):
                for key in self.keys or list(obj.props):
                    for value in obj.props.get(key, ()):
                        yield trav.split(PropRef(obj, key, value))
            elif isinstance(obj, EdgeRecord):
                for key in self.keys or list(obj.props):
                    if key in obj.props:
                        yield trav.split(PropRef(obj, key, obj.props[key]))
            elif not isinstance(obj, PropRef):  # vertex properties have no meta-properties in Neptune
                raise IllegalArgument(f"properties() needs an element, got {describe(obj)}")


@register("valueMap")
class ValueMapStep(MapStep):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.tokens = 0
        if args and isinstance(args[0], bool):
            self.tokens = 15 if args[0] else 0
            args = args[1:]
        self.keys = _check_keys(args, "valueMap")
        self.by: By | None = None

    def modulate(self, name: str, args: list[Any]) -> None:
        if name == "with" and args and args[0] == TOKENS_OPTION:
            self.tokens = args[1] if len(args) > 1 and isinstance(args[1], int) else 15
        elif name == "by":
            self.by = By(args, "valueMap")
        else:
            super().modulate(name, args)

    def map(self, ctx: Context, trav: Traverser) -> Any:
        obj = trav.obj
        result: dict[Any, Any] = {}
        if self.tokens & 1:
            result[T.id] = obj.id
        if self.tokens & 2:
            result[T.label] = obj.label
        keys = self.keys or obj.props.keys()
        props = obj.props
        vertex = isinstance(obj, VertexRecord)
        if not vertex and not isinstance(obj, EdgeRecord):
            raise IllegalArgument(f"valueMap() needs an element, got {describe(obj)}")
        by = self.by
        for key in keys:
            if key in props:
                value = list(props[key]) if vertex else props[key]
                if by is not None:
                    value = by.value_of(ctx, value, trav)
                    if value is NOVALUE:
                        continue
                result[key] = value
        return result


@register("elementMap")
class ElementMapStep(MapStep):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.keys = _check_keys(args, "elementMap")

    def map(self, ctx: Context, trav: Traverser) -> Any:
        obj = trav.obj
        if not isinstance(obj, VertexRecord | EdgeRecord):
            raise IllegalArgument(f"elementMap() needs an element, got {describe(obj)}")
        result: dict[Any, Any] = {T.id: obj.id, T.label: obj.label}
        if isinstance(obj, EdgeRecord):
            result[Direction.IN] = {T.id: obj.in_v.id, T.label: obj.in_v.label}
            result[Direction.OUT] = {T.id: obj.out_v.id, T.label: obj.out_v.label}
        for key in self.keys or list(obj.props):
            value = element_value(obj, key)
            if value is not NOVALUE:
                result[key] = value
        return result


class ByCycle:
    """``by()`` modulators applied round-robin to a step's keys (project, select)."""

    def __init__(self, step: str) -> None:
        self.step = step
        self.bys: list[By] = []

    def add(self, args: list[Any]) -> None:
        self.bys.append(By(args, self.step))

    def value(self, ctx: Context, index: int, obj: Any, trav: Traverser) -> Any:
        if not self.bys:
            return obj
        return self.bys[index % len(self.bys)].value_of(ctx, obj, trav)


@register("project")
class ProjectStep(MapStep):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if not args:
            raise MalformedQuery("project() needs at least one key")
        self.keys = _check_keys(args, "project")
        self.bys = ByCycle("project")

    def modulate(self, name: str, args: list[Any]) -> None:
        if name != "by":
            super().modulate(name, args)
        self.bys.add(args)

    def map(self, ctx: Context, trav: Traverser) -> Any:
        result = {}
        obj = trav.obj
        for index, key in enumerate(self.keys):
            value = self.bys.value(ctx, index, obj, trav)
            if value is not NOVALUE:
                result[key] = value
        return result


@register("as")
class AsStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if not args or not all(isinstance(a, str) for a in args):
            raise MalformedQuery("as() takes one or more label strings")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            labels = {k: v for k, v in trav.labels.items()} if trav.labels else {}
            for label in self.args:
                labels[label] = [*labels.get(label, []), trav.obj]
            yield Traverser(trav.obj, labels)


@register("select")
class SelectStep(MapStep):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.column: str | None = None
        self.pop = "last"
        if len(args) == 1 and is_sym(args[0], "Column"):
            self.column = args[0].name
            self.keys: list[str] = []
        else:
            if args and is_sym(args[0], "Pop"):
                self.pop = args[0].name
                args = args[1:]
            if not args or not all(isinstance(a, str) for a in args):
                raise MalformedQuery("select() takes keys (strings), optionally after a Pop, or a Column")
            self.keys = list(args)
        self.bys = ByCycle("select")

    def modulate(self, name: str, args: list[Any]) -> None:
        if name != "by":
            super().modulate(name, args)
        self.bys.add(args)

    def map(self, ctx: Context, trav: Traverser) -> Any:
        obj = trav.obj
        if self.column is not None:
            if isinstance(obj, dict):
                return list(obj.keys()) if self.column == "keys" else list(obj.values())
            raise IllegalArgument(f"select(Column.{self.column}) needs a map, got {describe(obj)}")
        if len(self.keys) == 1:
            value = select_value(trav, self.keys[0], self.pop, ctx.side_effects)
            return value if value is NOVALUE else self.bys.value(ctx, 0, value, trav)
        result = {}
        for index, key in enumerate(self.keys):
            value = select_value(trav, key, self.pop, ctx.side_effects)
            if value is NOVALUE:
                return NOVALUE
            value = self.bys.value(ctx, index, value, trav)
            if value is NOVALUE:
                return NOVALUE
            result[key] = value
        return result


# -- branches -------------------------------------------------------------------------------

@register("coalesce")
class CoalesceStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.children = [nested(a, "coalesce") for a in args]

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            for steps in self.children:
                results = list(run_nested(ctx, steps, trav))
                if results:
                    yield from results
                    break


@register("union")
class UnionStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.children = [nested(a, "union") for a in args]

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            for steps in self.children:
                yield from run_nested(ctx, steps, trav)


@register("local", "flatMap")
class LocalStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) != 1:
            raise MalformedQuery("local() takes one traversal")
        self.steps = nested(args[0], "local")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            yield from run_nested(ctx, self.steps, trav)


@register("map")
class MapTraversalStep(MapStep):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) != 1:
            raise MalformedQuery("map() takes one traversal")
        self.steps = nested(args[0], "map")

    def map(self, ctx: Context, trav: Traverser) -> Any:
        return first_result(ctx, self.steps, trav)


@register("optional")
class OptionalStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) != 1:
            raise MalformedQuery("optional() takes one traversal")
        self.steps = nested(args[0], "optional")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            results = list(run_nested(ctx, self.steps, trav))
            yield from results if results else (trav,)


@register("sideEffect")
class SideEffectStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) != 1:
            raise MalformedQuery("sideEffect() takes one traversal")
        self.steps = nested(args[0], "sideEffect")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            for _ in run_nested(ctx, self.steps, trav):
                pass
            yield trav


@register("choose")
class ChooseStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) not in (2, 3):
            raise MalformedQuery("choose() takes a condition and one or two traversals (option() is not supported)")
        condition = args[0]
        self.pred = as_predicate(condition) if isinstance(condition, Pred) else None
        self.cond_steps = None if self.pred is not None else nested(condition, "choose")
        self.true_steps = nested(args[1], "choose")
        self.false_steps = nested(args[2], "choose") if len(args) == 3 else None

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            if self.pred is not None:
                chosen = self.pred(trav.obj)
            else:
                chosen = first_result(ctx, self.cond_steps or [], trav) is not NOVALUE
            if chosen:
                yield from run_nested(ctx, self.true_steps, trav)
            elif self.false_steps is not None:
                yield from run_nested(ctx, self.false_steps, trav)
            else:
                yield trav


@register("discard", "none")
class DiscardStep(Step):
    """``iterate()``: ``discard()`` since TinkerPop 3.7, ``none()`` before it."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if args:
            raise MalformedQuery("none(P) (the list filter) is not supported; none() without arguments discards")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for _ in it:
            pass
        return
        yield
