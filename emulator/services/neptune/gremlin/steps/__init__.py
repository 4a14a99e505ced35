"""The Gremlin steps, one module per family; importing this package registers every one of them.

``reads``: start, navigation and maps; ``filters``: has*, is, where, dedup, range…; ``reducers``:
count, fold, group, order…; ``mutations``: addV, addE, property, drop; ``branches``: union,
choose, branch, optional; ``repeats``: repeat/emit/until/times, loops; ``paths``: path, simplePath,
cyclicPath; ``side_effects``: aggregate/store, cap, sideEffect, group/groupCount(key); ``sacks``: sack;
``wheres``: where(traversal) over as() labels; ``connectives``: infix and()/or(); ``match``: match();
``strings``: concat, toUpper, trim, split, substring, replace, format…; ``lists``: merge, combine,
difference, intersect, disjunct, product, conjoin, reverse, all/any/none; ``types``: asString, asNumber,
asBool, asDate, dateAdd, dateDiff; ``math_step``: math(); ``elements``: element(); ``subgraphs``: subgraph(key).
"""

# a module that replaces a core handler (group, where, none) imports that core module first, so it registers last
from emulator.services.neptune.gremlin.steps import (  # noqa: E402
    branches,
    connectives,
    elements,
    filters,
    lists,
    match,
    math_step,
    mutations,
    paths,
    reads,
    reducers,
    repeats,
    sacks,
    side_effects,
    strings,
    subgraphs,
    trees,
    types,
    wheres,
)

__all__ = ["branches", "connectives", "elements", "filters", "lists", "match", "math_step", "mutations", "paths",
           "reads", "reducers", "repeats", "sacks", "side_effects", "strings", "subgraphs",
           "trees", "types", "wheres"]
