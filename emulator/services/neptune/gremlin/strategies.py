"""Traversal strategies: what ``g.withStrategies(...)``/``withoutStrategies(...)`` ask for, applied.

A strategy either changes what a traversal means, and is applied here by rewriting its bytecode
before it is compiled (TinkerPop's decoration and verification strategies:
https://tinkerpop.apache.org/docs/3.7.0/reference/#traversalstrategy), or it only changes how
TinkerPop's own engine runs a traversal (the optimizations), which this engine has no use for:
those are accepted and change nothing. A strategy this module does not know is an error, never a
silent no-op.

- ``ReadOnlyStrategy``: a traversal with a mutating step is refused before it runs.
- ``SubgraphStrategy(vertices, edges, vertexProperties, checkAdjacentVertices)``: every step that
  reaches vertices, edges or vertex properties is followed by the matching filter; ``out()`` becomes
  ``outE().<edge filter>.inV()`` so that the edge filter applies to walks too.
- ``PartitionStrategy(partitionKey, writePartition, readPartitions)``: reads see only elements whose
  partition key is in ``readPartitions``; ``addV``/``addE``/``mergeV``/``mergeE`` stamp ``writePartition``;
  ``properties()``/``values()`` without keys hide the partition key.
- ``SeedStrategy(seed)``: ``coin``, ``sample`` and ``order().by(shuffle)`` draw from one seeded generator.
- ``OptionsStrategy``: request options (``evaluationTimeout``...), see ``traversal.REQUEST_OPTIONS``.
- ``EdgeLabelVerificationStrategy``, ``ReservedKeysVerificationStrategy``: their checks, when
  ``throwException`` is set.
- ``ProductiveByStrategy``: a ``by()`` that produces nothing gives ``null`` instead of filtering the
  traverser (``by("age")`` becomes ``by(coalesce(values("age"), constant(null)))``).
- ``VertexProgramStrategy``: refused (Neptune has no GraphComputer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.services.neptune.errors import MalformedQuery, UnsupportedOperation
from emulator.services.neptune.gremlin.bytecode import Bytecode, ClassRef, Pred, Strategy, Sym

#: strategies that only tune TinkerPop's own execution; results do not depend on them
OPTIMIZATIONS = frozenset({
    "AdjacentToIncidentStrategy", "ByModulatorOptimizationStrategy", "CountStrategy", "EarlyLimitStrategy",
    "FilterRankingStrategy", "IdentityRemovalStrategy", "IncidentToAdjacentStrategy", "InlineFilterStrategy",
    "LazyBarrierStrategy", "MatchPredicateStrategy", "OrderLimitStrategy", "PathProcessorStrategy",
    "PathRetractionStrategy", "RepeatUnrollStrategy", "MessagePassingReductionStrategy", "ConnectiveStrategy",
    "GraphFilterStrategy", "ProfileStrategy", "ReferenceElementStrategy", "HaltedTraverserStrategy",
    "MatchAlgorithmStrategy", "ComputerFinalizationStrategy", "ComputerVerificationStrategy",
    "StandardVerificationStrategy", "LambdaRestrictionStrategy", "VertexProgramRestrictionStrategy",
    "ElementIdStrategy",
})
#: strategies this module applies
APPLIED = frozenset({"ReadOnlyStrategy", "SubgraphStrategy", "PartitionStrategy", "SeedStrategy", "OptionsStrategy",
                     "EdgeLabelVerificationStrategy", "ReservedKeysVerificationStrategy", "VertexProgramStrategy",
                     "ProductiveByStrategy"})
#: steps whose by() traversal reduces (group().by(x).by(count())): ProductiveByStrategy leaves those as they are
_REDUCERS = frozenset({"count", "fold", "sum", "min", "max", "mean", "group", "groupCount", "tree"})
KNOWN = OPTIMIZATIONS | APPLIED

MUTATING_STEPS = frozenset({"addV", "addE", "property", "drop", "mergeV", "mergeE"})
MODULATORS = frozenset({"by", "with", "from", "to", "option"})
_ADJACENT = {"out": ("outE", "inV"), "in": ("inE", "outV"), "both": ("bothE", "otherV")}
_VERTEX_STEPS = frozenset({"V", "outV", "inV", "bothV", "otherV"})
_EDGE_STEPS = frozenset({"E", "outE", "inE", "bothE"})
_RESERVED_DEFAULT = frozenset({"id", "label"})

Instruction = tuple[str, list[Any]]


@dataclass
class StrategyPlan:
    """The strategies of one request, read from its source instructions."""

    read_only: bool = False
    vertices: Bytecode | None = None
    edges: Bytecode | None = None
    vertex_properties: Bytecode | None = None
    check_adjacent: bool = True
    partition_key: str | None = None
    write_partition: str | None = None
    read_partitions: list[Any] = field(default_factory=list)
    seed: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    edge_labels_required: bool = False
    reserved_keys: frozenset[str] | None = None
    productive_by: bool = False
    #: ``withoutStrategies(ConnectiveStrategy)``: infix ``and()``/``or()`` stay the empty steps they are
    connective: bool = True

    @property
    def rewrites(self) -> bool:
        return self.productive_by or any(x is not None for x in (self.vertices, self.edges, self.vertex_properties,
                                                                 self.partition_key))


def strategy_name(value: Any) -> str:
    """The simple class name of a strategy, whichever way it was sent (GraphBinary sends the full name)."""
    if isinstance(value, Strategy | ClassRef):
        return value.name.rsplit(".", 1)[-1].split("$")[-1]
    if isinstance(value, str):
        return value.rsplit(".", 1)[-1]
    raise MalformedQuery(f"withStrategies() expects strategies, got {type(value).__name__}")


def strategy_config(strategy: Strategy) -> dict[str, Any]:
    """A strategy's configuration (GraphSON wraps it as ``{fqcn, conf}``)."""
    config = strategy.config
    if isinstance(config.get("conf"), dict) and "fqcn" in config:
        return config["conf"]
    return config


