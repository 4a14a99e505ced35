"""Declarative pattern matching: match() (https://tinkerpop.apache.org/docs/3.7.0/reference/#match-step).

Semantics. Each argument of ``match(p1, p2, …)`` is a pattern over ``as()`` labels:

- a *traversal pattern* ``as("x")…`` runs from the object bound to ``x``; when it ends with ``as("y")``
  each result binds ``y`` (or must be the object already bound to ``y``), otherwise it is a filter
  that holds when it yields anything;
- a *filter pattern* (``where(…)``, ``not(…)``, ``and(…)``/``or(…)``, or any traversal not starting
  with ``as()``) holds or not for the bindings, once the labels it names are bound.

``and(p, q)`` is the patterns ``p`` and ``q``. For each incoming traverser, the labels the patterns
name start bound to the traverser's own ``as()`` labels, and the match's start label (the first
start label no pattern ends at; if still free) to the incoming object. The
patterns are then solved by backtracking, always running next a pattern whose start label is bound.
Every complete binding emits the map ``{label: object}`` of the match's labels, and the traverser
carries the bindings as ``as()`` labels, so a following ``select()`` sees them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from emulator.services.neptune.errors import MalformedQuery
from emulator.services.neptune.gremlin.bytecode import Bytecode
from emulator.services.neptune.gremlin.engine import (
    NOVALUE,
    Context,
    Step,
    Traverser,
    compile_bytecode,
    describe,
    register,
    run_nested,
)
from emulator.services.neptune.gremlin.steps.reads import AsStep


def _same(a: Any, b: Any) -> bool:
    return a is b or (not isinstance(a, bool) and not isinstance(b, bool) and a == b)


class Pattern:
    """One argument of ``match()``: its start and end labels and the steps between them."""

    def __init__(self, steps: list[Step]) -> None:
        self.start: str | None = None
        self.end: str | None = None
        if steps and isinstance(steps[0], AsStep) and len(steps[0].args) == 1:
            self.start = steps[0].args[0]
            steps = steps[1:]
        if self.start is not None and steps and isinstance(steps[-1], AsStep) and len(steps[-1].args) == 1:
            self.end = steps[-1].args[0]
            steps = steps[:-1]
        self.steps = steps
        self.names = _labels_named(self.steps) | {n for n in (self.start, self.end) if n is not None}
        #: ``not(p)``, ``and(p, …)``, ``or(p, …)`` over patterns (each may start and end with as())
        self.connective: str | None = None
        self.parts: list[Pattern] = []
        only = steps[0] if len(steps) == 1 and self.start is None else None
        children: list[list[Step]] | None = None
        if only is not None and only.name in ("and", "or"):
            children = getattr(only, "children", None)  # prefix or folded infix connective
        elif only is not None and only.name == "not":
            children = [only.steps] if getattr(only, "steps", None) is not None else None
        if children:
            self.connective = only.name
            self.parts = [Pattern(list(child)) for child in children]

    @property
    def is_filter(self) -> bool:
        return self.start is None


def _labels_named(steps: list[Step]) -> set[str]:
    """The ``as()`` labels a filter pattern names (found in its nested traversals' bytecode)."""
    found: set[str] = set()

    def visit(value: Any) -> None:
        if isinstance(value, Bytecode):
            for name, args in value.steps:
                if name == "as":
                    found.update(a for a in args if isinstance(a, str))
                if name in ("where", "select") and args and isinstance(args[0], str):
                    found.add(args[0])
                for arg in args:
                    visit(arg)
        elif hasattr(value, "args") and hasattr(value, "op"):  # a P whose value names a label
            for arg in value.args:
                if isinstance(arg, str):
                    found.add(arg)
                visit(arg)

    for step in steps:
        if step.name == "where" and step.args and isinstance(step.args[0], str):
            found.add(step.args[0])
        for arg in step.args:
            visit(arg)
    return found


def with_bindings(trav: Traverser, obj: Any, bindings: dict[str, Any]) -> Traverser:
    """``trav`` at ``obj``, with each binding added as its ``as()`` label (when not already the last)."""
    labels = dict(trav.labels) if trav.labels else {}
    for name, value in bindings.items():
        if not labels.get(name) or labels[name][-1] is not value:
            labels[name] = [*labels.get(name, []), value]
    return trav.replace(obj=obj, labels=labels)


def pattern_holds(ctx: Context, pattern: Pattern, trav: Traverser, bindings: dict[str, Any]) -> bool:
    """Whether a filter pattern (or a sub-pattern of not/and/or) holds for the bindings."""
    if pattern.connective is not None:
        results = (pattern_holds(ctx, part, trav, bindings) for part in pattern.parts)
        if pattern.connective == "not":
            return not next(results)
        return all(results) if pattern.connective == "and" else any(results)
    if pattern.start is None:
        probe = with_bindings(trav, trav.obj, bindings)
        return any(True for _ in run_nested(ctx, pattern.steps, probe))
    if pattern.start not in bindings:
        return False
    start = with_bindings(trav, bindings[pattern.start], bindings)
    wanted = bindings.get(pattern.end, NOVALUE) if pattern.end is not None else NOVALUE
    return any(wanted is NOVALUE or _same(result.obj, wanted) for result in run_nested(ctx, pattern.steps, start))


def _flatten(patterns: list[Pattern]) -> list[Pattern]:
    """An ``and(p, q)`` pattern inside ``match()`` is the patterns ``p`` and ``q`` themselves."""
    flat: list[Pattern] = []
    for pattern in patterns:
        flat.extend(_flatten(pattern.parts) if pattern.connective == "and" else [pattern])
    return flat


@register("match")
class MatchStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if not args or not all(isinstance(a, Bytecode) for a in args):
            raise MalformedQuery(f"match() takes patterns (anonymous traversals), got {describe(args)}")
        self.patterns = _flatten([Pattern(compile_bytecode(a)) for a in args])
        self.labels: list[str] = []
        for pattern in self.patterns:
            for name in [pattern.start, pattern.end, *sorted(pattern.names)]:
                if name is not None and name not in self.labels:
                    self.labels.append(name)
        starts = [p.start for p in self.patterns if p.start is not None]
        if not starts:
            raise MalformedQuery("match() needs at least one pattern starting with as()")
        ends = {p.end for p in self.patterns}
        # the incoming object is bound to a start label no pattern reaches (TinkerPop's start label)
        self.first_label = next((s for s in starts if s not in ends), starts[0])

    def _solve(self, ctx: Context, trav: Traverser, bindings: dict[str, Any],
               remaining: list[Pattern]) -> Iterator[dict[str, Any]]:
        ctx.tick()
        if not remaining:
            yield bindings
            return
        runnable = next((p for p in remaining if not p.is_filter and p.start in bindings), None)
        if runnable is None:
            ready = [p for p in remaining if p.is_filter and p.names <= bindings.keys()]
            pending = [p for p in remaining if p not in ready]
            if not ready:
                ready, pending = [p for p in remaining if p.is_filter], [p for p in remaining if not p.is_filter]
                if pending:  # a traversal pattern whose start can never be bound
                    return
            if all(pattern_holds(ctx, p, trav, bindings) for p in ready):
                yield from self._solve(ctx, trav, bindings, pending)
            return
        rest = [p for p in remaining if p is not runnable]
        # filters whose labels are all bound run first: they prune the search
        ready = [p for p in rest if p.is_filter and p.names <= bindings.keys()]
        if ready:
            if not all(pattern_holds(ctx, p, trav, bindings) for p in ready):
                return
            rest = [p for p in rest if p not in ready]
        start = with_bindings(trav, bindings[runnable.start], bindings)
        if runnable.end is None:
            for _ in run_nested(ctx, runnable.steps, start):
                yield from self._solve(ctx, trav, bindings, rest)
                return
            return
        for result in run_nested(ctx, runnable.steps, start):
            bound = bindings.get(runnable.end, NOVALUE)
            if bound is NOVALUE:
                yield from self._solve(ctx, trav, {**bindings, runnable.end: result.obj}, rest)
            elif _same(bound, result.obj):
                yield from self._solve(ctx, trav, bindings, rest)

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            bindings: dict[str, Any] = {}
            if trav.labels:
                for name in self.labels:
                    if trav.labels.get(name):
                        bindings[name] = trav.labels[name][-1]
            bindings.setdefault(self.first_label, trav.obj)
            for found in self._solve(ctx, trav, bindings, list(self.patterns)):
                result = {name: found[name] for name in self.labels if name in found}
                yield with_bindings(trav, trav.obj, found).split(result)
