"""List steps: merge, combine, difference, intersect, disjunct, product, conjoin, reverse, all/any/none.

Each takes the incoming list (or set) and an argument that is a list or a traversal giving one
(https://tinkerpop.apache.org/docs/3.7.0/reference/#combine-step and its neighbours). The set
operations (merge, difference, intersect, disjunct) give sets, as TinkerPop does; combine and
product give lists. Error texts are TinkerPop's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from emulator.services.neptune.errors import IllegalArgument, MalformedQuery
from emulator.services.neptune.gremlin.bytecode import Bytecode
from emulator.services.neptune.gremlin.engine import (
    NOVALUE,
    Context,
    Path,
    Step,
    Traverser,
    as_predicate,
    compile_bytecode,
    first_result,
    freeze,
    register,
)
from emulator.services.neptune.gremlin.steps import reads  # noqa: F401  (loaded first: none(P) below replaces its none())
from emulator.services.neptune.gremlin.steps.types import java_string, java_type_name


def _is_collection(value: Any) -> bool:
    return isinstance(value, list | tuple | set | frozenset)


def iterable_view(value: Any) -> Any:
    """A Path as the list of its objects (TinkerPop's Path is an Iterable); other values unchanged."""
    return list(value.objects) if isinstance(value, Path) else value


def unique(items: list[Any]) -> list[Any]:
    """Items without repeats (by Gremlin equality), in first-seen order."""
    seen: dict[Any, Any] = {}
    for item in items:
        seen.setdefault(freeze(item), item)
    return list(seen.values())


def as_set(items: list[Any]) -> Any:
    """A Python set of the items when they are all hashable (what the serializers write as a Set)."""
    items = unique(items)
    try:
        return set(items)
    except TypeError:  # lists or maps inside: keep them as a list with set semantics
        return items


class CollectionStep(Step):
    """A step combining the incoming collection with an argument collection (constant or traversal)."""

    #: maps are allowed as input and argument (merge only)
    maps = False

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) != 1:
            raise MalformedQuery(f"{self.name}() takes one list or traversal")
        arg = args[0]
        self.steps = compile_bytecode(arg) if isinstance(arg, Bytecode) else None
        if self.steps is None:
            if arg is None:
                raise IllegalArgument(f"Argument provided for {self.name} step can't be null.")
            if not (_is_collection(arg) or (self.maps and isinstance(arg, dict))):
                raise IllegalArgument(f"{self.name} step can only take an array or an Iterable as an argument, "
                                      f"encountered {java_type_name(arg)}")
        self.value = arg

    def combine(self, incoming: Any, argument: Any) -> Any:
        raise NotImplementedError

    def _argument(self, ctx: Context, trav: Traverser, incoming: Any) -> Any:
        if self.steps is None:
            return self.value
        value = iterable_view(first_result(ctx, self.steps, trav))
        if isinstance(incoming, dict):
            if not isinstance(value, dict):
                raise IllegalArgument(f"{self.name} step expected provided argument to evaluate to a Map, "
                                      f"encountered {java_type_name(value)}")
            return value
        if value is None or value is NOVALUE:
            raise IllegalArgument(f"traversal argument for {self.name} step must yield an iterable type, not null")
        if not _is_collection(value):
            raise IllegalArgument(f"traversal argument for {self.name} step must yield an iterable type, "
                                  f"encountered {java_type_name(value)}")
        return value

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            obj = iterable_view(trav.obj)
            if obj is None:
                raise IllegalArgument(f"Incoming traverser for {self.name} step can't be null.")
            if not (_is_collection(obj) or (self.maps and isinstance(obj, dict))):
                raise IllegalArgument(f"{self.name} step can only take an array or an Iterable type for incoming "
                                      f"traversers, encountered {java_type_name(obj)}")
            argument = self._argument(ctx, trav, obj)
            if isinstance(obj, dict) != isinstance(argument, dict):
                expected = "Map" if isinstance(obj, dict) else "Iterable"
                got = "Map" if isinstance(argument, dict) else java_type_name(argument)
                raise IllegalArgument(f"step type mismatch: expected argument to be {expected} but got {got}")
            yield trav.split(self.combine(obj, argument))


def _collection_step(name: str, fn: Callable[[Any, Any], Any], maps: bool = False) -> None:
    register(name)(type(f"CollectionStep_{name}", (CollectionStep,),
                        {"combine": lambda self, a, b: fn(a, b), "maps": maps}))


def _merge(incoming: Any, argument: Any) -> Any:
    if isinstance(incoming, dict):
        return {**incoming, **argument}
    return as_set([*incoming, *argument])


