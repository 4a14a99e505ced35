"""``element()``: from a property to the vertex or edge that holds it.

https://tinkerpop.apache.org/docs/3.7.0/reference/#element-step
"""

from __future__ import annotations

from typing import Any

from emulator.services.neptune.errors import IllegalArgument, MalformedQuery
from emulator.services.neptune.gremlin.engine import Context, PropRef, Traverser, describe, register
from emulator.services.neptune.gremlin.steps.reads import MapStep


@register("element")
class ElementStep(MapStep):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if args:
            raise MalformedQuery("element() takes no arguments")

    def map(self, ctx: Context, trav: Traverser) -> Any:
        if not isinstance(trav.obj, PropRef):
            raise IllegalArgument(f"element() needs a property, got {describe(trav.obj)}")
        return trav.obj.element
