"""Read steps: start, navigation, filters and maps (https://tinkerpop.apache.org/docs/3.7.0/reference/#graph-traversal-steps).

Each class handles the bytecode step names given to :func:`register`; a step name not
registered anywhere is refused by :func:`emulator.services.neptune.gremlin.engine.compile_bytecode`.
Filters are in ``filters.py``, reducing steps (count, fold, group...) in ``reducers.py``, writes in
``mutations.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

from gremlin_python.process.traversal import Direction, T

from emulator.services.neptune.errors import IllegalArgument, MalformedQuery
from emulator.services.neptune.gremlin.bytecode import Bytecode, Sym
from emulator.services.neptune.gremlin.engine import (
    NOVALUE,
    START,
    By,
    Context,
    ObjectMap,
    Path,
    PropRef,
    Step,
    Traverser,
    compile_bytecode,
    describe,
    element_value,
    first_result,
    flatten_ids,
    is_sym,
    nested,
    only_traversal,
    register,
    run_nested,
    select_value,
    token_value,
)
from emulator.services.neptune.gremlin.gtypes import OrderedSet
from emulator.services.neptune.store import EdgeRecord, VertexRecord

TOKENS_OPTION = "~tinkerpop.valueMap.tokens"
_T_ID = Sym("T", "id")
_T_LABEL = Sym("T", "label")


def _pass_start(it: Iterator[Traverser]) -> Iterator[Traverser]:
    """Drop the root's start marker: what a start step emits does not depend on it."""
    for trav in it:
        if trav.obj is not START:
            yield trav


# -- start steps ----------------------------------------------------------------------------

class GraphStep(Step):
    """``V()``/``E()``: all elements, or those with the given ids.

    ``window`` is set by :func:`fuse_range` when a global ``range()`` follows directly: the scan
    then slices the element table instead of walking the skipped elements through the pipeline
    (paged exports such as ``g.V().range(a, b)``).
    """

    table = "vertices"

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.ids = flatten_ids(args) if args else None
        self.window: tuple[int, int] | None = None

    def scan(self, ctx: Context) -> Iterator[Any]:
        """The elements of the window, read off the table as they are taken.

        Only for a plan that cannot write (see ``scan_plan``): its read lock keeps the table as it is,
        so the skipped elements need no copy of the table.
        """
        elements = getattr(ctx.store, self.table).values()
        if self.window is None:
            return iter(elements)
        low, high = self.window
        return islice(elements, low, None if high < 0 else high)

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        elements = getattr(ctx.store, self.table)
        for trav in it:
            if self.ids is None:
                scan = list(elements.values())
                if self.window is not None:
                    low, high = self.window
                    scan = scan[low:] if high < 0 else scan[low:high]
                for element in scan:
                    ctx.tick()
                    yield trav.split(element)
            else:
                for element_id in self.ids:
                    element = elements.get(element_id)
                    if element is not None:
                        yield trav.split(element)


register("V")(type("VStep", (GraphStep,), {"table": "vertices"}))
register("E")(type("EStep", (GraphStep,), {"table": "edges"}))


@register("inject")
class InjectStep(Step):
    """``inject(values)``: the values come before the incoming traversers, except at the head of a child
    traversal, where the parent's traverser was already waiting (``concat(__.inject("c"))`` sees it first)."""

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.leads:
            yield from _pass_start(it)
        for value in self.args:
            yield Traverser(value)
        if not self.leads:
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
            if want_out:
                for edge in vertex.out_e:
                    if not labels or edge.label in labels:
                        if edges_only:
                            yield trav.split(edge, vertex)
                        else:
                            yield trav.split(edge.in_v)
            if want_in:
                for edge in vertex.in_e:
                    if not labels or edge.label in labels:
                        if edges_only:
                            yield trav.split(edge, vertex)
                        else:
                            yield trav.split(edge.out_v)


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

    def _one(self, ctx: Context, trav: Traverser) -> Any:
        return self._end(ctx, trav.obj)

    def _end(self, ctx: Context, edge: Any) -> Any:
        if not isinstance(edge, EdgeRecord):
            raise IllegalArgument(f"{self.name_used}() needs an edge, got {describe(edge)}")
        return edge.out_v if self.name_used == "outV" else edge.in_v

    def object_map(self) -> ObjectMap | None:
        return self._end if self.map_one is not None else None  # outV()/inV(): one vertex per edge


