"""The bytecode interpreter's core: traversers, the step registry, compiling and running.

A traversal is compiled into a list of :class:`Step` objects; running it chains each step's
generator over the previous one (lazy, one traverser at a time), as TinkerPop's step pipeline
does (https://tinkerpop.apache.org/docs/3.7.0/reference/#traversal). Modulators (``by``, ``with``,
``from``, ``to``, ``option``) attach to the step before them. Pure: no IO, no wire types.

Traversers carry a bulk (TinkerPop's ``Traverser.bulk()``): ``repeat()`` merges equal traversers into one
of summed bulk (see :mod:`.steps.repeats`). A step declares ``bulk_aware`` when it honours bulk (it carries it
through ``split``/``replace`` or counts it); every other step gets each bulked traverser as that many bulk-1
copies (:func:`run_steps`), so a step written for bulk 1 stays correct.
"""

from __future__ import annotations

import copy
import random
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from gremlin_python.process.traversal import T

from emulator.services.neptune import quick
from emulator.services.neptune.errors import IllegalArgument, MalformedQuery, TimeLimitExceeded, UnsupportedOperation
from emulator.services.neptune.gremlin.bytecode import Bytecode, Lambda, Pred, Sym
from emulator.services.neptune.gremlin.javarandom import JavaRandom
from emulator.services.neptune.gremlin.predicates import (
    ORDER_KEYS,
    PredicateError,
    compile_predicate,
    path_sort_key,
    property_sort_key,
)
from emulator.services.neptune.store import EdgeRecord, GraphStore, Transaction, VertexRecord

MODULATORS = frozenset({"by", "with", "from", "to", "option"})


class _NoValue:
    """Marks "this traverser produced nothing" (an unproductive ``by()``, a missing key)."""

    def __repr__(self) -> str:
        return "NOVALUE"


NOVALUE: Any = _NoValue()


class PropRef:
    """A property as a traversal object: what ``properties()`` emits.

    A vertex property is one value of one key (set cardinality), an edge property the key's value.
    """

    __slots__ = ("element", "key", "value")

    def __init__(self, element: VertexRecord | EdgeRecord, key: str, value: Any) -> None:
        self.element = element
        self.key = key
        self.value = value

    @property
    def id(self) -> str:
        """A stable id for a vertex property (Neptune's are opaque strings)."""
        digest = zlib.crc32(f"{self.element.id}\x00{self.key}\x00{self.value!r}".encode())
        return f"{digest:08x}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PropRef) or other.key != self.key or other.value != self.value:
            return False
        # TinkerPop: an edge property equals any property with its key and value, a vertex property is its own
        return other.element is self.element or (isinstance(self.element, EdgeRecord)
                                                 and isinstance(other.element, EdgeRecord))

    def __hash__(self) -> int:
        owner = 0 if isinstance(self.element, EdgeRecord) else id(self.element)
        return hash((owner, self.key, repr(self.value)))


#: the object the root traversal starts from (start steps ignore it, other steps refuse it)
START: Any = object()
_new_traverser = object.__new__


class PathNode:
    """One step of a traverser's history: the object, the ``as()`` labels given to it, the step before.

    A linked list shared between the traversers split from one another, so extending a path is O(1).
    """

    __slots__ = ("obj", "names", "parent")

    def __init__(self, obj: Any, names: tuple[str, ...] = (), parent: PathNode | None = None) -> None:
        self.obj = obj
        self.names = names
        self.parent = parent

    def nodes(self) -> list[PathNode]:
        """The nodes from the first step to this one."""
        found: list[PathNode] = []
        node: PathNode | None = self
        while node is not None:
            found.append(node)
            node = node.parent
        found.reverse()
        return found


class Path:
    """What ``path()`` emits: the objects a traverser went through and the labels of each step."""

    __slots__ = ("labels", "objects")

    def __init__(self, labels: list[set[str]], objects: list[Any]) -> None:
        self.labels = labels
        self.objects = objects

    @classmethod
    def of(cls, node: PathNode | None) -> Path:
        nodes = node.nodes() if node is not None else []
        return cls([set(n.names) for n in nodes], [n.obj for n in nodes])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Path) and other.objects == self.objects and other.labels == self.labels

    def __hash__(self) -> int:
        return hash(len(self.objects))

    def __repr__(self) -> str:
        return f"path{self.objects!r}"


ORDER_KEYS[PropRef] = lambda prop: property_sort_key(prop.key, prop.value, isinstance(prop.element, VertexRecord))
ORDER_KEYS[Path] = lambda path: path_sort_key(path.objects)