def _known(name: str) -> str:
    if name not in KNOWN:
        raise UnsupportedOperation(f"Unsupported traversal strategy: {name}")
    return name


def _traversal(config: dict[str, Any], key: str) -> Bytecode | None:
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, Bytecode):
        raise MalformedQuery(f"SubgraphStrategy: {key} must be a traversal")
    return value


def add_strategies(plan: StrategyPlan, strategies: list[Any]) -> None:
    """Fold the arguments of one ``withStrategies()`` into the plan."""
    for strategy in strategies:
        name = _known(strategy_name(strategy))
        config = strategy_config(strategy) if isinstance(strategy, Strategy) else {}
        if name == "ReadOnlyStrategy":
            plan.read_only = True
        elif name == "SubgraphStrategy":
            plan.vertices = _traversal(config, "vertices")
            plan.edges = _traversal(config, "edges")
            plan.vertex_properties = _traversal(config, "vertexProperties")
            plan.check_adjacent = bool(config.get("checkAdjacentVertices", True))
        elif name == "PartitionStrategy":
            key = config.get("partitionKey")
            if not isinstance(key, str) or not key:
                raise MalformedQuery("PartitionStrategy needs a partitionKey")
            plan.partition_key = key
            plan.write_partition = config.get("writePartition")
            plan.read_partitions = list(config.get("readPartitions") or [])
        elif name == "SeedStrategy":
            seed = config.get("seed")
            if not isinstance(seed, int) or isinstance(seed, bool):
                raise MalformedQuery("SeedStrategy needs an integer seed")
            plan.seed = seed
        elif name == "OptionsStrategy":
            plan.options.update(config)
        elif name == "EdgeLabelVerificationStrategy":
            plan.edge_labels_required = bool(config.get("throwException", False))
        elif name == "ReservedKeysVerificationStrategy":
            if config.get("throwException", False):
                keys = config.get("keys")
                plan.reserved_keys = frozenset(keys) if keys else _RESERVED_DEFAULT
        elif name == "ProductiveByStrategy":
            plan.productive_by = True
        elif name == "VertexProgramStrategy":
            raise UnsupportedOperation("The TraversalSource does not allow the use of a GraphComputer "
                                       "(Neptune runs OLTP traversals only)")


def remove_strategies(plan: StrategyPlan, strategies: list[Any]) -> None:
    """``withoutStrategies()``: turn off the named strategies (each must be one this server knows)."""
    for strategy in strategies:
        name = _known(strategy_name(strategy))
        if name == "ReadOnlyStrategy":
            plan.read_only = False
        elif name == "SubgraphStrategy":
            plan.vertices = plan.edges = plan.vertex_properties = None
        elif name == "PartitionStrategy":
            plan.partition_key = None
        elif name == "SeedStrategy":
            plan.seed = None
        elif name == "EdgeLabelVerificationStrategy":
            plan.edge_labels_required = False
        elif name == "ReservedKeysVerificationStrategy":
            plan.reserved_keys = None
        elif name == "ProductiveByStrategy":
            plan.productive_by = False
        elif name == "ConnectiveStrategy":
            plan.connective = False


