"""The Gremlin steps, one module per family; importing this package registers every one of them.

``reads``: start, navigation and maps; ``filters``: has*, is, where, dedup, range…; ``reducers``:
count, fold, group, order…; ``mutations``: addV, addE, property, drop; ``strings``: concat, toUpper,
trim, split, substring, replace, format…; ``lists``: merge, combine, difference, intersect, disjunct,
product, conjoin, reverse, all/any/none; ``types``: asString, asNumber, asBool, asDate, dateAdd,
dateDiff; ``math_step``: math(); ``elements``: element().
"""

# lists comes after reads: its none(P) takes over the name from reads' discard()
from emulator.services.neptune.gremlin.steps import (
    elements,
    filters,
    lists,
    math_step,
    mutations,
    reads,
    reducers,
    strings,
    types,
)

__all__ = ["elements", "filters", "lists", "math_step", "mutations", "reads", "reducers", "strings", "types"]
