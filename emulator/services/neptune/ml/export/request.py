"""An export request, validated: the neptune-export JSON body turned into typed records.

The body is neptune-export's (https://docs.aws.amazon.com/neptune/latest/userguide/export-parameters.html):
``command``, ``outputS3Path``, ``jobSize``, ``params`` and ``additionalParams.neptune_ml`` with its
``targets`` and ``features``, or ``jobs`` (named configurations, each written as ``<name>.json``) (https://docs.aws.amazon.com/neptune/latest/userguide/machine-learning-neptune_ml-targets.html,
https://docs.aws.amazon.com/neptune/latest/userguide/machine-learning-neptune_ml-features.html). Everything
that can be checked without the graph is checked here; :func:`check_against_schema` checks the rest.
mlharbor extension: a target may carry ``custom_split_property``, a property whose value (``train``,
``valid``/``val``, ``test``, anything else = no split) fixes each element's split instead of ``split_rate``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

COMMANDS = ("export-pg",)
JOB_SIZES = ("small", "medium", "large", "xlarge")
PROFILE = "neptune_ml"
NODE_TARGET_TYPES = ("classification", "regression")
EDGE_TARGET_TYPES = ("classification", "regression", "link_prediction")
#: the feature types mlharbor encodes (Neptune's text_fasttext/text_sbert/text_word2vec need models it cannot download)
FEATURE_TYPES = ("numerical", "category", "bucket_numerical", "text_tfidf", "datetime", "auto", "none")
UNSUPPORTED_FEATURE_TYPES = ("text_fasttext", "text_sbert", "text_sbert128", "text_sbert512", "text_word2vec")
#: options each feature type may carry in the request (and copies into the training configuration)
FEATURE_OPTIONS = {
    "numerical": ("norm", "imputer", "separator"),
    "category": ("separator",),
    "bucket_numerical": ("range", "bucket_cnt", "slide_window_size", "imputer"),
    "text_tfidf": ("ngram_range", "min_df", "max_features"),
    "datetime": ("datetime_parts",),
    "auto": ("separator",),
    "none": (),
}
NORMS = ("none", "min-max", "standard")
IMPUTERS = ("mean", "median", "most-frequent")
DATETIME_PARTS = ("year", "month", "weekday", "hour")
DEFAULT_SPLIT_RATE = (0.8, 0.1, 0.1)
#: the configuration's name (and file stem) when the request gives targets and features without jobs
DEFAULT_CONFIGURATION = "training-data-configuration"
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")

EdgeType = tuple[str, str, str]


class ExportRequestError(ValueError):
    """The request cannot be served; the message says which field and why (answered as HTTP 400)."""


@dataclass(frozen=True)
class Target:
    """One training target: a node or edge property to predict, or an edge type to predict links of."""

    node: str | None
    edge: EdgeType | None
    property: str | None  # None for link_prediction
    type: str
    split_rate: tuple[float, float, float]
    separator: str | None = None
    custom_split_property: str | None = None

    @property
    def subject(self) -> str:
        return f"node {self.node!r}" if self.node is not None else f"edge {list(self.edge or ())}"


@dataclass(frozen=True)
class Feature:
    """One feature specification for a node or edge property."""

    node: str | None
    edge: EdgeType | None
    property: str
    type: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Configuration:
    """One training data configuration: written as ``<name>.json`` beside the exported files."""

    name: str
    targets: tuple[Target, ...]
    features: tuple[Feature, ...]

    @property
    def file_name(self) -> str:
        return f"{self.name}.json"


@dataclass(frozen=True)
class ExportRequest:
    bucket: str
    prefix: str  # "" or ending in "/"
    job_size: str
    node_labels: tuple[str, ...] | None  # params.nodeLabels: export only these (None: all)
    edge_labels: tuple[str, ...] | None
    configurations: tuple[Configuration, ...]

    @property
    def output_s3_path(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def parse_request(body: Any) -> ExportRequest:
    """Validate a request body; raises :class:`ExportRequestError` naming the first problem."""
    if not isinstance(body, dict):
        raise ExportRequestError("The request body must be a JSON object")
    command = body.get("command", "export-pg")
    if command == "export-rdf":
        raise ExportRequestError("command export-rdf is not supported: mlharbor's graph is a property graph "
                                 "(use export-pg)")
    if command not in COMMANDS:
        raise ExportRequestError(f"Unknown command {command!r}: expected export-pg")
    bucket, prefix = _output_path(body.get("outputS3Path"))
    job_size = body.get("jobSize", "small")
    if job_size not in JOB_SIZES:
        raise ExportRequestError(f"Invalid jobSize {job_size!r}: expected one of {', '.join(JOB_SIZES)}")
    params = body.get("params", {})
    if not isinstance(params, dict):
        raise ExportRequestError("params must be a JSON object")
    profile = params.get("profile")
    if profile != PROFILE:
        raise ExportRequestError(f"params.profile must be {PROFILE!r} (got {profile!r}): mlharbor's "
                                 "neptune-export serves Neptune ML exports only")
    for name in ("cloneCluster", "useIamAuth"):
        if name in params and not isinstance(params[name], bool):
            raise ExportRequestError(f"params.{name} must be true or false")
    node_labels = _labels(params, "nodeLabels")
    edge_labels = _labels(params, "edgeLabels")
    additional = body.get("additionalParams", {})
    if not isinstance(additional, dict):
        raise ExportRequestError("additionalParams must be a JSON object")
    ml = additional.get("neptune_ml", {})
    if not isinstance(ml, dict):
        raise ExportRequestError("additionalParams.neptune_ml must be a JSON object")
    version = ml.get("version", "v2.0")
    if version != "v2.0":
        raise ExportRequestError(f"additionalParams.neptune_ml.version must be v2.0 (got {version!r})")
    where = "additionalParams.neptune_ml"
    default_split = _split_rate(ml.get("split_rate", list(DEFAULT_SPLIT_RATE)), where)
    if "jobs" not in ml:
        configurations = (_configuration(DEFAULT_CONFIGURATION, ml, where, default_split),)
    else:
        if "targets" in ml or "features" in ml:
            raise ExportRequestError(f"{where}: give either jobs or targets and features, not both")
        jobs = _array(ml, "jobs")
        if not jobs:
            raise ExportRequestError(f"{where}.jobs must name at least one training configuration")
        configurations = tuple(_job(item, f"{where}.jobs[{i}]", default_split) for i, item in enumerate(jobs))
        names = [configuration.name for configuration in configurations]
        if len(set(names)) != len(names):
            raise ExportRequestError(f"{where}.jobs: each job needs its own name (got {names})")
    return ExportRequest(bucket, prefix, job_size, node_labels, edge_labels, configurations)


def _job(item: Any, where: str, default_split: tuple[float, float, float]) -> Configuration:
    """One of ``neptune_ml.jobs``: a named configuration with its own targets and features."""
    if not isinstance(item, dict):
        raise ExportRequestError(f"{where} must be a JSON object")
    name = item.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ExportRequestError(f"{where}.name must be 1-100 letters, digits, '-', '_' or '.' (it names "
                                 f"the file <name>.json); got {name!r}")
    return _configuration(name, item, where, default_split)


def _configuration(name: str, holder: dict, where: str, default_split: tuple[float, float, float]) -> Configuration:
    targets = tuple(_target(item, f"{where}.targets[{i}]", default_split)
                    for i, item in enumerate(_array(holder, "targets", where)))
    features = tuple(_feature(item, f"{where}.features[{i}]")
                     for i, item in enumerate(_array(holder, "features", where)))
    return Configuration(name, targets, features)


def _output_path(value: Any) -> tuple[str, str]:
    if not isinstance(value, str) or not value:
        raise ExportRequestError("Missing required field outputS3Path")
    if not value.startswith("s3://"):
        raise ExportRequestError(f"outputS3Path must begin with s3:// (got {value!r})")
    bucket, _, prefix = value[len("s3://"):].partition("/")
    if not _BUCKET.match(bucket):
        raise ExportRequestError(f"outputS3Path {value!r} does not name a valid bucket")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def _labels(params: dict, name: str) -> tuple[str, ...] | None:
    if name not in params:
        return None
    value = params[name]
    if not (isinstance(value, list) and all(isinstance(label, str) and label for label in value)):
        raise ExportRequestError(f"params.{name} must be a list of labels")
    return tuple(value)


def _array(holder: dict, name: str, where: str = "additionalParams.neptune_ml") -> list[Any]:
    value = holder.get(name, [])
    if not isinstance(value, list):
        raise ExportRequestError(f"{where}.{name} must be a JSON array")
    return value


def _split_rate(value: Any, where: str) -> tuple[float, float, float]:
    if not (isinstance(value, list) and len(value) == 3
            and all(isinstance(x, int | float) and not isinstance(x, bool) and x >= 0 for x in value)):
        raise ExportRequestError(f"{where}.split_rate must be three non-negative numbers [train, valid, test]")
    if not math.isclose(sum(value), 1.0, abs_tol=1e-6):
        raise ExportRequestError(f"{where}.split_rate must add up to 1 (got {value})")
    return float(value[0]), float(value[1]), float(value[2])


def _element(item: dict, where: str) -> tuple[str | None, EdgeType | None]:
    """The ``node`` label or the ``edge`` [from, relation, to] that a target or feature is about."""
    has_node, has_edge = "node" in item, "edge" in item
    if has_node == has_edge:
        raise ExportRequestError(f"{where} needs exactly one of node (a label) or edge ([from, relation, to])")
    if has_node:
        node = item["node"]
        if not isinstance(node, str) or not node:
            raise ExportRequestError(f"{where}.node must be a vertex label")
        return node, None
    edge = item["edge"]
    if not (isinstance(edge, list) and len(edge) == 3 and all(isinstance(part, str) and part for part in edge)):
        raise ExportRequestError(f"{where}.edge must be [from-vertex label, edge label, to-vertex label]")
    return None, (edge[0], edge[1], edge[2])


def _target(item: Any, where: str, default_split: tuple[float, float, float]) -> Target:
    if not isinstance(item, dict):
        raise ExportRequestError(f"{where} must be a JSON object")
    node, edge = _element(item, where)
    kind = item.get("type")
    allowed = NODE_TARGET_TYPES if node is not None else EDGE_TARGET_TYPES
    if kind not in allowed:
        subject = "node" if node is not None else "edge"
        raise ExportRequestError(f"{where}.type {kind!r} is not a {subject} target type: expected one of "
                                 f"{', '.join(allowed)}")
    prop = item.get("property")
    if kind == "link_prediction":
        if prop is not None:
            raise ExportRequestError(f"{where}: a link_prediction target takes no property")
    elif not isinstance(prop, str) or not prop:
        raise ExportRequestError(f"{where}.property is required for a {kind} target")
    split = _split_rate(item["split_rate"], where) if "split_rate" in item else default_split
    separator = item.get("separator")
    if separator is not None and (not isinstance(separator, str) or not separator or kind != "classification"):
        raise ExportRequestError(f"{where}.separator is a non-empty string, for classification targets only")
    custom = item.get("custom_split_property")
    if custom is not None and (not isinstance(custom, str) or not custom or custom == prop):
        raise ExportRequestError(f"{where}.custom_split_property must name another property of the element")
    return Target(node, edge, prop, kind, split, separator, custom)


def _feature(item: Any, where: str) -> Feature:
    if not isinstance(item, dict):
        raise ExportRequestError(f"{where} must be a JSON object")
    node, edge = _element(item, where)
    prop = item.get("property")
    if not isinstance(prop, str) or not prop:
        raise ExportRequestError(f"{where}.property is required")
    kind = item.get("type")
    if kind in UNSUPPORTED_FEATURE_TYPES:
        raise ExportRequestError(f"{where}.type {kind} is not supported by mlharbor (its language models "
                                 "cannot be downloaded here): use text_tfidf")
    if kind not in FEATURE_TYPES:
        raise ExportRequestError(f"{where}.type {kind!r} is not a feature type: expected one of "
                                 f"{', '.join(FEATURE_TYPES)}")
    allowed = FEATURE_OPTIONS[kind]
    options = {name: value for name, value in item.items() if name not in ("node", "edge", "property", "type")}
    for name in options:
        if name not in allowed:
            raise ExportRequestError(f"{where}: {kind} features take no {name!r} option"
                                     + (f" (options: {', '.join(allowed)})" if allowed else ""))
    _check_options(options, where)
    if kind == "bucket_numerical" and ("range" not in options or "bucket_cnt" not in options):
        raise ExportRequestError(f"{where}: bucket_numerical features need range and bucket_cnt")
    return Feature(node, edge, prop, kind, options)


def _check_options(options: dict[str, Any], where: str) -> None:
    def number(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    def positive_int(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1

    checks = {
        "norm": (lambda v: v in NORMS, f"one of {', '.join(NORMS)}"),
        "imputer": (lambda v: v in IMPUTERS, f"one of {', '.join(IMPUTERS)}"),
        "separator": (lambda v: isinstance(v, str) and len(v) >= 1, "a non-empty string"),
        "range": (lambda v: isinstance(v, list) and len(v) == 2 and all(map(number, v)) and v[0] < v[1],
                  "[low, high] with low < high"),
        "bucket_cnt": (positive_int, "a positive integer"),
        "slide_window_size": (lambda v: number(v) and v >= 0, "a number >= 0"),
        "ngram_range": (lambda v: isinstance(v, list) and len(v) == 2 and all(map(positive_int, v)) and v[0] <= v[1],
                        "[min, max] with 1 <= min <= max"),
        "min_df": (positive_int, "a positive integer"),
        "max_features": (positive_int, "a positive integer"),
        "datetime_parts": (lambda v: isinstance(v, list) and v and all(p in DATETIME_PARTS for p in v),
                           f"a non-empty list of {', '.join(DATETIME_PARTS)}"),
    }
    for name, value in options.items():
        valid, expected = checks[name]
        if not valid(value):
            raise ExportRequestError(f"{where}.{name} must be {expected} (got {value!r})")


def check_against_schema(request: ExportRequest, node_props: dict[str, set[str]],
                         edge_props: dict[EdgeType, set[str]]) -> None:
    """Check that every target and feature names a label, edge type and property the graph has."""
    for configuration in request.configurations:
        items: list[Target | Feature] = [*configuration.targets, *configuration.features]
        for item in items:
            _check_item(item, f"configuration {configuration.name!r}", node_props, edge_props)


def _check_item(item: Target | Feature, where: str, node_props: dict[str, set[str]],
                edge_props: dict[EdgeType, set[str]]) -> None:
    if item.node is not None:
        if item.node not in node_props:
            raise ExportRequestError(f"{where}: the graph has no vertices labelled {item.node!r}")
        props, subject = node_props[item.node], f"{item.node!r} vertex"
    else:
        edge = item.edge or ("", "", "")
        if edge not in edge_props:
            raise ExportRequestError(f"{where}: the graph has no {edge[1]!r} edges from {edge[0]!r} to "
                                     f"{edge[2]!r} vertices")
        props, subject = edge_props[edge], f"{edge[1]!r} edge"
    named = [item.property] if item.property is not None else []
    if isinstance(item, Target) and item.custom_split_property:
        named.append(item.custom_split_property)
    for prop in named:
        if prop not in props:
            raise ExportRequestError(f"{where}: no {subject} has a property {prop!r}")