class Traverser:
    """One object moving through the steps, and its state (TinkerPop's ``Traverser``).

    - ``labels``: the objects given each ``as()`` name, in order (what ``select()`` reads);
    - ``path``: the objects it went through (:class:`PathNode`), each with its ``as()`` names;
    - ``loops``: one ``(name, count)`` per enclosing ``repeat()``, innermost last;
    - ``sack``: its sack value (``withSack``), NOVALUE until first read;
    - ``origin``: the vertex an edge was reached from (for ``otherV()``).

    A map step makes the next traverser with :meth:`split`, which extends the path and keeps the rest.
    """

    __slots__ = ("obj", "labels", "origin", "path", "loops", "sack", "bulk")

    def __init__(self, obj: Any, labels: dict[str, list[Any]] | None = None, origin: Any = None,
                 path: PathNode | None = None, loops: tuple[tuple[str | None, int], ...] = (),
                 sack: Any = None, bulk: int = 1) -> None:
        self.obj = obj
        self.labels = labels
        self.origin = origin
        self.path = path if path is not None or obj is START else PathNode(obj)
        self.loops = loops
        self.sack = NOVALUE if sack is None else sack
        #: how many identical traversers this one stands for
        self.bulk = bulk

    def split(self, obj: Any, origin: Any = None) -> Traverser:
        """The traverser that carries on with ``obj``: same labels, loops, sack and bulk, one more path step."""
        return Traverser(obj, self.labels, origin, PathNode(obj, (), self.path), self.loops, self.sack, self.bulk)

    def replace(self, **changes: Any) -> Traverser:
        """A copy with some state changed (``obj``, ``labels``, ``path``, ``loops``, ``sack``, ``bulk``)."""
        # built field by field: the by() modulators call this once per traverser and value
        trav = _new_traverser(Traverser)
        get = changes.get
        obj = trav.obj = get("obj", self.obj)
        trav.labels = get("labels", self.labels)
        trav.origin = get("origin", self.origin)
        path = get("path", self.path)
        trav.path = path if path is not None or obj is START else PathNode(obj)
        trav.loops = get("loops", self.loops)
        trav.sack = get("sack", self.sack)
        trav.bulk = get("bulk", self.bulk)
        return trav

    def with_bulk(self, bulk: int) -> Traverser:
        """The same traverser standing for ``bulk`` copies."""
        if bulk == self.bulk:
            return self
        trav = Traverser(self.obj, self.labels, self.origin, self.path, self.loops, bulk=bulk)
        trav.sack = self.sack
        return trav

    def named(self, names: list[str]) -> Traverser:
        """The same traverser with ``as(names)`` applied: the labels and the current path step get them."""
        labels = dict(self.labels) if self.labels else {}
        for name in names:
            labels[name] = [*labels.get(name, []), self.obj]
        head = self.path
        if head is None:
            path = PathNode(self.obj, tuple(names))
        else:
            path = PathNode(head.obj, head.names + tuple(n for n in names if n not in head.names), head.parent)
        return self.replace(labels=labels, path=path)

    def loop_count(self, name: str | None = None) -> int:
        """``loops()``: how many times the innermost (or the named) ``repeat()`` ran for this traverser."""
        if name is None:
            return self.loops[-1][1] if self.loops else 0
        for loop_name, count in reversed(self.loops):
            if loop_name == name:
                return count
        return 0


