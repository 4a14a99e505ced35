"""The Gremlin steps, one module per family; importing this package registers every one of them.

``reads``: start, navigation and maps; ``filters``: has*, is, where, dedup, range…; ``reducers``:
count, fold, group, order…; ``mutations``: addV, addE, property, drop.
"""

from emulator.services.neptune.gremlin.steps import filters, mutations, reads, reducers

__all__ = ["filters", "mutations", "reads", "reducers"]
