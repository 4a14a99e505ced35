"""The Gremlin engine: bytecode, the step machine, predicates, a script subset, and the steps as a package.

https://tinkerpop.apache.org/docs/3.7.0/reference/#traversal
"""
