"""Neptune ML inference queries in the Gremlin engine: ``Neptune#ml.*`` options and the ML steps.

``query``: what an ML step asks the model for and what comes back, and where a graph's model client is
bound; ``options``: the ``Neptune#ml.*`` predicates and Neptune's error texts; ``neighbourhood``: the
subgraph sent for inductive inference; ``steps``: ``properties()``/``out()``/``in()``/``both()`` with ML
modulation. The model client itself (SageMaker InvokeEndpoint) is ``emulator.services.neptune.ml.inference``,
bound to the store by the graph server, so this package does no IO of its own.
"""
