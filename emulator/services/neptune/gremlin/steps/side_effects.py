"""Side-effect steps: aggregate/store, cap, sideEffect, and the keyed group/groupCount
(https://tinkerpop.apache.org/docs/3.7.0/reference/#aggregate-step, #cap-step, #sideeffect-step).

Semantics. Side effects are named values shared by the whole traversal (its children included),
held in ``Context.side_effects`` and seeded by ``g.withSideEffect(key, value)``; ``select(key)``,
``where(…, key)`` and ``cap(key)`` read them.

- ``aggregate(key)`` (global scope) is a barrier: it adds every incoming object (``by()``-modulated)
  to the list under ``key``, then lets the traversers through, so later steps see the full list.
  ``aggregate(local, key)`` and the older ``store(key)`` add each object as it passes (lazy).
  TinkerPop keeps a bulk set; without bulking that is a list, which is what a client receives.
- ``cap(key, …)`` is a barrier that emits the value under ``key`` (a map of them for several keys).
- ``sideEffect(t)`` runs ``t`` for each traverser and lets the traverser through unchanged.
- ``fail(message?)`` ends the query with an error the first time a traverser reaches it.
- ``group(key)`` / ``groupCount(key)`` are barriers: they add all their input to the map under
  ``key`` (the map ``group()`` / ``groupCount()`` would emit), then let the traversers through, so
  ``groupCount("a").select("a")`` sees the whole map; inside ``local()`` each run adds to the same map.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gremlin_python.statics import long

from emulator.services.neptune.errors import FailStepTriggered, MalformedQuery
from emulator.services.neptune.gremlin.engine import (
    NOVALUE,
    By,
    Context,
    Step,
    Traverser,
    freeze,
    is_sym,
    only_traversal,
    register,
    run_nested,
)
from emulator.services.neptune.gremlin.gtypes import BulkSet
from emulator.services.neptune.gremlin.steps.reducers import GroupCountStep, GroupStep
from emulator.services.neptune.gremlin.steps.reducers import _group_value as group_value
from emulator.services.neptune.gremlin.steps.reducers import _hashable_key as hashable_key
from emulator.services.neptune.gremlin.steps.sacks import apply_operator


def add_to_side_effect(ctx: Context, key: str, values: list[Any], whole: bool) -> None:
    """Fold ``values`` into the side effect ``key``.

    With ``withSideEffect(key, seed, Operator)`` each value is folded in with the operator (a global
    ``aggregate`` with ``assign`` replaces the seed by all of its values at once); otherwise the values
    join the seed collection (a set stays a set) or a new list.
    """
    effects = ctx.side_effects
    operator = ctx.side_effect_operators.get(key)
    if operator is not None:
        if whole and operator in ("assign", "addAll"):
            current = effects.get(key, [])
            effects[key] = list(values) if operator == "assign" else apply_operator("addAll", current, values)
            return
        for value in values:
            effects[key] = apply_operator(operator, effects[key], value) if key in effects else value
        return
    current = effects.get(key)
    if isinstance(current, set):
        current.update(freeze(v) if isinstance(v, list | dict | set) else v for v in values)
    elif isinstance(current, list):
        current.extend(values)
    else:
        effects[key] = BulkSet(([] if current is None else list(current) if isinstance(current, tuple)
                                else [current]) + list(values))


@register("aggregate")
class AggregateStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.local = False
        if args and is_sym(args[0], "Scope"):
            self.local = args[0].name == "local"
            args = args[1:]
        if len(args) != 1 or not isinstance(args[0], str):
            raise MalformedQuery("aggregate() takes an optional Scope and a side-effect key")
        self.key = args[0]
        self.barrier = not self.local
        self.by: By | None = None

    def modulate(self, name: str, args: list[Any]) -> None:
        if name != "by":
            super().modulate(name, args)
        if self.by is not None:
            raise MalformedQuery("Aggregate step can only have one by modulator")
        self.by = By(args, "aggregate")

    def _value(self, ctx: Context, trav: Traverser) -> Any:
        return trav.obj if self.by is None else self.by.value(ctx, trav)

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.key not in ctx.side_effects and self.key not in ctx.side_effect_operators:
            ctx.side_effects[self.key] = BulkSet()
        if self.local:
            for trav in it:
                value = self._value(ctx, trav)
                if value is not NOVALUE:
                    add_to_side_effect(ctx, self.key, [value], whole=False)
                yield trav
            return
        seen = list(it)
        values = [value for value in (self._value(ctx, trav) for trav in seen) if value is not NOVALUE]
        add_to_side_effect(ctx, self.key, values, whole=True)
        yield from seen


class StoreStep(AggregateStep):
    """``store(key)``: the pre-3.4 name of ``aggregate(local, key)``."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.local, self.barrier = True, False


