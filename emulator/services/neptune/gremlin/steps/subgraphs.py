"""``subgraph(key)`` (https://tinkerpop.apache.org/docs/3.8.0/reference/#subgraph-step).

Semantics. Each edge that passes is added, with its two end vertices, to the side-effect graph ``key``
(a :class:`~..gtypes.SubGraph`, created on first use); the traversers go on unchanged. ``cap(key)`` or
``select(key)`` read the graph, which ``P.typeOf(GType.GRAPH)`` recognises. Only edges can be added, as
in TinkerPop. The graph itself can not be returned to a client: gremlinpython has no Graph type to read it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from emulator.services.neptune.errors import IllegalArgument, MalformedQuery
from emulator.services.neptune.gremlin.engine import Context, Step, Traverser, describe, register
from emulator.services.neptune.gremlin.gtypes import SubGraph
from emulator.services.neptune.store import EdgeRecord


@register("subgraph")
class SubgraphStep(Step):
    #: adding an edge twice changes nothing: a bulked traverser needs no copies
    bulk_aware = True

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) != 1 or not isinstance(args[0], str):
            raise MalformedQuery("subgraph() takes a side-effect key")
        self.key: str = args[0]

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        graph = ctx.side_effects.get(self.key)
        if not isinstance(graph, SubGraph):
            graph = ctx.side_effects[self.key] = SubGraph()
        for trav in it:
            if not isinstance(trav.obj, EdgeRecord):
                raise IllegalArgument(f"subgraph() can only add edges, got {describe(trav.obj)}")
            graph.add_edge(trav.obj)
            yield trav