class Context:
    """What steps may use while running: the graph, the open transaction, the deadline."""

    def __init__(self, store: GraphStore, tx: Transaction | None, timeout_ms: float | None = None) -> None:
        self.store = store
        self._tx = tx
        self.deadline = time.monotonic() + timeout_ms / 1000.0 if timeout_ms else None
        quick_deadline = quick.deadline()  # tried on the event loop: the checks below end the attempt in time
        if quick_deadline is not None and (self.deadline is None or quick_deadline < self.deadline):
            self.deadline = quick_deadline
        self.side_effects: dict[str, Any] = {}
        #: what coin/sample/shuffle draw from; SeedStrategy seeds it
        self.rng = random.Random()
        #: ``SeedStrategy(seed)``: each random step then draws from its own Java ``Random(seed)``
        self.seed: int | None = None
        self._step_rngs: dict[int, random.Random] = {}
        #: ``withSideEffect(key, value, Operator)``: the operator that folds new values into ``key``
        self.side_effect_operators: dict[str, str] = {}
        #: ``withSack(initial)``: the sack a traverser starts with (NOVALUE: no sack)
        self.sack_initial: Any = NOVALUE
        #: ``withSack(initial, Operator)``: how barriers merge sacks (unused with bulk 1)
        self.sack_merge: Any = None
        #: ``withBulk(false)``: see :class:`~.steps.sacks.BarrierStep`
        self.bulk = True
        #: state kept across the runs of a child traversal (keyed by the step or the side-effect key)
        self.step_state: dict[Any, Any] = {}
        #: whether ``repeat()`` may merge equal traversers (see :func:`bulking_allowed`); off: every bulk is 1
        self.bulking = False
        #: whether a step reads paths (path(), simplePath()...): traversers with different paths never merge
        self.track_paths = True
        #: the ``g.with(name, value)`` options of the request (the ``Neptune#ml.*`` ones are read by ML steps)
        self.source_options: dict[str, Any] = {}
        self._ticks = 0

    def rng_for(self, step: Any) -> random.Random:
        """The generator a random step draws from: its own Java ``Random(seed)`` under SeedStrategy (as
        TinkerPop's SeedStrategy gives each step), else the traversal's shared one."""
        if self.seed is None:
            return self.rng
        rng = self._step_rngs.get(id(step))
        if rng is None:
            rng = self._step_rngs[id(step)] = JavaRandom(self.seed)
        return rng

    def initial_sack(self) -> Any:
        """A fresh copy of the ``withSack()`` initial value (each traverser owns its sack)."""
        return copy.deepcopy(self.sack_initial)

    @property
    def tx(self) -> Transaction:
        if self._tx is None:
            raise UnsupportedOperation("this request is read-only; it cannot change the graph")
        return self._tx

    def tick(self) -> None:
        """Call often in long loops: raises TimeLimitExceeded after the deadline."""
        self._ticks += 1
        if self.deadline is not None and self._ticks & 1023 == 0 and time.monotonic() > self.deadline:
            quick.give_up_if_over()
            raise TimeLimitExceeded("A timeout occurred within the script or was otherwise cancelled "
                                    "directly during evaluation of the request (evaluationTimeout)")


class Step:
    """One step of a compiled traversal. Subclasses set ``name`` and override :meth:`run`."""

    name = "step"
    #: a reducing barrier (count, fold, sum...): ``group().by(x).by(<this>)`` uses it as the reducer
    reducing = False
    #: set on the first step of every compiled traversal (inject() orders its output by it)
    leads = False
    #: a step whose result depends on all the traversers it sees (order, limit, dedup, aggregate...):
    #: a branch holding one must get all its inputs as one stream (see :func:`holds_state`)
    barrier = False
    #: the step honours ``Traverser.bulk`` (else it is given bulk-1 copies, see :func:`run_steps`)
    bulk_aware = False

    def __init__(self, args: list[Any]) -> None:
        self.args = args

    def modulate(self, name: str, args: list[Any]) -> None:
        raise MalformedQuery(f"{self.name}() cannot be modulated by {name}()")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        raise NotImplementedError(self.name)

    #: set by one-to-one steps (id(), outV()...): ``map_one(ctx, trav)`` gives the one result or NOVALUE,
    #: which lets ``by(__.outV().id())`` run without building a generator pipeline per traverser
    map_one: Callable[[Context, Traverser], Any] | None = None

    def object_map(self) -> ObjectMap | None:
        """This step as a function of the object alone, or None.

        Only a one-to-one step that reads nothing of the traverser but its object (no labels, path,
        sack, loops, side effects) has one: it gives what the step maps the object to, or NOVALUE
        where the step would drop the traverser. A scan followed only by such steps then runs with
        no traverser per element (:func:`~emulator.services.neptune.gremlin.traversal.scan_plan`).
        """
        return None


#: what :meth:`Step.object_map` gives: ``(ctx, obj) -> mapped object or NOVALUE``
ObjectMap = Callable[[Context, Any], Any]


STEPS: dict[str, type[Step]] = {}

#: passes over a freshly compiled step list, in order (``repeat()`` takes in its emit/until/times)
COMPILE_PASSES: list[Callable[[list[Step]], list[Step]]] = []


def register(*names: str) -> Callable[[type[Step]], type[Step]]:
    """Class decorator: make a step class the handler of these bytecode step names."""

    def wrap(cls: type[Step]) -> type[Step]:
        for name in names:
            STEPS[name] = cls
        cls.name = names[0]
        return cls

    return wrap


