"""``tree()`` and ``tree(key)`` (https://tinkerpop.apache.org/docs/3.7.0/reference/#tree-step).

Semantics. A Tree nests the objects of the traversers' paths: ``{root: {child: {...}}}``, one branch per
distinct path prefix. ``by()`` modulators apply to the path's objects round-robin (``tree().by("name")``).
``tree()`` is a barrier that emits the one Tree of all its input; ``tree(key)`` adds the path of each
traverser to the side effect ``key`` (``cap(key)``/``select(key)`` read it) and lets them go on once all its
input has been added, so each sees the whole tree (in TinkerPop the barrier LazyBarrierStrategy puts before
it does that). On the wire a Tree goes as
the map of maps it is: gremlinpython has no Tree type to read one into.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from emulator.services.neptune.errors import MalformedQuery
from emulator.services.neptune.gremlin.engine import NOVALUE, Context, Path, Step, Traverser, register
from emulator.services.neptune.gremlin.gtypes import Tree
from emulator.services.neptune.gremlin.steps.reads import ByCycle


@register("tree")
class TreeStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) > 1 or (args and not isinstance(args[0], str)):
            raise MalformedQuery("tree() takes an optional side-effect key")
        self.key: str | None = args[0] if args else None
        self.reducing = self.key is None
        self.barrier = self.key is not None
        self.bys = ByCycle("tree")

    def modulate(self, name: str, args: list[Any]) -> None:
        if name != "by":
            super().modulate(name, args)
        self.bys.add(args)

    def _add(self, ctx: Context, tree: Tree, trav: Traverser) -> None:
        node = tree
        for index, obj in enumerate(Path.of(trav.path).objects):
            value = self.bys.value(ctx, index, obj, trav)
            if value is NOVALUE:
                return
            node = node.setdefault(value, Tree())

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.key is None:
            tree = Tree()
            for trav in it:
                self._add(ctx, tree, trav)
            yield Traverser(tree)
            return
        tree = ctx.side_effects.get(self.key)
        if not isinstance(tree, Tree):
            tree = ctx.side_effects[self.key] = Tree()
        passing = list(it)
        for trav in passing:
            self._add(ctx, tree, trav)
        yield from passing
