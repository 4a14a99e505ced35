"""Sacks: ``g.withSack(initial)``, ``sack()`` and ``sack(Operator).by(…)``
(https://tinkerpop.apache.org/docs/3.7.0/reference/#sack-step).

Semantics. Every traverser carries a sack, a value of its own that starts as a copy of the
``withSack()`` initial value (null without one) and is copied to the traversers split from it. ``sack()`` emits it;
``sack(op)`` replaces it by ``op(sack, value)``, the value being the object or its ``by()``
modulation. The operators are TinkerPop's ``Operator`` tokens:

    sum a+b · minus a-b · mult a*b · div a/b (integer division for integers) · min · max
    assign b · and a∧b · or a∨b · addAll (list/set/map union) · sumLong a+b

A lambda as the initial value or as the operator is refused, as everywhere in this server.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import Any

from emulator.services.neptune.errors import IllegalArgument, MalformedQuery
from emulator.services.neptune.gremlin.engine import NOVALUE, By, Context, Step, Traverser, describe, is_sym, register


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
