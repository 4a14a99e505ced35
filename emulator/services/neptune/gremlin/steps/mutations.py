"""Write steps: addV, addE, property, drop, mergeV, mergeE.

All changes go through the request's :class:`emulator.services.neptune.store.Transaction`, so a failing
request leaves nothing behind. Neptune rules applied: string ids, ``set`` cardinality by default,
``list`` cardinality and meta-properties refused
(https://docs.aws.amazon.com/neptune/latest/userguide/access-graph-gremlin-differences.html).
Merge semantics follow https://tinkerpop.apache.org/docs/3.7.0/reference/#mergevertex-step.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from emulator.services.neptune.errors import ConstraintViolation, IllegalArgument, MalformedQuery, UnsupportedOperation
from emulator.services.neptune.gremlin.bytecode import Bytecode, CardinalityValue, Sym
from emulator.services.neptune.gremlin.engine import (
    NOVALUE,
    Context,
    PropRef,
    Step,
    Traverser,
    compile_bytecode,
    describe,
    first_result,
    flatten_ids,
    is_sym,
    register,
    select_value,
)
from emulator.services.neptune.gremlin.predicates import values_equal
from emulator.services.neptune.gremlin.steps.reads import START
from emulator.services.neptune.store import DEFAULT_EDGE_LABEL, DEFAULT_VERTEX_LABEL, EdgeRecord, VertexRecord


class _Dynamic:
    """An argument that is a constant or an anonymous traversal evaluated per traverser."""

    def __init__(self, value: Any) -> None:
        self.steps = compile_bytecode(value) if isinstance(value, Bytecode) else None
        self.value = value

    def get(self, ctx: Context, trav: Traverser) -> Any:
        if self.steps is None:
            return self.value
        return first_result(ctx, self.steps, trav)


@register("addV")
class AddVStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) > 1 or (args and not isinstance(args[0], str | Bytecode)):
            raise MalformedQuery("addV() takes a label or a traversal giving one")
        self.label = _Dynamic(args[0] if args else DEFAULT_VERTEX_LABEL)

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            label = self.label.get(ctx, trav)
            if not isinstance(label, str):
                raise IllegalArgument(f"addV() label must be a string, got {describe(label)}")
            vertex = ctx.tx.add_vertex(None, label)
            yield Traverser(vertex) if trav.obj is START else trav.split(vertex)


@register("addE")
class AddEStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) != 1 or not isinstance(args[0], str | Bytecode):
            raise MalformedQuery("addE() takes a label or a traversal giving one")
        self.label = _Dynamic(args[0])
        self.from_: _Dynamic | None = None
        self.to: _Dynamic | None = None

    def modulate(self, name: str, args: list[Any]) -> None:
        if name not in ("from", "to") or len(args) != 1:
            super().modulate(name, args)
        if name == "from":
            self.from_ = _Dynamic(args[0])
        else:
            self.to = _Dynamic(args[0])

    def _end(self, ctx: Context, trav: Traverser, end: _Dynamic | None, which: str) -> VertexRecord:
        if end is None:
            value = trav.obj
        elif isinstance(end.value, str) and end.steps is None:
            value = select_value(trav, end.value, side_effects=ctx.side_effects)
        else:
            value = end.get(ctx, trav)
        if isinstance(value, VertexRecord):
            return value
        if value is not NOVALUE and value is not START and value is not None and not isinstance(value, dict):
            vertex = ctx.store.vertices.get(flatten_ids([value])[0]) if not isinstance(value, EdgeRecord) else None
            if vertex is not None:
                return vertex
        raise IllegalArgument(f"addE(): the {which} vertex must resolve to a Vertex or the ID of a Vertex present in "
                              f"the graph (got {describe(value)})")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            label = self.label.get(ctx, trav)
            if not isinstance(label, str):
                raise IllegalArgument(f"addE() label must be a string, got {describe(label)}")
            out_v = self._end(ctx, trav, self.from_, "from")
            in_v = self._end(ctx, trav, self.to, "to")
            edge = ctx.tx.add_edge(None, label, out_v, in_v)
            yield Traverser(edge) if trav.obj is START else trav.split(edge)


def _rekey(ctx: Context, element: VertexRecord | EdgeRecord, new_id: Any) -> None:
    """``property(T.id, x)`` right after addV/addE: only an element created by this request."""
    if not isinstance(new_id, str | int) or isinstance(new_id, bool):
        raise IllegalArgument(f"ids must be strings, got {describe(new_id)}")
    new_id = str(new_id)
    tx = ctx.tx
    if isinstance(element, VertexRecord):
        if tx.vertex_before.get(element.id, "missing") is not None or element.out_e or element.in_e:
            raise UnsupportedOperation("The id of an existing vertex cannot be changed; set T.id when adding it")
        if new_id in ctx.store.vertices:
            raise ConstraintViolation(f"Vertex with id already exists: {new_id}")
        del ctx.store.vertices[element.id]
        del tx.vertex_before[element.id]
        element.id = new_id
        ctx.store.vertices[new_id] = element
        tx.vertex_before[new_id] = None
    else:
        if tx.edge_before.get(element.id, "missing") is not None:
            raise UnsupportedOperation("The id of an existing edge cannot be changed; set T.id when adding it")
        if new_id in ctx.store.edges:
            raise ConstraintViolation(f"Edge with id already exists: {new_id}")
        del ctx.store.edges[element.id]
        del tx.edge_before[element.id]
        element.id = new_id
        ctx.store.edges[new_id] = element
        tx.edge_before[new_id] = None


def _relabel(ctx: Context, vertex: VertexRecord, label: Any) -> None:
    """``addV().property(T.label, x)``: the label of a vertex this request created (Neptune labels are fixed later)."""
    if not isinstance(label, str) or not label:
        raise IllegalArgument(f"a label must be a non-empty string, got {describe(label)}")
    if ctx.tx.vertex_before.get(vertex.id, "missing") is not None:
        raise UnsupportedOperation("The label of an existing vertex cannot be changed; set it when adding the vertex")
    ctx.tx.set_vertex_label(vertex, label)


def set_property(ctx: Context, element: Any, key: Any, value: Any, cardinality: str | None) -> None:
    """One ``property()`` write on a vertex or edge."""
    tx = ctx.tx
    if isinstance(value, CardinalityValue):
        cardinality, value = value.cardinality, value.value
    if is_sym(key, "T", "id"):
        _rekey(ctx, element, value)
        return
    if is_sym(key, "T", "label") and isinstance(element, VertexRecord):
        _relabel(ctx, element, value)
        return
    if isinstance(key, Sym):
        raise IllegalArgument(f"property() cannot set {key}")
    if not isinstance(key, str) or not key:
        raise IllegalArgument(f"property keys must be non-empty strings, got {describe(key)}")
    if isinstance(element, VertexRecord):
        if value is None:
            tx.remove_vertex_property(element, key)
        else:
            tx.set_vertex_property(element, key, value, cardinality or "set")
    elif isinstance(element, EdgeRecord):
        if value is None:
            tx.remove_edge_property(element, key)
        else:
            tx.set_edge_property(element, key, value)
    else:
        raise IllegalArgument(f"property() needs a vertex or an edge, got {describe(element)}")


@register("property")
class PropertyStep(Step):
    """``property([cardinality,] key, value)`` or ``property([cardinality,] map)``; a null or empty map writes
    nothing; the key and the value may be traversals."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.cardinality: str | None = None
        if args and is_sym(args[0], "Cardinality"):
            self.cardinality = args[0].name
            args = args[1:]
        self.map: dict[Any, Any] | None = None
        if len(args) == 1 and (args[0] is None or isinstance(args[0], dict)):
            self.map = args[0] or {}
            return
        if len(args) < 2:
            raise MalformedQuery("property() takes a key and a value")
        if len(args) > 2:
            raise UnsupportedOperation("Meta-properties are not supported by Neptune")
        self.key = _Dynamic(args[0])
        self.value = _Dynamic(args[1])

    def modulate(self, name: str, args: list[Any]) -> None:
        if name != "with":  # with() options on a property configure meta-properties, which Neptune has none of
            super().modulate(name, args)

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            if self.map is not None:
                for key, value in self.map.items():
                    set_property(ctx, trav.obj, key, value, self.cardinality)
            else:
                key = self.key.get(ctx, trav)
                value = self.value.get(ctx, trav)
                if value is NOVALUE:
                    raise IllegalArgument(f"property({key!r}): the value traversal produced nothing")
                set_property(ctx, trav.obj, key, value, self.cardinality)
            yield trav


