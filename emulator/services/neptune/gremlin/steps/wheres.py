"""``where(traversal)`` over ``as()`` labels (https://tinkerpop.apache.org/docs/3.7.0/reference/#where-step).

Semantics. In ``where(t)``, a ``t`` that starts with ``as("a")`` starts from the object labelled
``a`` (not from the current object), and a ``t`` that ends with ``as("b")`` holds only when one of
its results is the object labelled ``b``; a label that is not set makes the filter fail. Otherwise
``where(t)`` holds when ``t`` yields anything from the current traverser. The predicate forms
(``where(P)``, ``where("a", P)``) are :class:`~.filters.WhereStep`'s; their ``by()`` modulators
apply round-robin to the start label, then to each label the predicate names, in order.
``where(and(…))``, ``where(or(…))``, ``where(not(…))`` combine such labelled patterns, as in ``match()``.
"""

from __future__ import annotations

from typing import Any

from emulator.services.neptune.gremlin.engine import NOVALUE, Context, Traverser, register, run_nested, select_value
from emulator.services.neptune.gremlin.steps.filters import WhereStep
from emulator.services.neptune.gremlin.steps.match import Pattern, pattern_holds
from emulator.services.neptune.gremlin.steps.reads import AsStep


def _same(a: Any, b: Any) -> bool:
    return a is b or (not isinstance(a, bool) and not isinstance(b, bool) and a == b)


@register("where")
class LabelledWhereStep(WhereStep):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.start_label: str | None = None
        self.end_label: str | None = None
        steps = self.steps
        if steps and isinstance(steps[0], AsStep) and len(steps[0].args) == 1:
            self.start_label = steps[0].args[0]
            steps = steps[1:]
        if steps and isinstance(steps[-1], AsStep) and len(steps[-1].args) == 1:
            self.end_label = steps[-1].args[0]
            steps = steps[:-1]
        if self.steps is not None:
            self.steps = steps
        self.pattern: Pattern | None = None
        if self.steps is not None and self.start_label is None and self.end_label is None:
            candidate = Pattern(self.steps)
            if candidate.connective is not None:
                self.pattern = candidate

    def test(self, ctx: Context, trav: Traverser) -> bool:
        trav = trav.with_bulk(1)  # the patterns run as one traverser: a bulk would only multiply their work
        if self.pattern is not None:
            bindings = {name: objs[-1] for name, objs in (trav.labels or {}).items() if objs}
            return pattern_holds(ctx, self.pattern, trav, bindings)
        if self.steps is None or (self.start_label is None and self.end_label is None):
            return super().test(ctx, trav)
        start = trav
        if self.start_label is not None:
            value = select_value(trav, self.start_label, side_effects=ctx.side_effects)
            if value is NOVALUE:
                return False
            start = trav.replace(obj=value)
        if self.end_label is None:
            return any(True for _ in run_nested(ctx, self.steps, start))
        wanted = select_value(trav, self.end_label, side_effects=ctx.side_effects)
        if wanted is NOVALUE:
            return False
        return any(_same(result.obj, wanted) for result in run_nested(ctx, self.steps, start))
