"""The ``Neptune#ml.*`` predicates, on the traversal source and on a step, and Neptune's error texts.

See https://docs.aws.amazon.com/neptune/latest/userguide/machine-learning-gremlin-inference-query-predicates.html
and, for the messages users match on, machine-learning-gremlin-exceptions.html (the texts below are Neptune's).
A source option (``g.with("Neptune#ml.limit", 5)``) applies to the ML step; the same option on the step wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.services.neptune.errors import InvalidParameter, MissingParameter

PREFIX = "Neptune#ml."
ENDPOINT = "Neptune#ml.endpoint"
IAM_ROLE = "Neptune#ml.iamRoleArn"
LIMIT = "Neptune#ml.limit"
THRESHOLD = "Neptune#ml.threshold"
CLASSIFICATION = "Neptune#ml.classification"
REGRESSION = "Neptune#ml.regression"
PREDICTION = "Neptune#ml.prediction"
SCORE = "Neptune#ml.score"
INDUCTIVE = "Neptune#ml.inductiveInference"
DETERMINISTIC = "Neptune#ml.deterministic"
NO_METADATA_CACHE = "Neptune#ml.disableInductiveInferenceMetadataCache"

#: predicates that take no value (``with("Neptune#ml.classification")``)
FLAGS = frozenset({CLASSIFICATION, REGRESSION, PREDICTION, SCORE, INDUCTIVE, DETERMINISTIC, NO_METADATA_CACHE})
VALUED = frozenset({ENDPOINT, IAM_ROLE, LIMIT, THRESHOLD})
DEFAULT_LIMIT = 1
MAX_LIMIT = 100

# Neptune's messages (machine-learning-gremlin-exceptions)
NO_ENDPOINT = "No endpoint provided for external service query."
BAD_ENDPOINT = "Invalid endpoint provided for external service query."
BAD_ROLE = "Invalid IAM role ARN provided for external service query."
ONE_PROPERTY_KEY = "ML inference queries are currently supported for one property key."
ONE_KEY_AND_SCORE = ("Neptune ML inference queries are currently supported for one property key and one "
                     "Neptune#ml.score property key.")
NO_PROPERTY_KEY = "Property key needs to be specified using properties() step for ML inference queries."
NO_KEY_BESIDE_SCORE = ("Property key needs to be specified along with Neptune#ml.score property key while using "
                       "the properties() step for Neptune ML inference queries.")
ONE_EDGE_LABEL = "ML inference are currently supported only with one edge label."
ONE_VERTEX_LABEL = "ML inference are currently supported only with one vertex label constraint."
NO_EDGE_LABEL = "Edge label needs to be specified while using in() or out() step for ML inference queries."
NO_BOTH = "ML inference queries are currently not supported with both() step."
NO_PREDICTED_LABEL = "Predicted vertex label needs to be specified using has() step for ML inference queries."
BOTH_TASKS = "Both regression and classification ML predicates cannot be specified in the query."
NOT_IN_REPEAT = "Neptune ML inference queries are currently not supported inside a repeat step."
ONE_ML_QUERY = ("Neptune ML inference queries are currently supported only with one ML inference query per "
                "gremlin query.")


@dataclass
class MLSettings:
    """The ML predicates in force for one step: the source's, overridden by the step's own."""

    endpoint: str | None = None
    iam_role_arn: str | None = None
    limit: int = DEFAULT_LIMIT
    threshold: float = 0.0
    inductive: bool = False
    deterministic: bool = False


def read_option(name: Any, args: list[Any]) -> tuple[str, Any]:
    """Check one ``with(name[, value])`` ML predicate; returns ``(name, value)`` (``True`` for a flag).

    Raises:
        InvalidParameter: an unknown predicate, a missing or bad value, a limit outside 1..100.
    """
    if name in FLAGS:
        if args and args[0] is not True:
            raise InvalidParameter(f"{name} takes no value")
        return name, True
    if name not in VALUED:
        raise InvalidParameter(f"Unknown Neptune ML predicate {name}; Neptune knows "
                               f"{', '.join(sorted(FLAGS | VALUED))}")
    if not args:
        raise InvalidParameter(f"{name} needs a value")
    value = args[0]
    if name in (ENDPOINT, IAM_ROLE):
        if not isinstance(value, str):
            raise InvalidParameter(BAD_ENDPOINT if name == ENDPOINT else BAD_ROLE)
        return name, value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidParameter(f"{name} takes a number, got {value!r}")
    if name == LIMIT:
        if value != int(value) or not 1 <= value <= MAX_LIMIT:
            raise InvalidParameter(f"{LIMIT} must be an integer from 1 to {MAX_LIMIT}, got {value!r}")
        return name, int(value)
    return name, float(value)


def settings(source: dict[str, Any], step: dict[str, Any]) -> MLSettings:
    """The settings of one ML step from the source options (``g.with``) and its own ``with()`` predicates."""
    merged: dict[str, Any] = {}
    for key, value in source.items():
        if isinstance(key, str) and key.startswith(PREFIX):
            name, checked = read_option(key, [] if value is True else [value])
            merged[name] = checked
    merged.update(step)
    found = MLSettings(endpoint=merged.get(ENDPOINT), iam_role_arn=merged.get(IAM_ROLE),
                       limit=merged.get(LIMIT, DEFAULT_LIMIT), threshold=merged.get(THRESHOLD, 0.0),
                       inductive=bool(merged.get(INDUCTIVE)))
    # Neptune ignores deterministic without inductiveInference
    found.deterministic = found.inductive and bool(merged.get(DETERMINISTIC))
    if not found.endpoint:
        raise MissingParameter(NO_ENDPOINT)
    return found