# -- verification ---------------------------------------------------------------------------

def _instructions(bytecode: Bytecode) -> list[Instruction]:
    """Every step of a traversal and of the traversals nested in its arguments."""
    found: list[Instruction] = []
    pending = [bytecode]
    while pending:
        current = pending.pop()
        for name, args in current.steps:
            found.append((name, args))
            pending.extend(_nested(args))
    return found


def _nested(value: Any) -> list[Bytecode]:
    if isinstance(value, Bytecode):
        return [value]
    if isinstance(value, list | tuple | set):
        return [b for item in value for b in _nested(item)]
    if isinstance(value, dict):
        return [b for item in value.values() for b in _nested(item)]
    return []


def verify(plan: StrategyPlan, bytecode: Bytecode) -> None:
    """The verification strategies' checks.

    Raises:
        UnsupportedOperation: ReadOnlyStrategy and a mutating step.
        MalformedQuery: EdgeLabelVerification or ReservedKeysVerification refused a step.
    """
    for name, args in _instructions(bytecode):
        if plan.read_only and name in MUTATING_STEPS:
            raise UnsupportedOperation(f"The provided traversal has a mutating step and thus is not read only: "
                                       f"{name}() (ReadOnlyStrategy)")
        if plan.edge_labels_required and name in ("out", "in", "both", "outE", "inE", "bothE") and not args:
            raise MalformedQuery("The provided traversal contains a vertex step without any specified edge label: "
                                 f"{name}() (EdgeLabelVerificationStrategy)")
        if plan.reserved_keys is not None and name == "property":
            keys = [a for a in args if isinstance(a, str)][:1]
            if keys and keys[0] in plan.reserved_keys:
                raise MalformedQuery(f"The provided traversal is setting a property key to a reserved word: "
                                     f"{keys[0]} (ReservedKeysVerificationStrategy)")


# -- rewriting ------------------------------------------------------------------------------

def _groups(steps: list[Instruction]) -> list[list[Instruction]]:
    """Steps with the modulators that follow each (``addE().from().to()`` is one group)."""
    groups: list[list[Instruction]] = []
    for step in steps:
        if step[0] in MODULATORS and groups:
            groups[-1].append(step)
        else:
            groups.append([step])
    return groups