def _difference(incoming: Any, argument: Any) -> Any:
    drop = {freeze(item) for item in argument}
    return as_set([item for item in incoming if freeze(item) not in drop])


def _intersect(incoming: Any, argument: Any) -> Any:
    keep = {freeze(item) for item in argument}
    return as_set([item for item in incoming if freeze(item) in keep])


def _disjunct(incoming: Any, argument: Any) -> Any:
    left = {freeze(item) for item in incoming}
    right = {freeze(item) for item in argument}
    return as_set([item for item in incoming if freeze(item) not in right]
                  + [item for item in argument if freeze(item) not in left])


_collection_step("merge", _merge, maps=True)
_collection_step("combine", lambda a, b: [*a, *b])
_collection_step("difference", _difference)
_collection_step("intersect", _intersect)
_collection_step("disjunct", _disjunct)
_collection_step("product", lambda a, b: [[x, y] for x in a for y in b])


@register("conjoin")
class ConjoinStep(Step):
    """``conjoin(delimiter)``: the list's items as strings joined; nulls are skipped."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) != 1 or not isinstance(args[0], str):
            raise MalformedQuery("conjoin() takes one delimiter string")
        self.delimiter = args[0]

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            obj = iterable_view(trav.obj)
            if obj is None:
                raise IllegalArgument("Incoming traverser for conjoin step can't be null.")
            if not _is_collection(obj):
                raise IllegalArgument("conjoin step can only take an array or an Iterable type for incoming "
                                      f"traversers, encountered {java_type_name(obj)}")
            yield trav.split(self.delimiter.join(java_string(item) for item in obj if item is not None))


@register("reverse")
class ReverseStep(Step):
    """``reverse()``: a string's characters or a list's items backwards; other values pass unchanged."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if args:
            raise MalformedQuery("reverse() takes no arguments")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            obj = iterable_view(trav.obj)
            if isinstance(obj, str):
                yield trav.split(obj[::-1])
            elif isinstance(obj, list | tuple):
                yield trav.split(list(obj)[::-1])
            else:
                yield trav


class QuantifierStep(Step):
    """``all(P)``/``any(P)``/``none(P)``: keep a list whose items all/any/none pass; non-lists are dropped."""

    quantifier = "all"

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) != 1:
            raise MalformedQuery(f"{self.quantifier}() takes one predicate")
        self.test = as_predicate(args[0])

    def keep(self, items: list[Any]) -> bool:
        results = (self.test(item) for item in items)
        if self.quantifier == "all":
            return all(results)
        if self.quantifier == "any":
            return any(results)
        return not any(results)

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            if _is_collection(trav.obj) and self.keep(list(trav.obj)):
                yield trav


register("all")(type("QuantifierStep_all", (QuantifierStep,), {"quantifier": "all"}))
register("any")(type("QuantifierStep_any", (QuantifierStep,), {"quantifier": "any"}))


@register("none")
class NoneStep(QuantifierStep):
    """``none(P)`` the list filter; ``none()`` with no argument is the old name of ``discard()``."""

    quantifier = "none"

    def __init__(self, args: list[Any]) -> None:
        self.discard = not args
        if self.discard:
            Step.__init__(self, args)
        else:
            super().__init__(args)

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.discard:
            for _ in it:
                pass
            return
        yield from super().run(ctx, it)


#: ``with(WithOptions.indexer, ...)``: the option key and its two values
INDEXER_OPTION = "~tinkerpop.index.indexer"
_INDEXER_LIST, _INDEXER_MAP = 0, 1


@register("index")
class IndexStep(Step):
    """``index()``: each item of the incoming collection paired with its position.

    The list indexer (default) gives ``[[item, 0], [item, 1], ...]``; ``with(WithOptions.indexer,
    WithOptions.map)`` gives ``{0: item, 1: item, ...}``. A value that is not a collection (a map included,
    which Java does not iterate) is indexed as a one-item list.
    """

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if args:
            raise MalformedQuery("index() takes no arguments")
        self.indexer = _INDEXER_LIST

    def modulate(self, name: str, args: list[Any]) -> None:
        if name != "with" or not args or args[0] != INDEXER_OPTION:
            super().modulate(name, args)
            return
        if len(args) != 2 or args[1] not in (_INDEXER_LIST, _INDEXER_MAP):
            raise IllegalArgument("index() takes with(WithOptions.indexer, WithOptions.list or WithOptions.map)")
        self.indexer = args[1]

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            obj = iterable_view(trav.obj)
            items = list(obj) if _is_collection(obj) else [obj]
            if self.indexer == _INDEXER_MAP:
                yield trav.split(dict(enumerate(items)))
            else:
                yield trav.split([[item, i] for i, item in enumerate(items)])