for _name in ("outV", "inV", "bothV", "otherV"):
    register(_name)(type(f"EdgeVertexStep_{_name}", (EdgeVertexStep,), {
        "name_used": _name, "map_one": EdgeVertexStep._one if _name in ("outV", "inV") else None}))


# -- maps -----------------------------------------------------------------------------------

class MapStep(Step):
    def map(self, ctx: Context, trav: Traverser) -> Any:
        raise NotImplementedError

    def map_one(self, ctx: Context, trav: Traverser) -> Any:  # type: ignore[override]
        return self.map(ctx, trav)

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        fn = self.map
        for trav in it:
            value = fn(ctx, trav)
            if value is not NOVALUE:
                yield trav.split(value)


def _id(ctx: Context, obj: Any) -> Any:
    return token_value(obj, _T_ID)


def _label(ctx: Context, obj: Any) -> Any:
    return token_value(obj, _T_LABEL)


@register("id")
class IdStep(MapStep):
    def map(self, ctx: Context, trav: Traverser) -> Any:
        return _id(ctx, trav.obj)

    def object_map(self) -> ObjectMap | None:
        return _id


@register("label")
class LabelStep(MapStep):
    def map(self, ctx: Context, trav: Traverser) -> Any:
        return _label(ctx, trav.obj)

    def object_map(self) -> ObjectMap | None:
        return _label


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


@register("identity")
class IdentityStep(Step):
    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        return it


def _check_keys(args: list[Any], step: str) -> list[str]:
    if not all(isinstance(a, str) for a in args):
        raise MalformedQuery(f"{step}() takes property keys (strings)")
    return list(args)


def _property_keys(args: list[Any], step: str) -> list[str]:
    """The keys of values()/properties()/valueMap()/elementMap(): a null key is ignored (TinkerPop 3.8)."""
    return _check_keys([a for a in args if a is not None], step)


@register("values")
class ValuesStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.keys = _property_keys(args, "values")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        keys = self.keys
        single = keys[0] if len(keys) == 1 else None
        for trav in it:
            obj = trav.obj
            if isinstance(obj, VertexRecord):
                if single is not None:
                    for value in obj.props.get(single, ()):
                        yield trav.split(value)
                else:
                    for key in keys or list(obj.props):
                        for value in obj.props.get(key, ()):
                            yield trav.split(value)
            elif isinstance(obj, EdgeRecord):
                for key in keys or list(obj.props):
                    if key in obj.props:
                        yield trav.split(obj.props[key])
            elif isinstance(obj, dict):
                for key in keys or list(obj):
                    if key in obj:
                        yield trav.split(obj[key])
            else:
                raise IllegalArgument(f"values() needs an element, got {describe(obj)}")


@register("properties")
class PropertiesStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.keys = _property_keys(args, "properties")

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
        self.keys = _property_keys(args, "valueMap")
        self.by: By | None = None

    def modulate(self, name: str, args: list[Any]) -> None:
        if name == "with" and args and args[0] == TOKENS_OPTION:
            self.tokens = args[1] if len(args) > 1 and isinstance(args[1], int) else 15
        elif name == "by":
            if self.by is not None:
                raise MalformedQuery("ValueMap step can only have one by modulator")
            self.by = By(args, "valueMap")
        else:
            super().modulate(name, args)

    def map(self, ctx: Context, trav: Traverser) -> Any:
        return self._value_map(ctx, trav.obj, trav)

    def object_map(self) -> ObjectMap | None:
        if self.by is not None:  # by() may run a child traversal from the traverser
            return None
        return lambda ctx, obj: self._value_map(ctx, obj, None)

    def _value_map(self, ctx: Context, obj: Any, trav: Traverser | None) -> dict[Any, Any]:
        """The map of ``obj``; ``trav`` (its traverser) is read only by a by() modulator."""
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
                if by is not None and trav is not None:
                    value = by.value_of(ctx, value, trav)
                    if value is NOVALUE:
                        continue
                result[key] = value
        return result