class Rewriter:
    """Applies the decoration strategies (Subgraph, Partition) to a traversal's steps, nested ones included."""

    def __init__(self, plan: StrategyPlan) -> None:
        self.plan = plan
        key = plan.partition_key
        self.partition_filter: list[Instruction] = (
            [("has", [key, Pred("within", [list(plan.read_partitions)])])] if key is not None else [])

    def vertex_filter(self) -> list[Instruction]:
        found = list(self.partition_filter)
        if self.plan.vertices is not None:
            found.append(("filter", [self.plan.vertices]))
        return found

    def edge_filter(self) -> list[Instruction]:
        found = list(self.partition_filter)
        if self.plan.edges is not None:
            found.append(("filter", [self.plan.edges]))
        vertices = self.vertex_filter()
        if self.plan.check_adjacent and vertices and self.plan.vertices is not None:
            for end in ("outV", "inV"):
                found.append(("filter", [Bytecode([(end, []), *vertices])]))
        return found

    def rewrite(self, bytecode: Bytecode) -> Bytecode:
        return Bytecode(self.steps(bytecode.steps), list(bytecode.sources))

    def _arg(self, value: Any) -> Any:
        if isinstance(value, Bytecode):
            return self.rewrite(value)
        if isinstance(value, list):
            return [self._arg(v) for v in value]
        return value

    def steps(self, steps: list[Instruction]) -> list[Instruction]:
        out: list[Instruction] = []
        for group in _groups(steps):
            (name, args), modulators = group[0], group[1:]
            args = [self._arg(a) for a in args]
            modulators = [(m, [self._arg(a) for a in margs]) for m, margs in modulators]
            if self.plan.productive_by:
                modulators = _productive_modulators(name, modulators)
            out.extend(self._step(name, args, modulators))
        return out

    def _step(self, name: str, args: list[Any], modulators: list[Instruction]) -> list[Instruction]:
        plan = self.plan
        here: list[Instruction] = [(name, args), *modulators]
        if name in _ADJACENT and (plan.edges is not None or self.partition_filter):
            edge_step, vertex_step = _ADJACENT[name]
            return [(edge_step, args), *modulators, *self.edge_filter(), (vertex_step, []), *self.vertex_filter()]
        if name in _ADJACENT or name in _VERTEX_STEPS:
            return here + self.vertex_filter()
        if name in _EDGE_STEPS:
            return here + self.edge_filter()
        if name in ("properties", "values"):
            return self._properties(name, args, modulators)
        if plan.partition_key is not None and plan.write_partition is not None:
            return self._stamp(name, args, modulators)
        return here

    def _properties(self, name: str, args: list[Any], modulators: list[Instruction]) -> list[Instruction]:
        plan = self.plan
        extra: list[Instruction] = []
        if plan.partition_key is not None and not args:
            extra.append(("hasKey", [Pred("neq", [plan.partition_key])]))
        if plan.vertex_properties is not None:
            extra.append(("filter", [plan.vertex_properties]))
        if not extra:
            return [(name, args), *modulators]
        if name == "values":
            return [("properties", args), *extra, ("value", [])]
        return [(name, args), *modulators, *extra]

    def _stamp(self, name: str, args: list[Any], modulators: list[Instruction]) -> list[Instruction]:
        """Writes put the element in the write partition."""
        key, partition = self.plan.partition_key, self.plan.write_partition
        if name in ("addV", "addE"):
            return [(name, args), *modulators, ("property", [key, partition])]
        if name in ("mergeV", "mergeE"):
            args = [_with_entry(a, key, partition) for a in args] or [{key: partition}]
            modulators = [(m, [margs[0], _with_entry(margs[1], key, partition)])
                          if m == "option" and len(margs) == 2 and isinstance(margs[0], Sym)
                          and margs[0].name in ("onCreate",) else (m, margs) for m, margs in modulators]
        return [(name, args), *modulators]


def _productive_modulators(step: str, modulators: list[Instruction]) -> list[Instruction]:
    """ProductiveByStrategy on one step's modulators; group()'s value ``by(key)`` still folds its members."""
    out: list[Instruction] = []
    bys = 0
    for name, args in modulators:
        if name == "by":
            out.append((name, _productive(args, fold=step == "group" and bys == 1)))
            bys += 1
        else:
            out.append((name, args))
    return out


def _productive(args: list[Any], fold: bool = False) -> list[Any]:
    """``by(x)`` that gives null where ``x`` gives nothing (ProductiveByStrategy)."""
    if not args:
        return args
    first = args[0]
    if isinstance(first, str):
        inner = Bytecode([("values", [first])])
    elif isinstance(first, Bytecode) and first.steps and first.steps[-1][0] not in _REDUCERS:
        inner = first
    else:
        return args
    wrapped: list[Instruction] = [("coalesce", [inner, Bytecode([("constant", [None])])])]
    if fold and isinstance(first, str):
        wrapped.append(("fold", []))
    return [Bytecode(wrapped), *args[1:]]


def _with_entry(value: Any, key: Any, item: Any) -> Any:
    if isinstance(value, dict):
        return {**value, key: item}
    return value


def apply_strategies(plan: StrategyPlan, bytecode: Bytecode) -> Bytecode:
    """Check and rewrite a root traversal for the plan's strategies."""
    verify(plan, bytecode)
    if not plan.connective:
        bytecode = _unfolded_connectives(bytecode)
    if not plan.rewrites:
        return bytecode
    return Rewriter(plan).rewrite(bytecode)


def _unfolded_connectives(bytecode: Bytecode) -> Bytecode:
    """Without ConnectiveStrategy an infix ``or()`` is an ``or`` of no traversals (nothing passes) and an infix
    ``and()`` one of none (everything passes), as TinkerPop runs them."""
    steps: list[Instruction] = []
    for name, args in bytecode.steps:
        if name == "or" and not args:
            steps.append(("not", [Bytecode([("identity", [])])]))
        elif name == "and" and not args:
            steps.append(("identity", []))
        else:
            steps.append((name, [_unfolded_connectives(a) if isinstance(a, Bytecode) else a for a in args]))
    return Bytecode(steps, bytecode.sources)
