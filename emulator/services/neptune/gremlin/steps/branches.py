"""Branch steps: union, choose (if/then/else and option()), branch().option(), optional
(https://tinkerpop.apache.org/docs/3.7.0/reference/#branch-step).

Semantics. A branch's children are *global* children: every traverser routed to a child flows
through that child as one stream, so ``g.V().union(count(), local(count()))`` gives one count of all
vertices and one count per vertex. Routing is by the pick value, the first result of the branch
traversal (or the ``T`` token / predicate) for the traverser:

- ``branch(x).option(k, t)``: every option whose key matches runs (a value equals the pick, a ``P``
  accepts it, a traversal yields something for it); ``Pick.any`` always runs; ``Pick.none`` runs when
  no key matched, ``Pick.unproductive`` when ``x`` yielded nothing.
- ``choose(x).option(...)``: the same, but only the first matching option runs; with no match and no
  ``Pick.none`` (or no pick and no ``Pick.unproductive``) the traverser passes through unchanged.
- ``choose(cond, t, f)``: ``t`` when ``cond`` (a traversal or a ``P`` on the object) holds, else ``f``
  (identity when absent). ``optional(t)`` is ``choose(t, t, identity)``.

Lazy when it can be: when no child holds a barrier or a global range/dedup (``holds_state``), each
traverser runs through its children as it arrives, which gives the same results without waiting.
Otherwise (as TinkerPop's ``BranchStep`` does when a child has a barrier) all inputs are routed
first, then each child runs once over its inputs, in option order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from emulator.services.neptune.errors import MalformedQuery
from emulator.services.neptune.gremlin.bytecode import Bytecode, Pred
from emulator.services.neptune.gremlin.engine import (
    NOVALUE,
    Context,
    Step,
    Traverser,
    as_predicate,
    compile_bytecode,
    first_result,
    holds_state,
    is_sym,
    nested,
    register,
    run_nested,
    run_steps,
    token_value,
)

#: a route to the traverser itself (choose without a matching option)
IDENTITY: list[Step] = []


class Router(Step):
    """A step that sends each traverser to some of its children (lists of steps); subclasses route."""

    children: list[list[Step]]

    @property  # type: ignore[override]
    def barrier(self) -> bool:  # a child holding a barrier makes the branch one for its parent
        return any(holds_state(steps) for steps in self.children)

    def route(self, ctx: Context, trav: Traverser) -> list[int]:
        """Indexes into ``self.children`` (``-1``: pass the traverser through unchanged)."""
        raise NotImplementedError

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        if not self.barrier:
            for trav in it:
                for index in self.route(ctx, trav):
                    if index < 0:
                        yield trav
                    else:
                        yield from run_nested(ctx, self.children[index], trav)
            return
        routed: list[list[Traverser]] = [[] for _ in self.children]
        passed: list[Traverser] = []
        for trav in it:
            for index in self.route(ctx, trav):
                (passed if index < 0 else routed[index]).append(trav)
        yield from passed
        for steps, inputs in zip(self.children, routed, strict=True):
            if inputs:
                yield from run_steps(ctx, steps, iter(inputs))


@register("union")
class UnionStep(Router):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.children = [nested(a, "union") for a in args]
        self.everything = list(range(len(self.children)))

    def route(self, ctx: Context, trav: Traverser) -> list[int]:
        return self.everything


class Condition:
    """``choose()``'s test or pick: a traversal's first result, a ``T`` token, or a ``P`` on the object."""

    def __init__(self, arg: Any, step: str) -> None:
        self.pred = as_predicate(arg) if isinstance(arg, Pred) else None
        self.token = arg if is_sym(arg, "T") else None
        self.steps = nested(arg, step) if self.pred is None and self.token is None else None

    def pick(self, ctx: Context, trav: Traverser) -> Any:
        """The pick value (NOVALUE when the branch traversal yields nothing)."""
        if self.token is not None:
            return token_value(trav.obj, self.token)
        if self.pred is not None:
            return self.pred(trav.obj)
        return first_result(ctx, self.steps or [], trav)

    def holds(self, ctx: Context, trav: Traverser) -> bool:
        if self.pred is not None:
            return self.pred(trav.obj)
        return self.pick(ctx, trav) is not NOVALUE


def _same(a: Any, b: Any) -> bool:
    """Option keys match numbers by value (``2L`` picks a count of 2) but never booleans as numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