@register("elementMap")
class ElementMapStep(MapStep):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.keys = _property_keys(args, "elementMap")

    def map(self, ctx: Context, trav: Traverser) -> Any:
        return self._element_map(ctx, trav.obj)

    def object_map(self) -> ObjectMap | None:
        return self._element_map

    def _element_map(self, ctx: Context, obj: Any) -> dict[Any, Any]:
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

    def object_map(self) -> ObjectMap | None:
        bys = self.bys.bys
        values = [by.object_value() for by in bys]
        if any(value is None for value in values):
            return None
        # the by() of each key, round-robin as ByCycle applies them; no by(): the object itself
        pairs = [(key, values[index % len(values)] if values else None) for index, key in enumerate(self.keys)]

        def project(ctx: Context, obj: Any) -> Any:
            result = {}
            for key, value_of in pairs:
                value = obj if value_of is None else value_of(ctx, obj)
                if value is not NOVALUE:
                    result[key] = value
            return result

        return project


@register("as")
class AsStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if not args or not all(isinstance(a, str) for a in args):
            raise MalformedQuery("as() takes one or more label strings")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            yield trav.named(self.args)


def _column(obj: dict[Any, Any], column: str) -> Any:
    """``select(keys|values)``: a map's key Set (in the map's order) or value list.

    A one-entry map is taken for a map entry (what ``unfold()`` of a map gives here), whose key or value
    comes alone, as ``by(keys)`` does.
    """
    if len(obj) == 1:
        key, value = next(iter(obj.items()))
        return key if column == "keys" else value
    if column == "values":
        return list(obj.values())
    return OrderedSet(obj)


@register("select")
class SelectStep(MapStep):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.column: str | None = None
        self.key_steps: list[Step] | None = None
        self.pop = "last"
        if len(args) == 1 and is_sym(args[0], "Column"):
            self.column = args[0].name
            self.keys: list[str] = []
        else:
            if args and is_sym(args[0], "Pop"):
                self.pop = args[0].name
                args = args[1:]
            self.key_steps = compile_bytecode(args[0]) if len(args) == 1 and isinstance(args[0], Bytecode) else None
            if self.key_steps is None and (not args or not all(isinstance(a, str) for a in args)):
                raise MalformedQuery("select() takes keys (strings) or a traversal giving the key, optionally "
                                     "after a Pop, or a Column")
            self.keys = [] if self.key_steps is not None else list(args)
        self.bys = ByCycle("select")

    def modulate(self, name: str, args: list[Any]) -> None:
        if name != "by":
            super().modulate(name, args)
        self.bys.add(args)

    def map(self, ctx: Context, trav: Traverser) -> Any:
        obj = trav.obj
        if self.column is not None:
            if isinstance(obj, dict):
                return _column(obj, self.column)
            if isinstance(obj, Path):  # a Path's keys are its steps' label sets, its values its objects
                return [set(labels) for labels in obj.labels] if self.column == "keys" else list(obj.objects)
            raise IllegalArgument(f"select(Column.{self.column}) needs a map, got {describe(obj)}")
        keys = self.keys
        if self.key_steps is not None:  # select(traversal): the key is what the traversal gives
            key = first_result(ctx, self.key_steps, trav)
            if key is NOVALUE:
                return NOVALUE
            keys = [key]
        if len(keys) == 1:
            value = select_value(trav, keys[0], self.pop, ctx.side_effects)
            return value if value is NOVALUE else self.bys.value(ctx, 0, value, trav)
        result = {}
        for index, key in enumerate(keys):
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


@register("local")
class LocalStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.steps = only_traversal(args, "local")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            yield from run_nested(ctx, self.steps, trav)


@register("flatMap")
class FlatMapStep(Step):
    """``flatMap(t)``: the objects ``t`` gives, each one step past the incoming traverser.

    Unlike ``local(t)``, the steps inside ``t`` leave no trace in the path (TinkerPop's FlatMapStep
    splits the incoming traverser on each result object).
    """

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.steps = only_traversal(args, "flatMap")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            for result in run_nested(ctx, self.steps, trav):
                yield trav.split(result.obj)


@register("map")
class MapTraversalStep(MapStep):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.steps = only_traversal(args, "map")

    def map(self, ctx: Context, trav: Traverser) -> Any:
        return first_result(ctx, self.steps, trav)


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


# one traverser in, its results out, children run as one traverser (first_result): a bulk carries through
for _cls in (VertexStep, EdgeVertexStep, IdStep, LabelStep, KeyStep, ValueStep, ConstantStep, IdentityStep,
             ValuesStep, PropertiesStep, ValueMapStep, ElementMapStep, ProjectStep, AsStep, SelectStep):
    _cls.bulk_aware = True