def refuse_lambdas(value: Any) -> None:
    """Raise UnsupportedOperation if a lambda hides anywhere in a step argument."""
    if isinstance(value, Lambda):
        raise UnsupportedOperation(f"Lambdas are not supported (got {value.language} lambda {value.script!r}); "
                                   "rewrite the traversal with Gremlin steps")
    if isinstance(value, list | tuple | set):
        for item in value:
            refuse_lambdas(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_lambdas(key)
            refuse_lambdas(item)


_DIRECTION_STEPS = {"OUT": "out", "IN": "in", "BOTH": "both", "from": "out", "to": "in"}


def compile_bytecode(bytecode: Bytecode) -> list[Step]:
    """Build the steps of a traversal, checking every step name and argument.

    Raises:
        UnsupportedOperation: an unknown step or a lambda.
        MalformedQuery: a modulator with nothing to modulate, or bad arguments.
    """
    steps: list[Step] = []
    for name, args in bytecode.steps:
        refuse_lambdas(args)
        if name in ("to", "toE") and args and is_sym(args[0], "Direction"):
            # to(Direction, labels...) / toE(...): TinkerPop 3.8's spelling of out()/in()/both() and their E forms
            name = _DIRECTION_STEPS[args[0].name] + ("E" if name == "toE" else "")
            args = args[1:]
        elif name in MODULATORS:
            if not steps:
                raise MalformedQuery(f"{name}() must follow a step")
            target = len(steps) - 1
            # property() right after addE() is part of it (TinkerPop folds it in): a later from()/to() is addE()'s
            while name in ("from", "to") and target > 0 and steps[target].name == "property":
                target -= 1
            steps[target].modulate(name, args)
            continue
        cls = STEPS.get(name)
        if cls is None:
            raise UnsupportedOperation(f"Unsupported step: {name}(). This server does not implement it; "
                                       "see emulator/services/neptune/gremlin/steps/reads.py for the steps it does")
        try:
            steps.append(cls(args))
        except PredicateError as error:
            raise MalformedQuery(f"{name}(): {error}") from None
    for compile_pass in COMPILE_PASSES:
        steps = compile_pass(steps)
    if steps:
        steps[0].leads = True
    return steps


def only_traversal(args: list[Any], step: str) -> list[Step]:
    """The compiled steps of a step's single traversal argument (``not(...)``, ``map(...)``…)."""
    if len(args) != 1:
        raise MalformedQuery(f"{step}() takes one traversal")
    return nested(args[0], step)


def nested(arg: Any, step: str) -> list[Step]:
    """Compile an anonymous traversal argument, or raise MalformedQuery."""
    if not isinstance(arg, Bytecode):
        raise MalformedQuery(f"{step}() expects an anonymous traversal, got {describe(arg)}")
    return compile_bytecode(arg)


def run_steps(ctx: Context, steps: list[Step], it: Iterator[Traverser]) -> Iterator[Traverser]:
    """Chain the steps over ``it``; what comes out may be bulked (see :func:`unbulked`)."""
    bulking = ctx.bulking
    if ctx.deadline is None:
        for step in steps:
            it = step.run(ctx, it if step.bulk_aware or not bulking else unbulked(it))
        return it
    for step in steps:  # every traverser entering a step checks the deadline: no loop outlives it
        it = step.run(ctx, _ticking(ctx, it if step.bulk_aware or not bulking else unbulked(it)))
    return it


def unbulked(it: Iterator[Traverser]) -> Iterator[Traverser]:
    """Each traverser as ``bulk`` traversers of bulk 1 (for the steps that count one traverser as one)."""
    for trav in it:
        if trav.bulk == 1:
            yield trav
        else:
            for _ in range(trav.bulk):
                yield trav.with_bulk(1)


#: steps that change the graph: a traversal holding one never merges traversers (each must run the change)
MUTATING_STEPS = frozenset({"addV", "addE", "property", "drop", "mergeV", "mergeE", "sideEffect"})
#: steps that read a traverser's path: traversers then merge only with the same path (here: never)
PATH_STEPS = frozenset({"path", "simplePath", "cyclicPath", "tree"})


def step_names(bytecode: Bytecode) -> set[str]:
    """Every step name in a traversal, its child traversals included."""
    names: set[str] = set()
    pending: list[Any] = [bytecode]
    while pending:
        value = pending.pop()
        if isinstance(value, Bytecode):
            for name, args in value.steps:
                names.add(name)
                pending.extend(args)
        elif isinstance(value, list | tuple | set):
            pending.extend(value)
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
    return names


def bulking_allowed(names: set[str]) -> bool:
    """Whether ``repeat()`` may merge traversers: there is a repeat, and nothing that each copy must run."""
    return "repeat" in names and not names & MUTATING_STEPS


def _ticking(ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
    tick = ctx.tick
    for trav in it:
        tick()
        yield trav


def holds_state(steps: list[Step]) -> bool:
    """Whether a child traversal must see all its inputs together rather than one at a time.

    TinkerPop runs a global child (``union``, ``choose``/``branch`` options, ``repeat``) as one
    traversal that all the parent's traversers flow through, so ``union(count())`` counts them all.
    Running it per traverser gives the same result unless it holds a barrier or a global range/dedup.
    """
    for step in steps:
        if step.reducing or step.barrier:  # a branch or repeat holding one is a barrier too
            return True
        if type(step).__name__.startswith(("RangeStep", "TailStep", "SampleStep", "DedupStep", "OrderStep")) \
                and not getattr(step, "local", False):
            return True
    return False


def run_nested(ctx: Context, steps: list[Step], trav: Traverser) -> Iterator[Traverser]:
    """Run a child traversal starting from one traverser (keeps its ``as()`` labels); results of bulk 1."""
    results = run_steps(ctx, steps, iter((trav,)))
    return unbulked(results) if ctx.bulking else results


def first_result(ctx: Context, steps: list[Step], trav: Traverser) -> Any:
    """The first object a child traversal gives for ``trav`` (run as one traverser, whatever its bulk)."""
    for result in run_nested(ctx, steps, trav.with_bulk(1)):
        return result.obj
    return NOVALUE


def describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


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
        if pop == "mixed":  # a list where the label names several steps, the one object where it names one
            return list(found) if len(found) > 1 else found[0]
        return found[-1]
    if side_effects is not None and key in side_effects:
        return side_effects[key]
    return NOVALUE


# -- element access -------------------------------------------------------------------------

def is_element(obj: Any) -> bool:
    return isinstance(obj, VertexRecord | EdgeRecord)


def element_values(obj: Any, key: str) -> list[Any]:
    """All values of ``key`` on a vertex (set cardinality) or edge; ``[]`` when absent."""
    if isinstance(obj, VertexRecord):
        return obj.props.get(key, [])
    if isinstance(obj, EdgeRecord):
        value = obj.props.get(key, NOVALUE)
        return [] if value is NOVALUE else [value]
    if isinstance(obj, dict):
        return [obj[key]] if key in obj else []
    return []


def element_value(obj: Any, key: str) -> Any:
    """The (first) value of ``key``, or NOVALUE."""
    if isinstance(obj, VertexRecord):
        values = obj.props.get(key)
        return values[0] if values else NOVALUE
    if isinstance(obj, EdgeRecord):
        return obj.props.get(key, NOVALUE)
    if isinstance(obj, dict):
        return obj.get(key, NOVALUE)
    if isinstance(obj, PropRef) and key == obj.key:
        return obj.value
    return NOVALUE


def token_value(obj: Any, token: Sym) -> Any:
    """``T.id``, ``T.label``, ``T.key``, ``T.value`` of an element or property."""
    name = token.name
    if isinstance(obj, VertexRecord | EdgeRecord):
        if name == "id":
            return obj.id
        if name == "label":
            return obj.label
    elif isinstance(obj, PropRef):
        if name == "id":
            return obj.id
        if name in ("label", "key"):
            return obj.key
        if name == "value":
            return obj.value
    elif isinstance(obj, dict):
        key = T.id if name == "id" else T.label if name == "label" else name
        return obj.get(key, NOVALUE)
    raise IllegalArgument(f"T.{name} cannot be read from {describe(obj)}")


def is_sym(value: Any, kind: str, name: str | None = None) -> bool:
    return isinstance(value, Sym) and value.kind == kind and (name is None or value.name == name)


def as_predicate(value: Any) -> Callable[[Any], bool]:
    """A ``P`` argument as a test; a plain value means ``P.eq(value)``."""
    if isinstance(value, Pred):
        return compile_predicate(value)
    return compile_predicate(Pred("eq", [value]))


# -- by() modulators ------------------------------------------------------------------------

class By:
    """One ``by()`` modulation: how to turn a traverser into the value a step uses, and an order."""

    __slots__ = ("kind", "arg", "steps", "order")

    def __init__(self, args: list[Any], step: str) -> None:
        self.kind = "identity"
        self.arg: Any = None
        self.steps: list[Step] = []
        self.order: str = "asc"
        if len(args) > 2:
            raise MalformedQuery(f"{step}().by() takes at most two arguments")
        if args:
            first = args[0]
            if isinstance(first, str):
                self.kind, self.arg = "key", first
            elif is_sym(first, "T"):
                self.kind, self.arg = "token", first
            elif is_sym(first, "Order"):
                self.order = first.name
            elif is_sym(first, "Column"):
                self.kind, self.arg = "column", first.name
            elif isinstance(first, Bytecode):
                self.kind, self.steps = "traversal", compile_bytecode(first)
                if self.steps and all(step.map_one is not None for step in self.steps):
                    self.kind = "chain"
            else:
                raise MalformedQuery(f"{step}().by() does not accept {describe(first)}")
        if len(args) == 2:
            if not is_sym(args[1], "Order"):
                raise MalformedQuery(f"{step}().by(x, order) expects an Order, got {describe(args[1])}")
            self.order = args[1].name

    def value(self, ctx: Context, trav: Traverser) -> Any:
        """The modulated value, or NOVALUE when the modulator is unproductive."""
        kind = self.kind
        if kind == "identity":
            return trav.obj
        if kind == "key":
            return element_value(trav.obj, self.arg)
        if kind == "token":
            return token_value(trav.obj, self.arg)
        if kind == "chain":
            obj = trav.obj
            for step in self.steps:
                obj = step.map_one(ctx, trav.replace(obj=obj))  # type: ignore[misc]
                if obj is NOVALUE:
                    return NOVALUE
            return obj
        if kind == "traversal":
            return first_result(ctx, self.steps, trav)
        obj = trav.obj
        if isinstance(obj, dict) and len(obj) == 1:
            key, value = next(iter(obj.items()))
            return key if self.arg == "keys" else value
        if isinstance(obj, dict):
            return list(obj.keys()) if self.arg == "keys" else list(obj.values())
        raise IllegalArgument(f"by(Column.{self.arg}) needs a map entry, got {describe(obj)}")

    def object_value(self) -> ObjectMap | None:
        """:meth:`value` as a function of the object alone (see :meth:`Step.object_map`), or None where
        the modulator runs a child traversal or reads a map entry."""
        kind, arg = self.kind, self.arg
        if kind == "identity":
            return _identity
        if kind == "key":
            return lambda ctx, obj: element_value(obj, arg)
        if kind == "token":
            return lambda ctx, obj: token_value(obj, arg)
        if kind == "chain":
            return chain_maps([step.object_map() for step in self.steps])
        return None

    def value_of(self, ctx: Context, obj: Any, trav: Traverser) -> Any:
        """Like :meth:`value` for an object that is not the traverser's own (a map value...)."""
        if self.kind == "identity":
            return obj
        return self.value(ctx, trav.split(obj))


def _identity(ctx: Context, obj: Any) -> Any:
    return obj


def chain_maps(maps: list[ObjectMap | None]) -> ObjectMap | None:
    """One object map running ``maps`` in turn (NOVALUE stops it); None if one of them is None."""
    if any(fn is None for fn in maps):
        return None
    fns: list[ObjectMap] = maps  # type: ignore[assignment]
    if len(fns) == 1:
        return fns[0]

    def chained(ctx: Context, obj: Any) -> Any:
        for fn in fns:
            obj = fn(ctx, obj)
            if obj is NOVALUE:
                return NOVALUE
        return obj

    return chained


def freeze(value: Any) -> Any:
    """A hashable stand-in for a result value (dedup keys, group keys)."""
    if isinstance(value, list | tuple):
        return ("__list__", tuple(freeze(v) for v in value))
    if isinstance(value, dict):
        return ("__map__", tuple((freeze(k), freeze(v)) for k, v in value.items()))
    if isinstance(value, set):
        return ("__set__", frozenset(freeze(v) for v in value))
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool):
        return ("__bool__", value)
    return value


def collection_items(obj: Any) -> list[Any] | None:
    """The items of a list/set/map (map entries as one-entry maps), or None for a scalar."""
    if isinstance(obj, list | tuple):
        return list(obj)
    if isinstance(obj, set | frozenset):
        return list(obj)
    if isinstance(obj, dict):
        return [{k: v} for k, v in obj.items()]
    if isinstance(obj, Path):
        return list(obj.objects)
    return None


def iterable_of(traversers: Iterable[Traverser]) -> Iterator[Any]:
    return (t.obj for t in traversers)
