"""Looping: repeat() with emit()/until()/times(), and loops()
(https://tinkerpop.apache.org/docs/3.7.0/reference/#repeat-step, #loops-step).

Semantics (TinkerPop's ``RepeatStep``). A traverser entering ``repeat(body)`` gets a loop counter
(0; named by ``repeat("name", body)``, stacked under any enclosing repeat). Then, at each turn:

- *before* the body (``until``/``emit``/``times`` written before ``repeat``): if ``until`` holds, the
  traverser leaves the loop; else if ``emit`` holds, a copy leaves and the traverser goes on;
- the body runs, and the counter of each traverser it yields goes up by one;
- *after* the body (modulators written after ``repeat``): if ``until`` holds (``times(n)`` means
  ``loops() >= n``), it leaves; else if ``emit`` holds a copy leaves; then the next turn begins.

A traverser that leaves drops its counter. ``emit()`` with no argument always holds; ``until`` and
``emit`` take a traversal (holds when it yields something) or a predicate on the object.

Lazy and breadth first: the traversers of one start wait in a queue, oldest turn first, and each
result leaves as soon as it is found, so ``repeat(both()).until(has(...)).limit(1)`` terminates on a
cyclic graph and stops at the first hit. A body with a barrier or a global range/dedup runs one turn
over the whole frontier of all starts at a time instead (so a ``dedup()`` in the body sees every
traverser of the turn, as in TinkerPop).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gremlin_python.statics import long

from emulator.services.neptune.errors import MalformedQuery
from emulator.services.neptune.gremlin.bytecode import Bytecode, Pred
from emulator.services.neptune.gremlin.engine import (
    COMPILE_PASSES,
    NOVALUE,
    Context,
    Step,
    Traverser,
    as_predicate,
    compile_bytecode,
    describe,
    first_result,
    holds_state,
    register,
    run_steps,
)
from emulator.services.neptune.gremlin.steps.filters import DedupStep
from emulator.services.neptune.store import EdgeRecord, VertexRecord


class LoopTest:
    """An ``until()``/``emit()`` argument: always, a traversal, a predicate, or ``times(n)``."""

    def __init__(self, args: list[Any], step: str) -> None:
        self.times: int | None = None
        self.steps: list[Step] | None = None
        self.pred = None
        if not args:
            return
        if len(args) != 1:
            raise MalformedQuery(f"{step}() takes at most one traversal or predicate")
        arg = args[0]
        if isinstance(arg, Bytecode):
            self.steps = compile_bytecode(arg)
        elif isinstance(arg, Pred):
            self.pred = as_predicate(arg)
        else:
            raise MalformedQuery(f"{step}() expects a traversal or a predicate, got {describe(arg)}")

    @classmethod
    def count(cls, times: int) -> LoopTest:
        test = cls([], "times")
        test.times = times
        return test

    def holds(self, ctx: Context, trav: Traverser) -> bool:
        if self.times is not None:
            return trav.loop_count() >= self.times
        if self.steps is not None:
            return first_result(ctx, self.steps, trav) is not NOVALUE
        if self.pred is not None:
            return self.pred(trav.obj)
        return True


class LoopModifier(Step):
    """``emit()``, ``until()``, ``times()`` as written in the bytecode; folded into the next/previous repeat."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if self.name == "times":
            if len(args) != 1 or isinstance(args[0], bool) or not isinstance(args[0], int) or args[0] < 0:
                raise MalformedQuery(f"times() takes a number of loops, got {args!r}")
            self.test = LoopTest.count(int(args[0]))
        else:
            self.test = LoopTest(args, self.name)

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        raise MalformedQuery(f"The repeat()-traversal was not defined: {self.name}() must modulate a repeat()")


for _name in ("emit", "until", "times"):
    register(_name)(type(f"LoopModifier_{_name}", (LoopModifier,), {}))