@register("drop")
class DropStep(Step):
    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        tx = ctx.tx
        for trav in list(it):  # collect first: dropping while walking adjacency lists would skip items
            obj = trav.obj
            if isinstance(obj, VertexRecord):
                tx.drop_vertex(obj)
            elif isinstance(obj, EdgeRecord):
                tx.drop_edge(obj)
            elif isinstance(obj, PropRef):
                if isinstance(obj.element, VertexRecord):
                    tx.remove_vertex_property(obj.element, obj.key, obj.value, match_value=True)
                else:
                    tx.remove_edge_property(obj.element, obj.key)
            else:
                raise IllegalArgument(f"drop() needs an element or a property, got {describe(obj)}")
        return
        yield


def _merge_map(ctx: Context, source: _Dynamic | None, trav: Traverser, step: str) -> dict[Any, Any]:
    value = source.get(ctx, trav) if source is not None else trav.obj if trav.obj is not START else {}
    if value is NOVALUE or value is None:
        value = {}
    if not isinstance(value, dict):
        raise IllegalArgument(f"{step}() needs a map, got {describe(value)}")
    return value


def check_merge_map(criteria: dict[Any, Any]) -> None:
    """TinkerPop's checks on a merge map: no hidden (``~``) keys, and a label that is a visible string."""
    for key, value in criteria.items():
        if isinstance(key, str) and key.startswith("~"):
            raise IllegalArgument(f"Property key can not be a hidden key: {key}")
        if is_sym(key, "T", "label"):
            if not isinstance(value, str):
                raise IllegalArgument(f"T.label must be a string, got {describe(value)}")
            if value.startswith("~"):
                raise IllegalArgument(f"Label can not be a hidden key: {value}")


