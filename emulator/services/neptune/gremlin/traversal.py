"""Run one traversal against the store: source options, the transaction, results as wire objects.

Elements come back as references (id and label only), as Neptune returns them
(https://docs.aws.amazon.com/neptune/latest/userguide/access-graph-gremlin-differences.html):
``Vertex``, ``Edge``, ``VertexProperty`` and ``Property`` objects of gremlinpython, which both
serializers know how to write.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gremlin_python.process.traversal import Direction, T
from gremlin_python.statics import bigdecimal
from gremlin_python.structure.graph import Edge, Property, Vertex, VertexProperty
from gremlin_python.structure.graph import Path as WirePath
from gremlin_python.structure.io.util import HashableDict

from emulator.services.neptune.errors import (
    ConstraintViolation,
    GraphServiceError,
    IllegalArgument,
    InternalFailure,
    MalformedQuery,
    UnsupportedOperation,
)
from emulator.services.neptune.gremlin import steps  # noqa: F401  (importing the package registers every step)
from emulator.services.neptune.gremlin.bytecode import Bytecode, Sym
from emulator.services.neptune.gremlin.engine import (
    NOVALUE,
    PATH_STEPS,
    Context,
    ObjectMap,
    Path,
    PropRef,
    Step,
    Traverser,
    bulking_allowed,
    compile_bytecode,
    refuse_lambdas,
    run_steps,
    step_names,
)
from emulator.services.neptune.gremlin.gtypes import BulkSet, Float32, FrozenMap, OrderedSet, SubGraph, Tree
from emulator.services.neptune.gremlin.ml.steps import is_ml_option
from emulator.services.neptune.gremlin.predicates import PredicateError
from emulator.services.neptune.gremlin.steps.filters import fuse_range
from emulator.services.neptune.gremlin.steps.reads import START, GraphStep
from emulator.services.neptune.gremlin.strategies import (
    StrategyPlan,
    add_strategies,
    apply_strategies,
    remove_strategies,
)
from emulator.services.neptune.store import EdgeRecord, GraphError, GraphStore, VertexRecord

#: steps a root traversal (``g.…``) may begin with
START_STEPS = frozenset({"V", "E", "inject", "addV", "addE", "mergeV", "mergeE", "union"})
#: request options a client may set with ``with_()`` / ``OptionsStrategy`` (Gremlin Server's)
REQUEST_OPTIONS = frozenset({"evaluationTimeout", "scriptEvaluationTimeout", "batchSize", "requestId",
                             "userAgent", "materializeProperties"})
IGNORED_SOURCES = frozenset({"withPath"})


@dataclass
class SourceOptions:
    """What the ``g.with…()`` source instructions asked for."""

    options: dict[str, Any] = field(default_factory=dict)
    side_effects: dict[str, Any] = field(default_factory=dict)
    strategies: StrategyPlan = field(default_factory=StrategyPlan)
    #: ``withSideEffect(key, value, Operator)``: how the steps writing ``key`` combine values
    side_effect_operators: dict[str, str] = field(default_factory=dict)
    #: ``withSack(initial[, Operator])``: the initial sack and the merge operator (None: no sack)
    sack: tuple[Any, Any] | None = None
    #: ``withBulk(false)``: a barrier's merged traverser counts once, not once per traverser merged into it
    bulk: bool = True


def read_sources(bytecode: Bytecode) -> SourceOptions:
    """Interpret the source instructions; refuse the ones that would run code (withSack lambdas...)."""
    found = SourceOptions()
    for name, args in bytecode.sources:
        refuse_lambdas(args)
        if name == "withStrategies":
            add_strategies(found.strategies, args)
            found.options.update({k: v for k, v in found.strategies.options.items()
                                  if k in REQUEST_OPTIONS or is_ml_option(k)})
        elif name == "withoutStrategies":
            remove_strategies(found.strategies, args)
        elif name == "with":
            if not args or not isinstance(args[0], str):
                raise MalformedQuery("with() on the traversal source takes an option name")
            found.options[args[0]] = args[1] if len(args) > 1 else True
        elif name == "withSideEffect":
            if len(args) < 2 or not isinstance(args[0], str):
                raise MalformedQuery("withSideEffect() takes a key and a value")
            found.side_effects[args[0]] = args[1]
            if len(args) > 2 and isinstance(args[2], Sym) and args[2].kind == "Operator":
                found.side_effect_operators[args[0]] = args[2].name
        elif name == "withSack":
            if not args or len(args) > 2 or (len(args) == 2 and not isinstance(args[1], Sym)):
                raise MalformedQuery("withSack() takes an initial value and optionally a merge Operator")
            found.sack = (args[0], args[1] if len(args) == 2 else None)
        elif name == "withBulk":
            if len(args) != 1 or not isinstance(args[0], bool):
                raise MalformedQuery("withBulk() takes a boolean")
            found.bulk = args[0]
        elif name not in IGNORED_SOURCES:
            raise UnsupportedOperation(f"Unsupported traversal source step: {name}()")
    return found


_PLAIN = frozenset({str, int, float, bool})
#: what to_wire returns as it is: plain values and the T and Direction tokens (valueMap(true) keys...)
_KEPT = _PLAIN | {type(T.id), type(Direction.OUT)}


def _wire_ready(obj: dict[Any, Any]) -> bool:
    """True when to_wire would copy the map unchanged: kept keys, kept values or lists of them."""
    for key, value in obj.items():
        if type(key) not in _KEPT:
            return False
        kind = type(value)
        if kind not in _KEPT and (kind is not list or any(type(item) not in _KEPT for item in value)):
            return False
    return True


def to_wire(obj: Any) -> Any:
    """Replace store records by the reference objects the serializers write."""
    kind = type(obj)
    if kind in (str, int, float, bool) or obj is None:
        return obj
    if kind is VertexRecord or isinstance(obj, VertexRecord):  # a subclass: a snapshot read's vertex
        return Vertex(obj.id, obj.label)
    if kind is EdgeRecord:
        return Edge(obj.id, Vertex(obj.out_v.id, obj.out_v.label), obj.label, Vertex(obj.in_v.id, obj.in_v.label))
    if kind is dict and _wire_ready(obj):
        return obj  # no copy: a page is thousands of such maps (valueMap(), project() of ids)
    if kind is dict or kind is Tree:  # plain keys and values are kept without a call (a page has many)
        return {k if type(k) in _PLAIN else to_wire(k): v if type(v) in _PLAIN else to_wire(v) for k, v in obj.items()}
    if kind is FrozenMap:
        return HashableDict({to_wire(k): to_wire(v) for k, v in obj.items()})
    if kind is list or kind is BulkSet:
        return [v if type(v) in _PLAIN else to_wire(v) for v in obj]
    if kind is PropRef:
        if isinstance(obj.element, VertexRecord):
            return VertexProperty(obj.id, obj.key, obj.value, Vertex(obj.element.id, obj.element.label))
        return Property(obj.key, obj.value, None)
    if kind is tuple:
        return tuple(to_wire(v) for v in obj)
    if kind is set:
        return {to_wire(v) for v in obj}
    if kind is frozenset:  # a set used as a map key
        return frozenset(to_wire(v) for v in obj)
    if kind is decimal.Decimal:
        return bigdecimal(obj)
    if kind is Float32:  # gremlinpython has no float32 type; the value goes as a double
        return float(obj)
    if kind is OrderedSet:
        items = [to_wire(v) for v in obj]
        try:
            return set(items)
        except TypeError:  # unhashable members: the order-keeping list
            return items
    if kind is Path:
        return WirePath(obj.labels, [to_wire(v) for v in obj.objects])
    if kind is SubGraph:
        raise UnsupportedOperation("A subgraph() graph can not be returned: gremlinpython has no Graph type to "
                                   "read it into; return its elements instead (cap(key) inside the traversal only)")
    return obj


def compile_root(bytecode: Bytecode, strategies: StrategyPlan | None = None) -> list[Any]:
    """Compile a ``g.…`` traversal, checking it starts with a start step; strategies rewrite it first."""
    if strategies is not None:
        bytecode = apply_strategies(strategies, bytecode)
    if not bytecode.steps:
        raise MalformedQuery("The traversal has no steps")
    first = bytecode.steps[0][0]
    if first not in START_STEPS:
        raise MalformedQuery(f"A traversal must start with one of {sorted(START_STEPS)}, not {first}()")
    return fuse_range(compile_bytecode(bytecode))


def scan_plan(compiled: list[Step]) -> tuple[GraphStep, list[ObjectMap]] | None:
    """A root traversal that is a scan followed only by object maps (``V().range(a, b).valueMap(true)``,
    ``E().range(a, b).project(...).by(outV().id())...``), as the scan and the maps; else None.

    Such a plan runs as plain calls per element (:func:`_scan_results`): each element would be one
    traverser of bulk 1 that no step but the maps sees, and the maps read only its object, so the
    results are those of the step pipeline, and nothing in it can write.
    """
    if not compiled or not isinstance(compiled[0], GraphStep) or compiled[0].ids is not None:
        return None
    maps = [step.object_map() for step in compiled[1:]]
    if any(fn is None for fn in maps):
        return None
    return compiled[0], maps  # type: ignore[return-value]


def _scan_results(ctx: Context, scan: GraphStep, maps: list[ObjectMap]) -> Iterator[Any]:
    tick = ctx.tick
    for element in scan.scan(ctx):
        tick()
        obj = element
        for fn in maps:
            obj = fn(ctx, obj)
            if obj is NOVALUE:
                break
        else:
            yield to_wire(obj)


def _pipeline_results(ctx: Context, compiled: list[Step]) -> Iterator[Any]:
    for trav in run_steps(ctx, compiled, iter((Traverser(START),))):
        for _ in range(trav.bulk):  # a bulked result is that many results on the wire
            yield to_wire(trav.obj)


def execute_stream(store: GraphStore, bytecode: Bytecode, timeout_ms: float | None = None) -> Iterator[Any]:
    """Run a traversal in its own transaction, yielding its results (wire objects) as they come.

    The store lock is held until the generator finishes, so the traversal sees one consistent
    graph; the transaction commits when the last result has been produced (or rolls back if the
    traversal fails or the consumer stops early).

    Raises:
        GraphServiceError: the traversal was refused or failed; nothing it wrote is kept.
    """
    try:
        sources = read_sources(bytecode)
        timeout = sources.options.get("evaluationTimeout", sources.options.get("scriptEvaluationTimeout"))
        if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0:
            timeout_ms = float(timeout)
        compiled = compile_root(bytecode, sources.strategies)
        with store.transaction() as tx:
            ctx = Context(store, tx, timeout_ms)
            if sources.strategies.seed is not None:
                ctx.rng.seed(sources.strategies.seed)
                ctx.seed = sources.strategies.seed
            ctx.side_effects.update(sources.side_effects)
            ctx.side_effect_operators.update(sources.side_effect_operators)
            if sources.sack is not None:
                ctx.sack_initial, ctx.sack_merge = sources.sack
            ctx.bulk = sources.bulk
            names = step_names(bytecode)
            ctx.bulking = sources.sack is None and bulking_allowed(names)
            ctx.track_paths = bool(names & PATH_STEPS)
            ctx.source_options = sources.options
            plan = scan_plan(compiled)
            yield from _scan_results(ctx, *plan) if plan is not None else _pipeline_results(ctx, compiled)
    except GraphServiceError:
        raise
    except GraphError as error:
        raise ConstraintViolation(str(error)) from None
    except PredicateError as error:
        raise IllegalArgument(str(error)) from None
    except RecursionError:
        raise MalformedQuery("The traversal is nested too deeply") from None
    except Exception as error:  # a bug of ours: say so rather than drop the connection
        raise InternalFailure(f"{type(error).__name__}: {error}") from error


def execute(store: GraphStore, bytecode: Bytecode, timeout_ms: float | None = None) -> list[Any]:
    """Run a traversal to the end and return all its results (see :func:`execute_stream`)."""
    return list(execute_stream(store, bytecode, timeout_ms))


def request_options(bytecode: Bytecode) -> dict[str, Any]:
    """The request options carried inside the bytecode (batchSize via ``with_``/OptionsStrategy)."""
    try:
        return read_sources(bytecode).options
    except GraphServiceError:
        return {}