register("store")(StoreStep)


@register("cap")
class CapStep(Step):
    reducing = False
    barrier = True
    #: it only drains its inputs: a bulked traverser needs no copies
    bulk_aware = True

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if not args or not all(isinstance(a, str) for a in args):
            raise MalformedQuery("cap() takes one or more side-effect keys")
        self.keys = list(args)

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for _ in it:
            ctx.tick()
        values = {key: ctx.side_effects.get(key, NOVALUE) for key in self.keys}
        missing = [key for key, value in values.items() if value is NOVALUE]
        if missing:
            raise MalformedQuery(f"The side-effect key does not exist in the side-effects: {missing[0]}")
        yield Traverser(values[self.keys[0]] if len(self.keys) == 1 else values)


@register("sideEffect")
class SideEffectStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.steps = only_traversal(args, "sideEffect")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            for _ in run_nested(ctx, self.steps, trav):
                pass
            yield trav


def _keyed(args: list[Any], step: str) -> tuple[str | None, list[Any]]:
    if not args:
        return None, args
    if len(args) != 1 or not isinstance(args[0], str):
        raise MalformedQuery(f"{step}() takes at most a side-effect key")
    return args[0], []


def _group_map(ctx: Context, key: str) -> dict[Any, Any]:
    current = ctx.side_effects.get(key)
    if not isinstance(current, dict):
        current = ctx.side_effects[key] = {}
    return current


@register("group")
class KeyedGroupStep(GroupStep):
    """``group()``, or with a key, ``group(key)``: the side-effect form.

    The members of each group are kept per side-effect key, so every step writing the key and
    every run of a child traversal add to the same map; a group's value is recomputed from its
    members when one joins.
    """

    def __init__(self, args: list[Any]) -> None:
        key, rest = _keyed(args, "group")
        super().__init__(rest)
        self.side_effect_key = key
        self.reducing = key is None
        self.barrier = key is not None

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.side_effect_key is None:
            yield from super().run(ctx, it)
            return
        key = self.side_effect_key
        members: dict[Any, tuple[Any, list[Traverser]]] = ctx.step_state.setdefault(("group", key), {})
        _group_map(ctx, key)
        passing = list(it)
        joined: dict[Any, tuple[Any, list[Traverser]]] = {}
        for trav in passing:
            group = trav.obj if self.key_by is None else self.key_by.value(ctx, trav)
            if group is not NOVALUE:
                entry = members.setdefault(freeze(group), (group, []))
                entry[1].append(trav)
                joined[freeze(group)] = entry
        # each group that gained members is reduced once per batch, not once per member (quadratic)
        for group, group_members in joined.values():
            value = group_value(ctx, self.value_by, group_members)
            groups = _group_map(ctx, key)
            if value is NOVALUE:
                groups.pop(hashable_key(group), None)
            else:
                groups[hashable_key(group)] = value
        yield from passing


@register("groupCount")
class KeyedGroupCountStep(GroupCountStep):
    """``groupCount()``, or with a key, ``groupCount(key)``: the side-effect form."""

    def __init__(self, args: list[Any]) -> None:
        key, rest = _keyed(args, "groupCount")
        super().__init__(rest)
        self.side_effect_key = key
        self.reducing = key is None
        self.barrier = key is not None

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.side_effect_key is None:
            yield from super().run(ctx, it)
            return
        counts = _group_map(ctx, self.side_effect_key)
        passing = list(it)
        for trav in passing:
            group = trav.obj if self.key_by is None else self.key_by.value(ctx, trav)
            if group is not NOVALUE:
                name = hashable_key(group)
                counts[name] = long(counts.get(name, 0) + trav.bulk)
        yield from passing


@register("fail")
class FailStep(Step):
    """``fail()`` / ``fail(message)``: the first traverser to arrive ends the whole query with an error."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) > 1 or (args and not isinstance(args[0], str)):
            raise MalformedQuery("fail() takes an optional message string")
        self.message = args[0] if args else "fail() step triggered"

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            raise FailStepTriggered(f"fail() Step Triggered: {self.message} (at {trav.obj!r})")
        return
        yield