def check_no_overrides(criteria: dict[Any, Any], on_create: dict[Any, Any]) -> None:
    """``option(onCreate)`` may add to the merge map but not change any of its entries."""
    for key, value in on_create.items():
        if key in criteria and not values_equal(criteria[key], value):
            raise IllegalArgument(f"option(onCreate) cannot override values from merge() argument: ({key}, {value})")


def _matches_props(element: Any, criteria: dict[Any, Any]) -> bool:
    for key, wanted in criteria.items():
        if isinstance(key, Sym):
            continue
        values = element.props.get(key)
        if isinstance(element, VertexRecord):
            if not values or not any(values_equal(v, wanted) for v in values):
                return False
        elif key not in element.props or not values_equal(element.props[key], wanted):
            return False
    return True


def _id_of(criteria: dict[Any, Any]) -> str | None:
    for key, value in criteria.items():
        if is_sym(key, "T", "id"):
            return flatten_ids([value])[0]
    return None


def _label_of(criteria: dict[Any, Any]) -> str | None:
    for key, value in criteria.items():
        if is_sym(key, "T", "label"):
            if not isinstance(value, str):
                raise IllegalArgument(f"T.label must be a string, got {describe(value)}")
            return value
    return None


class MergeStep(Step):
    """Shared parts of mergeV and mergeE: the search map and the onCreate/onMatch options."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) > 1:
            raise MalformedQuery(f"{self.name}() takes one map or traversal")
        self.search = _Dynamic(args[0]) if args else None
        self.options: dict[str, _Dynamic] = {}

    def modulate(self, name: str, args: list[Any]) -> None:
        if name != "option" or len(args) != 2 or not is_sym(args[0], "Merge"):
            super().modulate(name, args)
        if isinstance(args[1], dict) and args[0].name in ("onCreate", "onMatch"):
            check_merge_map(args[1])  # a constant option is checked even when it is never used
        self.options[args[0].name] = _Dynamic(args[1])

    def _option(self, ctx: Context, trav: Traverser, name: str) -> dict[Any, Any] | None:
        source = self.options.get(name)
        if source is None:
            return None
        found = _merge_map(ctx, source, trav, self.name)
        check_merge_map(found)
        return found

    def _check_on_create(self, criteria: dict[Any, Any], on_create: dict[Any, Any], matched: bool) -> None:
        """onCreate may not override the merge map: always when creating, and when matching if it is a constant
        (TinkerPop lets a traversal-valued onCreate pass unchecked when it is not used)."""
        source = self.options.get("onCreate")
        if not matched or (source is not None and source.steps is None):
            check_no_overrides(criteria, on_create)

    def _apply_match(self, ctx: Context, element: Any, on_match: dict[Any, Any]) -> None:
        for key, value in on_match.items():
            if isinstance(key, Sym):
                raise IllegalArgument(f"{self.name}() onMatch cannot change {key}")
            cardinality = "single" if isinstance(element, VertexRecord) else None
            set_property(ctx, element, key, value, cardinality)


@register("mergeV")
class MergeVStep(MergeStep):
    def _find(self, ctx: Context, criteria: dict[Any, Any]) -> list[VertexRecord]:
        vid, label = _id_of(criteria), _label_of(criteria)
        if vid is not None:
            found = ctx.store.vertices.get(vid)
            candidates = [found] if found is not None else []
        else:
            candidates = list(ctx.store.vertices.values())
        return [v for v in candidates if (label is None or v.has_label(label)) and _matches_props(v, criteria)]

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            criteria = _merge_map(ctx, self.search, trav, "mergeV")
            check_merge_map(criteria)
            on_create = self._option(ctx, trav, "onCreate") or {}
            for key in criteria:
                if isinstance(key, Sym) and not (is_sym(key, "T", "id") or is_sym(key, "T", "label")):
                    raise IllegalArgument(f"mergeV() search keys are T.id, T.label or strings, got {key}")
            matched = self._find(ctx, criteria)
            self._check_on_create(criteria, on_create, bool(matched))
            if matched:
                for vertex in matched:
                    # onMatch runs with the matched element as its start: option(onMatch, sideEffect(property(...)))
                    on_match = self._option(ctx, Traverser(vertex, trav.labels), "onMatch")
                    if on_match:
                        self._apply_match(ctx, vertex, on_match)
                    yield _emit(trav, vertex)
                continue
            combined = {**on_create, **criteria}
            vertex = ctx.tx.add_vertex(_id_of(combined), _label_of(combined) or DEFAULT_VERTEX_LABEL)
            for key, value in combined.items():
                if not isinstance(key, Sym):
                    set_property(ctx, vertex, key, value, None)
            yield _emit(trav, vertex)


def _emit(trav: Traverser, obj: Any) -> Traverser:
    return Traverser(obj) if trav.obj is START else trav.split(obj)


def _end_id(criteria: dict[Any, Any], side: str) -> Any:
    for key, value in criteria.items():
        if _direction_key(key) == side:
            return value
    return None


def _direction_key(key: Any) -> str | None:
    if is_sym(key, "Direction"):
        return {"OUT": "OUT", "from": "OUT", "IN": "IN", "to": "IN"}.get(key.name)
    return None


@register("mergeE")
class MergeEStep(MergeStep):
    def _endpoint(self, ctx: Context, trav: Traverser, value: Any, side: str) -> VertexRecord | None:
        if is_sym(value, "Merge"):
            source = self.options.get(value.name)
            if source is None:
                raise IllegalArgument(f"mergeE(): {value} is used but option({value}, ...) is missing")
            found = source.get(ctx, trav)
            if not isinstance(found, dict):
                return self._endpoint(ctx, trav, found, side) if found is not NOVALUE else None
            option = found
            vid = _id_of(option)
            if vid is not None:
                return ctx.store.vertices.get(vid)
            label = _label_of(option)
            for vertex in ctx.store.vertices.values():
                if (label is None or vertex.has_label(label)) and _matches_props(vertex, option):
                    return vertex
            return None
        if isinstance(value, VertexRecord):
            return value
        return ctx.store.vertices.get(flatten_ids([value])[0])

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            criteria = _merge_map(ctx, self.search, trav, "mergeE")
            check_merge_map(criteria)
            on_create = self._option(ctx, trav, "onCreate") or {}
            ends: dict[str, VertexRecord | None] = {}
            for key, value in criteria.items():
                side = _direction_key(key)
                if side is not None:
                    ends[side] = self._endpoint(ctx, trav, value, side)
                elif isinstance(key, Sym) and not (is_sym(key, "T", "id") or is_sym(key, "T", "label")):
                    raise IllegalArgument(f"mergeE() search keys are T.id, T.label, Direction or strings, got {key}")
            eid, label = _id_of(criteria), _label_of(criteria)
            matched = self._find(ctx, eid, label, ends, criteria)
            self._check_on_create(criteria, on_create, bool(matched))
            if matched:
                for edge in matched:
                    # onMatch runs with the matched element as its start (see mergeV)
                    on_match = self._option(ctx, Traverser(edge, trav.labels), "onMatch")
                    if on_match:
                        self._apply_match(ctx, edge, on_match)
                    yield _emit(trav, edge)
                continue
            combined = {**on_create, **criteria}
            for key, value in on_create.items():
                side = _direction_key(key)
                if side is not None:
                    ends[side] = self._endpoint(ctx, trav, value, side)
            out_v, in_v = ends.get("OUT"), ends.get("IN")
            if out_v is None:
                raise IllegalArgument("Out Vertex not specified in mergeE()" if "OUT" not in ends
                                      else f"Vertex id could not be resolved from mergeE: {_end_id(combined, 'OUT')}")
            if in_v is None:
                raise IllegalArgument("In Vertex not specified in mergeE()" if "IN" not in ends
                                      else f"Vertex id could not be resolved from mergeE: {_end_id(combined, 'IN')}")
            edge = ctx.tx.add_edge(_id_of(combined), _label_of(combined) or DEFAULT_EDGE_LABEL, out_v, in_v)
            for key, value in combined.items():
                if not isinstance(key, Sym):
                    set_property(ctx, edge, key, value, None)
            yield _emit(trav, edge)

    def _find(self, ctx: Context, eid: str | None, label: str | None, ends: dict[str, VertexRecord | None],
              criteria: dict[Any, Any]) -> list[EdgeRecord]:
        if any(v is None for v in ends.values()):
            return []
        out_v, in_v = ends.get("OUT"), ends.get("IN")
        if eid is not None:
            found = ctx.store.edges.get(eid)
            candidates = [found] if found is not None else []
        elif out_v is not None:
            candidates = list(out_v.out_e)
        elif in_v is not None:
            candidates = list(in_v.in_e)
        else:
            candidates = list(ctx.store.edges.values())
        return [e for e in candidates
                if (label is None or e.label == label) and (out_v is None or e.out_v is out_v)
                and (in_v is None or e.in_v is in_v) and _matches_props(e, criteria)]