@register("repeat")
class RepeatStep(Step):
    bulk_aware = True

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.loop_name: str | None = None
        if len(args) == 2 and isinstance(args[0], str):
            self.loop_name, args = args[0], args[1:]
        if len(args) != 1 or not isinstance(args[0], Bytecode):
            raise MalformedQuery("repeat() takes a traversal (optionally after a loop name)")
        self.body = compile_bytecode(args[0])
        if self.body and self.body[0].name == "inject":
            raise MalformedQuery("The parent of inject()-step can not be repeat()-step")
        #: a body with a barrier makes this repeat one too (a branch around it must see all inputs)
        self.barrier = holds_state(self.body)
        self.until_first: LoopTest | None = None
        self.emit_first: LoopTest | None = None
        self.until_last: LoopTest | None = None
        self.emit_last: LoopTest | None = None

    def take(self, modifier: LoopModifier, before: bool) -> None:
        """Fold in an ``emit``/``until``/``times`` written before or after this repeat."""
        slot = ("until" if modifier.name in ("until", "times") else "emit") + ("_first" if before else "_last")
        if getattr(self, slot) is not None:
            raise MalformedQuery(f"repeat() already has {modifier.name}() {'before' if before else 'after'} it")
        setattr(self, slot, modifier.test)

    # -- the loop counter -----------------------------------------------------------------
    def _enter(self, trav: Traverser) -> Traverser:
        return trav.replace(loops=(*trav.loops, (self.loop_name, 0)))

    def _turn(self, trav: Traverser) -> Traverser:
        if not trav.loops:  # a barrier in the body made a fresh traverser
            return trav.replace(loops=((self.loop_name, 1),))
        name, count = trav.loops[-1]
        return trav.replace(loops=(*trav.loops[:-1], (name, count + 1)))

    @staticmethod
    def _leave(trav: Traverser) -> Traverser:
        return trav.replace(loops=trav.loops[:-1])

    # -- one turn's checks ------------------------------------------------------------------
    def _before(self, ctx: Context, trav: Traverser) -> tuple[Traverser | None, bool]:
        """(a traverser leaving the loop or None, whether ``trav`` goes into the body)."""
        if self.until_first is not None and self.until_first.holds(ctx, trav):
            return self._leave(trav), False
        if self.emit_first is not None and self.emit_first.holds(ctx, trav):
            return self._leave(trav), True
        return None, True

    def _after(self, ctx: Context, trav: Traverser) -> tuple[Traverser | None, bool]:
        """(a traverser leaving the loop or None, whether ``trav`` takes another turn)."""
        if self.until_last is not None and self.until_last.holds(ctx, trav):
            return self._leave(trav), False
        if self.emit_last is not None and self.emit_last.holds(ctx, trav):
            return self._leave(trav), True
        return None, True

    def _body_results(self, ctx: Context, trav: Traverser) -> Iterator[tuple[Traverser | None, Traverser | None]]:
        """For each result of one turn from ``trav``: (what leaves, what loops again).

        The body runs once for a bulked traverser and its results carry that bulk: a body without a
        barrier treats each traverser on its own, so ``bulk`` equal traversers give ``bulk`` times its results.
        """
        bulk = trav.bulk
        for out in run_steps(ctx, self.body, iter((trav.with_bulk(1),))):
            ctx.tick()
            out = self._turn(out)
            if bulk != 1:
                out = out.with_bulk(out.bulk * bulk)
            leaving, again = self._after(ctx, out)
            yield leaving, out if again else None

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        # a dedup() in the body remembers what it saw in earlier turns, as TinkerPop's one step instance does
        dedups = [step for step in self.body if isinstance(step, DedupStep)]
        for dedup in dedups:
            dedup.seen_across_turns = set()
        try:
            yield from self._turns(ctx, it)
        finally:
            for dedup in dedups:
                dedup.seen_across_turns = None

    def _unrollable(self) -> bool:
        """``repeat(body).times(n)`` alone: the same as ``n`` copies of the body in a row, as TinkerPop's
        RepeatUnrollStrategy runs it (all starts turn by turn, so equal traversers of all starts merge)."""
        return (self.until_last is not None and self.until_last.times is not None and self.until_first is None
                and self.emit_first is None and self.emit_last is None)

    def _turns(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.barrier:
            yield from self._breadth_first(ctx, it)
            return
        if ctx.bulking and not ctx.track_paths and self._unrollable():
            yield from self._lazy(ctx, [self._enter(start) for start in it])
            return
        for start in it:
            # one start at a time, turn by turn: breadth first, so an unbounded loop over a cycle
            # still reaches what until() looks for, yet each result leaves as soon as it is found
            yield from self._lazy(ctx, [self._enter(start)])

    def _lazy(self, ctx: Context, turn: list[Traverser]) -> Iterator[Traverser]:
        """Run turns from ``turn`` until no traverser loops again; each result leaves as soon as it is found."""
        # a body of bulk-aware steps with nothing to check before it takes the whole turn as one stream
        streamed = (self.until_first is None and self.emit_first is None
                    and all(step.bulk_aware for step in self.body))
        while turn:
            upcoming = TurnMerger(ctx)
            if streamed:
                for out in run_steps(ctx, self.body, iter(turn)):
                    ctx.tick()
                    out = self._turn(out)
                    leaving, again = self._after(ctx, out)
                    if leaving is not None:
                        yield leaving
                    if again:
                        upcoming.add(out)
                turn = upcoming.traversers()
                continue
            for trav in turn:
                leaving, goes_in = self._before(ctx, trav)
                if leaving is not None:
                    yield leaving
                if not goes_in:
                    continue
                for leaving, again in self._body_results(ctx, trav):
                    if leaving is not None:
                        yield leaving
                    if again is not None:
                        upcoming.add(again)
            turn = upcoming.traversers()

    def _breadth_first(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        frontier = [self._enter(trav) for trav in it]
        turn = 0
        while frontier:
            turn += 1
            inputs = []
            for trav in frontier:
                leaving, goes_in = self._before(ctx, trav)
                if leaving is not None:
                    yield leaving
                if goes_in:
                    inputs.append(trav)
            upcoming = TurnMerger(ctx)
            for out in run_steps(ctx, self.body, iter(inputs)):
                ctx.tick()
                # a barrier in the body makes fresh traversers: give them this turn's counter back
                outer = out.loops[:-1] if out.loops else ()
                out = out.replace(loops=(*outer, (self.loop_name, turn)))
                leaving, again = self._after(ctx, out)
                if leaving is not None:
                    yield leaving
                if again:
                    upcoming.add(out)
            frontier = upcoming.traversers()


class TurnMerger:
    """The traversers of a repeat's next turn, equal ones merged into one of summed bulk.

    Equal, as TinkerPop's TraverserSet sees it: the same object, ``as()`` labels, loop counters and
    ``otherV()`` origin (paths are not compared: merging is off while a step reads paths, and with sacks).
    Labels and objects are compared by identity, which is safe here because every key's traverser stays
    alive (holding them) while the merger does.
    """

    __slots__ = ("_merged", "_enabled")

    def __init__(self, ctx: Context) -> None:
        self._enabled = ctx.bulking and not ctx.track_paths
        self._merged: dict[Any, Traverser] | list[Traverser] = {} if self._enabled else []

    def add(self, trav: Traverser) -> None:
        merged = self._merged
        if isinstance(merged, list):
            merged.append(trav)
            return
        obj = trav.obj
        key = (obj if isinstance(obj, VertexRecord | EdgeRecord) else ("value", id(obj)), id(trav.labels),
               trav.loops, id(trav.origin))
        found = merged.get(key)
        if found is None:
            merged[key] = trav
        else:
            merged[key] = found.with_bulk(found.bulk + trav.bulk)

    def traversers(self) -> list[Traverser]:
        merged = self._merged
        return merged if isinstance(merged, list) else list(merged.values())


def fold_loop_modifiers(steps: list[Step]) -> list[Step]:
    """Attach each emit/until/times to the repeat right after it (if any), else to the one before it."""
    result: list[Step] = []
    waiting: list[LoopModifier] = []
    for step in steps:
        if isinstance(step, LoopModifier):
            if result and isinstance(result[-1], RepeatStep) and not waiting:
                result[-1].take(step, before=False)
            else:
                waiting.append(step)
            continue
        if isinstance(step, RepeatStep):
            for modifier in waiting:
                step.take(modifier, before=True)
            waiting = []
        elif waiting:
            raise MalformedQuery(f"The repeat()-traversal was not defined: {waiting[0].name}() must be next to "
                                 "a repeat()")
        result.append(step)
    if waiting:
        raise MalformedQuery(f"The repeat()-traversal was not defined: {waiting[0].name}() must be next to "
                             "a repeat()")
    return result


COMPILE_PASSES.append(fold_loop_modifiers)


@register("loops")
class LoopsStep(Step):
    """``loops()``: the innermost repeat's counter; ``loops(name)``: the named repeat's."""

    bulk_aware = True

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) > 1 or (args and not isinstance(args[0], str)):
            raise MalformedQuery("loops() takes at most a loop name")
        self.loop_name = args[0] if args else None

    def map_one(self, ctx: Context, trav: Traverser) -> Any:  # type: ignore[override]
        return long(trav.loop_count(self.loop_name))

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            yield trav.split(long(trav.loop_count(self.loop_name)))
