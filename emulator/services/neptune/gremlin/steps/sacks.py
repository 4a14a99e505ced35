"""Sacks: ``g.withSack(initial)``, ``sack()`` and ``sack(Operator).by(…)``
(https://tinkerpop.apache.org/docs/3.7.0/reference/#sack-step).

Semantics. Every traverser carries a sack, a value of its own that starts as a copy of the
``withSack()`` initial value (null without one) and is copied to the traversers split from it. ``sack()`` emits it;
``sack(op)`` replaces it by ``op(sack, value)``, the value being the object or its ``by()``
modulation. The operators are TinkerPop's ``Operator`` tokens:

    sum a+b · minus a-b · mult a*b · div a/b (integer division for integers) · min · max
    assign b · and a∧b · or a∨b · addAll (list/set/map union) · sumLong a+b

A lambda as the initial value or as the operator is refused, as everywhere in this server.

``barrier()`` holds every traverser until its input ends. With ``withSack(initial, mergeOperator)`` it
merges the traversers at the same object into one whose sack is the operator over their sacks (TinkerPop's
bulking); the merged traverser still counts once per traverser merged into it, except under
``withBulk(false)``, where it counts once. ``barrier(Barrier.normSack)`` then divides each sack by the sum
of all of them.
"""

from __future__ import annotations

import decimal
import operator
from collections.abc import Callable, Iterator
from typing import Any

from emulator.services.neptune.errors import IllegalArgument, MalformedQuery
from emulator.services.neptune.gremlin.engine import (
    NOVALUE,
    By,
    Context,
    Step,
    Traverser,
    describe,
    freeze,
    is_sym,
    register,
)


def _div(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool):
        return a // b if b else _zero_division()
    return a / b


def _zero_division() -> Any:
    raise IllegalArgument("Operator.div: division by zero")


def _add_all(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        return {**a, **b}
    if isinstance(a, set):
        return a | set(b)
    return [*a, *b]


OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "sum": operator.add, "sumLong": operator.add, "minus": operator.sub, "mult": operator.mul, "div": _div,
    "min": min, "max": max, "assign": lambda a, b: b, "and": lambda a, b: a and b, "or": lambda a, b: a or b,
    "addAll": _add_all,
}


def apply_operator(name: str, a: Any, b: Any) -> Any:
    """``Operator.<name>(a, b)``; a wrong type is a clear error."""
    try:
        return OPERATORS[name](a, b)
    except (TypeError, ZeroDivisionError):
        raise IllegalArgument(f"Operator.{name} cannot combine {describe(a)} and {describe(b)}") from None


def sack_of(ctx: Context, trav: Traverser) -> Any:
    """The traverser's sack, or the initial value when it never changed; None (null) without ``withSack``."""
    if trav.sack is not NOVALUE:
        return trav.sack
    if ctx.sack_initial is NOVALUE:
        return None
    trav.sack = ctx.initial_sack()
    return trav.sack


@register("sack")
class SackStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.operator: str | None = None
        if args:
            if len(args) != 1 or not is_sym(args[0], "Operator"):
                raise MalformedQuery("sack() takes nothing (read the sack) or an Operator (change it)")
            self.operator = args[0].name
        self.by: By | None = None

    def modulate(self, name: str, args: list[Any]) -> None:
        if name != "by" or self.operator is None:
            super().modulate(name, args)
        if self.by is not None:
            raise MalformedQuery("Sack step can only have one by modulator")
        self.by = By(args, "sack")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            current = sack_of(ctx, trav)
            if self.operator is None:
                yield trav.split(current)
                continue
            value = trav.obj if self.by is None else self.by.value(ctx, trav)
            if value is NOVALUE:
                continue
            yield trav.replace(sack=apply_operator(self.operator, current, value))


@register("barrier")
class BarrierStep(Step):
    """``barrier()`` / ``barrier(n)`` / ``barrier(Barrier.normSack)``: see the module docstring."""

    barrier = True

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.norm_sack = bool(args) and is_sym(args[0], "Barrier", "normSack")
        if len(args) > 1 or (args and not self.norm_sack and (not isinstance(args[0], int)
                                                              or isinstance(args[0], bool))):
            raise MalformedQuery("barrier() takes nothing, a maximum size or Barrier.normSack")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        held = _merged(ctx, list(it)) if ctx.sack_merge is not None else [(trav, 1) for trav in it]
        if self.norm_sack:
            held = _normalized(ctx, held)
        for trav, bulk in held:
            for _ in range(bulk if ctx.bulk else 1):
                yield trav


def _merged(ctx: Context, travs: list[Traverser]) -> list[tuple[Traverser, int]]:
    """Traversers at the same object merged into one, their sacks folded with the merge operator."""
    operator_name = ctx.sack_merge.name
    groups: dict[Any, list[Any]] = {}
    for trav in travs:
        key = freeze(trav.obj)
        if key in groups:
            group = groups[key]
            group[0] = group[0].replace(sack=apply_operator(operator_name, sack_of(ctx, group[0]), sack_of(ctx, trav)))
            group[1] += 1
        else:
            groups[key] = [trav, 1]
    return [(trav, bulk) for trav, bulk in groups.values()]


def _normalized(ctx: Context, held: list[tuple[Traverser, int]]) -> list[tuple[Traverser, int]]:
    """Each sack divided by the sum of all sacks (bulk included); integer sacks give BigDecimals, as Java's do."""
    sacks = [(trav, bulk, sack_of(ctx, trav)) for trav, bulk in held]
    if not all(isinstance(sack, int | float | decimal.Decimal) and not isinstance(sack, bool) for _, _, sack in sacks):
        raise IllegalArgument("barrier(normSack) needs numeric sacks")
    exact = any(not isinstance(sack, float) for _, _, sack in sacks)
    total = sum((decimal.Decimal(sack) if exact else sack) * bulk for _, bulk, sack in sacks)
    if not total:
        return held
    return [(trav.replace(sack=_share(sack, total, exact)), bulk) for trav, bulk, sack in sacks]


def _share(sack: Any, total: Any, exact: bool) -> Any:
    if not exact:
        return sack / total
    return (decimal.Decimal(sack) / total).normalize()  # 0.5, not 0.5000…: the scale Java's division gives