class OptionKey:
    """One ``option(key, traversal)`` key: a value, a predicate, a traversal or a ``Pick`` token."""

    def __init__(self, key: Any) -> None:
        self.pick = key.name if is_sym(key, "Pick") else None
        self.pred = as_predicate(key) if isinstance(key, Pred) else None
        self.steps = compile_bytecode(key) if isinstance(key, Bytecode) else None
        self.value = key

    def matches(self, ctx: Context, trav: Traverser, picked: Any) -> bool:
        if self.pick is not None:
            return False
        if self.pred is not None:
            return self.pred(picked)
        if self.steps is not None:
            return first_result(ctx, self.steps, trav.split(picked)) is not NOVALUE
        return _same(self.value, picked)


class OptionRouter(Router):
    """``branch()`` and ``choose()`` with ``option()`` modulators."""

    #: choose(): only the first matching option runs, and a traverser with no route passes through
    first_only = False

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) != 1:
            raise MalformedQuery(f"{self.name}() takes one branch traversal, T token or predicate")
        self.condition = Condition(args[0], self.name)
        self.keys: list[OptionKey] = []
        self.children = []

    def modulate(self, name: str, args: list[Any]) -> None:
        if name != "option":
            super().modulate(name, args)
        if len(args) != 2:
            raise MalformedQuery(f"{self.name}().option() takes a pick key and a traversal")
        self.keys.append(OptionKey(args[0]))
        self.children.append(nested(args[1], "option"))

    def _first(self, pick: str) -> list[int]:
        found = [i for i, key in enumerate(self.keys) if key.pick == pick]
        return found[:1] if self.first_only else found

    def route(self, ctx: Context, trav: Traverser) -> list[int]:
        picked = self.condition.pick(ctx, trav)
        if picked is NOVALUE:
            chosen = self._first("unproductive")
        else:
            chosen = [i for i, key in enumerate(self.keys) if key.matches(ctx, trav, picked)]
            if self.first_only:
                chosen = chosen[:1]
            if not chosen:
                chosen = self._first("none")
        if not self.first_only:
            chosen = chosen + self._first("any")
        if not chosen and self.first_only:
            return [-1]
        return chosen


@register("branch")
class BranchStep(OptionRouter):
    pass


@register("choose")
class ChooseStep(OptionRouter):
    """``choose(x).option(...)``, or ``choose(cond, then[, else])``."""

    first_only = True

    def __init__(self, args: list[Any]) -> None:
        if len(args) == 1:
            super().__init__(args)
            self.then_else = False
            return
        Step.__init__(self, args)
        if len(args) not in (2, 3):
            raise MalformedQuery("choose() takes a branch traversal, or a condition and one or two traversals")
        self.then_else = True
        self.condition = Condition(args[0], "choose")
        self.keys = []
        self.children = [nested(args[1], "choose"), nested(args[2], "choose") if len(args) == 3 else IDENTITY]

    def modulate(self, name: str, args: list[Any]) -> None:
        if self.then_else:
            raise MalformedQuery(f"choose(condition, then, else) cannot be modulated by {name}()")
        if name == "option" and args and isinstance(args[0], Bytecode):
            raise MalformedQuery("Traversal is not allowed as a Pick token for choose().option(); "
                                 "use a value, a predicate or a Pick")
        super().modulate(name, args)

    def route(self, ctx: Context, trav: Traverser) -> list[int]:
        if self.then_else:
            return [0] if self.condition.holds(ctx, trav) else [1]
        return super().route(ctx, trav)


@register("optional")
class OptionalStep(Router):
    """``optional(t)``: the results of ``t``, or the traverser itself when ``t`` yields nothing."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) != 1:
            raise MalformedQuery("optional() takes one traversal")
        self.children = [nested(args[0], "optional")]

    def route(self, ctx: Context, trav: Traverser) -> list[int]:
        return [0] if first_result(ctx, self.children[0], trav) is not NOVALUE else [-1]

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.barrier:
            yield from super().run(ctx, it)
            return
        for trav in it:  # run the child once: it may write (optional(addV(...)))
            results = list(run_nested(ctx, self.children[0], trav))
            yield from results if results else (trav,)


__all__ = ["BranchStep", "ChooseStep", "OptionalStep", "UnionStep"]
