"""Path steps: path(), simplePath(), cyclicPath(), with by() and from()/to()
(https://tinkerpop.apache.org/docs/3.7.0/reference/#path-step, #simplepath-step, #cyclicpath-step).

Semantics. A traverser's path is every object it was at, one per map/flatMap step, each with the
``as()`` labels given there (see :class:`~emulator.services.neptune.gremlin.engine.Traverser`);
filters add nothing. ``path()`` emits that history as a ``Path``; its ``by()`` modulators apply
round-robin to the objects; a traverser whose path has an object its ``by()`` cannot map (``by("age")``
on software) is filtered out, as TinkerPop 3.8 does.
``from(a)``/``to(b)`` cut it to the steps from the first one labelled ``a`` to the last one labelled
``b`` (both kept). ``simplePath()`` keeps a traverser whose (cut, ``by()``-modulated) path holds no
object twice; ``cyclicPath()`` keeps the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from emulator.services.neptune.errors import MalformedQuery
from emulator.services.neptune.gremlin.engine import (
    NOVALUE,
    By,
    Context,
    Path,
    PathNode,
    Step,
    Traverser,
    freeze,
    register,
)


class PathReader(Step):
    """Shared by the path steps: the ``by()`` cycle and the ``from()``/``to()`` cut."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if args:
            raise MalformedQuery(f"{self.name}() takes no arguments")
        self.bys: list[By] = []
        self.start_label: str | None = None
        self.end_label: str | None = None

    def modulate(self, name: str, args: list[Any]) -> None:
        if name == "by":
            self.bys.append(By(args, self.name))
        elif name in ("from", "to") and len(args) == 1 and isinstance(args[0], str):
            if name == "from":
                self.start_label = args[0]
            else:
                self.end_label = args[0]
        else:
            super().modulate(name, args)

    def nodes(self, trav: Traverser) -> list[PathNode]:
        nodes = trav.path.nodes() if trav.path is not None else []
        if self.start_label is not None:
            starts = [i for i, node in enumerate(nodes) if self.start_label in node.names]
            nodes = nodes[starts[0]:] if starts else []
        if self.end_label is not None:
            ends = [i for i, node in enumerate(nodes) if self.end_label in node.names]
            nodes = nodes[:ends[-1] + 1] if ends else []
        return nodes

    def values(self, ctx: Context, trav: Traverser, nodes: list[PathNode]) -> list[Any] | None:
        """The (modulated) path objects, or None when a ``by()`` is unproductive on one of them."""
        if not self.bys:
            return [node.obj for node in nodes]
        values = []
        for index, node in enumerate(nodes):
            value = self.bys[index % len(self.bys)].value_of(ctx, node.obj, trav)
            if value is NOVALUE:
                return None
            values.append(value)
        return values


@register("path")
class PathStep(PathReader):
    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            nodes = self.nodes(trav)
            values = self.values(ctx, trav, nodes)
            if values is not None:
                yield trav.split(Path([set(node.names) for node in nodes], values))


class PathFilter(PathReader):
    keep_simple = True

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            values = self.values(ctx, trav, self.nodes(trav))
            if values is None:
                continue
            simple = len({freeze(v) if not isinstance(v, Path) else id(v) for v in values}) == len(values)
            if simple == self.keep_simple:
                yield trav


register("simplePath")(type("SimplePathStep", (PathFilter,), {"keep_simple": True}))
register("cyclicPath")(type("CyclicPathStep", (PathFilter,), {"keep_simple": False}))
