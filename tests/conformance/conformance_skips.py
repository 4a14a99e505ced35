"""The one table of scenarios the conformance run skips, each with the documented reason.

A scenario is skipped only when one of its tags, its name, a step it needs or its traversal text is listed
here. Each reason names the Neptune difference it stands for (the sections of "Gremlin standards compliance
in Amazon Neptune", https://docs.aws.amazon.com/neptune/latest/userguide/access-graph-gremlin-differences.html:
cardinality of vertex properties, vertex property IDs, unsupported Gremlin methods and steps, and the Gremlin
graph features Neptune reports) or a limit of gremlinpython itself, which no server can lift. Scenarios Neptune
does run stay in: user-supplied vertex and edge ids (Neptune allows them), ``@DisallowNullPropertyValues``,
``@InsertionOrderingRequired``, and the strategies (``withStrategies``/``withoutStrategies``, which upstream's
harness ignores). The README's conformance section repeats this table.
"""

from __future__ import annotations

import re

from conformance_suite import Scenario

#: tag -> reason
SKIPPED_TAGS: dict[str, str] = {
    "MultiProperties": "Neptune: list cardinality is not supported (single and set only)",
    "MetaProperties": "Neptune: no meta-properties (properties on vertex properties)",
    "GraphComputerOnly": "Neptune: no GraphComputer (OLAP); withComputer() is not supported",
    "UserSuppliedVertexPropertyIds": "Neptune: vertex property ids are generated, never user-supplied",
    "AllowNullPropertyValues": "Neptune: null property values are not supported",
    "AllowListPropertyValues": "Neptune: property values are scalars (no List values)",
    "AllowSetPropertyValues": "Neptune: property values are scalars (no Set values)",
    "AllowMapPropertyValues": "Neptune: property values are scalars (no Map values)",
    "AllowUUIDPropertyValues": "Neptune: UUID is not a property value type",
    "TinkerServiceRegistry": "TinkerGraph's own call() services (Neptune has none of them)",
    "WithVertexProgramStrategy": "Neptune: no GraphComputer (VertexProgramStrategy is OLAP-only)",
    "WithVertexProgramRestrictionStrategy": "Neptune: no GraphComputer (VertexProgramRestrictionStrategy)",
    "StepRead": "Neptune: io() is not supported",
    "StepWrite": "Neptune: io() is not supported",
    "StepPageRank": "Neptune: pageRank() is OLAP-only (GraphComputer)",
    "StepPeerPressure": "Neptune: peerPressure() is OLAP-only (GraphComputer)",
    "StepConnectedComponent": "Neptune: connectedComponent() is OLAP-only (GraphComputer)",
    "StepShortestPath": "Neptune: shortestPath() is OLAP-only (GraphComputer)",
}

#: a step text (regular expression) the gremlin-python harness has no assertion for -> reason
SKIPPED_STEPS: dict[str, str] = {
    r"an unsupported test": "TinkerPop marks it unsupported by the language-variant test suites",
    r"the result should be a tree with a structure of":
        "gremlinpython cannot read a Tree result (no Tree type in its GraphBinary or GraphSON readers)",
    r"the result should be a subgraph with the following":
        "gremlinpython cannot read a Graph result (no Graph type in its GraphBinary or GraphSON readers)",
}

#: scenario name -> reason (kept short; every entry says why)
SKIPPED_SCENARIOS: dict[str, str] = {
    "g_V_hasXperson_name_aliceX_propertyXsingle_age_unionXage_constantX1XX_sumX":
        "Neptune: property(key, value) without a cardinality is set cardinality (adds a value; the scenario "
        "expects TinkerGraph to replace it)",
}

#: traversal text (regular expression) -> reason
SKIPPED_TRAVERSALS: dict[str, str] = {
    r"\bprogram\(": "Neptune: program() (a VertexProgram) is OLAP-only",
    r"withComputer\(": "Neptune: no GraphComputer (withComputer())",
    r"\bio\(": "Neptune: io() is not supported",
    r"\bcall\(": "TinkerGraph's own call() services (Neptune has none of them)",
}


#: (serializer, traversal text regular expression) -> reason: what one serializer of gremlinpython cannot send
SKIPPED_FOR_SERIALIZER: dict[tuple[str, str], str] = {
    ("graphson", r"withoutStrategies\("): "gremlinpython's GraphSON writer cannot write the strategy classes of "
                                          "withoutStrategies() (TypeError in the client, nothing is sent)",
}


def skip_reason(scenario: Scenario, serializer: str | None = None) -> str | None:
    """Why the scenario is skipped (for ``serializer``, when given), or None when it runs."""
    for (skipped_serializer, pattern), reason in SKIPPED_FOR_SERIALIZER.items():
        if serializer == skipped_serializer and any(step.doc and re.search(pattern, step.doc)
                                                    for step in scenario.steps):
            return reason
    if scenario.name in SKIPPED_SCENARIOS:
        return SKIPPED_SCENARIOS[scenario.name]
    for tag in sorted(scenario.tags):
        if tag in SKIPPED_TAGS:
            return f"@{tag}: {SKIPPED_TAGS[tag]}"
    for step in scenario.steps:
        for pattern, reason in SKIPPED_STEPS.items():
            if re.fullmatch(pattern, step.text):
                return reason
        if step.text == "the traversal of" and step.doc:
            for pattern, reason in SKIPPED_TRAVERSALS.items():
                if re.search(pattern, step.doc):
                    return reason
    if not scenario.traversals:
        return "gremlin-python has no translation of this scenario"
    return None
