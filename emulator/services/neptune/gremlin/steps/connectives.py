"""Infix ``and()``/``or()``: ``has("a").or().loops().is(3)``
(https://tinkerpop.apache.org/docs/3.7.0/reference/#and-step, TinkerPop's ``ConnectiveStrategy``).

Semantics. An ``and()``/``or()`` without arguments joins the steps on its two sides into one
filter. The left side reaches back to the start of the traversal or a start step (``V``, ``E``,
``inject``), ``as()`` labels included (``as("b").in().count().as("c").and().as("c").is(gt(2))`` is
``and(as("b").in().count().as("c"), as("c").is(gt(2)))``); the right side runs to the end. ``and`` binds tighter
than ``or``: ``a.or().b.and().c`` is ``or(a, and(b, c))``. The prefix form (``or(t1, t2)``) is
:class:`~.filters.ConnectiveStep`'s.
"""

from __future__ import annotations

from typing import Any

from emulator.services.neptune.gremlin.engine import COMPILE_PASSES, Step, register
from emulator.services.neptune.gremlin.steps.filters import ConnectiveStep
from emulator.services.neptune.gremlin.steps.reads import GraphStep, InjectStep


class Connective(ConnectiveStep):
    """``and``/``or``: prefix (``or(t1, t2)``), or infix (no arguments) until the compile pass folds it."""

    def __init__(self, args: list[Any], children: list[list[Step]] | None = None) -> None:
        self.infix = not args and children is None
        if args:
            super().__init__(args)
        else:
            Step.__init__(self, args)
            self.children = children or []

    def joined(self, children: list[list[Step]]) -> Connective:
        """The folded form of this infix connective over ``children``."""
        return type(self)([], children)


for _name in ("and", "or"):
    register(_name)(type(f"Connective_{_name}", (Connective,), {"name_used": _name}))


def _is_infix(step: Step, name: str | None = None) -> bool:
    return isinstance(step, Connective) and step.infix and (name is None or step.name_used == name)


def _split(steps: list[Step], name: str) -> tuple[list[list[Step]], list[Step]]:
    groups: list[list[Step]] = [[]]
    markers: list[Step] = []
    for step in steps:
        if _is_infix(step, name):
            groups.append([])
            markers.append(step)
        else:
            groups[-1].append(step)
    return groups, markers


def fold_infix_connectives(steps: list[Step]) -> list[Step]:
    """Replace infix ``and()``/``or()`` by the connective of the steps around them."""
    markers = [i for i, step in enumerate(steps) if _is_infix(step)]
    if not markers:
        return steps
    boundary = -1
    for index in range(markers[0] - 1, -1, -1):
        if isinstance(steps[index], GraphStep | InjectStep):
            boundary = index
            break
    head, body = steps[:boundary + 1], steps[boundary + 1:]
    either = []
    groups, ors = _split(body, "or")
    for group in groups:
        both, ands = _split(group, "and")
        either.append(both[0] if not ands else [ands[0].joined(both)])  # type: ignore[attr-defined]
    joined = either[0] if not ors else [ors[0].joined(either)]  # type: ignore[attr-defined]
    return [*head, *joined]


COMPILE_PASSES.insert(0, fold_infix_connectives)
