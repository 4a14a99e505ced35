"""Server-side request validation against botocore's own service model.

AWS checks every request against the constraints in its service model (required
members, lengths, patterns, enums, ranges) and answers with one ``ValidationException``
listing every violation::

    2 validation errors detected: Value 'a_b' at 'trainingJobName' failed to satisfy
    constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62};
    Value null at 'roleArn' failed to satisfy constraint: Member must not be null

botocore ships exactly those constraints, so we walk its shapes instead of re-typing them.
Paths use AWS's spelling: lowerCamelCase member names, ``list.N.member`` for list items
(1-based). A member whose JSON type is wrong is a ``SerializationException``, as on AWS.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from emulator.aws.errors import SerializationError, ValidationError

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "boolean": (bool,),
    "blob": (str,),
    "structure": (dict,),
    "map": (dict,),
    "list": (list,),
}


def validate_request(operation: OperationModel, params: Any) -> dict[str, Any]:
    """Check a decoded JSON body against ``operation``'s input shape.

    Args:
        operation: botocore's model of the operation.
        params: the decoded request body.

    Returns:
        ``params`` unchanged (a dict) when it is valid.

    Raises:
        SerializationError: the body is not an object, or a member has the wrong JSON type.
        ValidationError: one or more constraints failed; the message lists all of them.
    """
    shape = operation.input_shape
    if shape is None:
        return params if isinstance(params, dict) else {}
    if not isinstance(params, dict):
        raise SerializationError("Start of structure or map found where not expected.")
    problems: list[str] = []
    _check_structure(shape, params, "", problems)
    if problems:
        noun = "error" if len(problems) == 1 else "errors"
        raise ValidationError(f"{len(problems)} validation {noun} detected: " + "; ".join(problems))
    return params


def aws_member_path(parent: str, member: str) -> str:
    """``trainingJobName``, ``resourceConfig.instanceCount``: AWS's lowerCamelCase path."""
    name = member[:1].lower() + member[1:]
    return f"{parent}.{name}" if parent else name


def _render(value: Any) -> str:
    """A value as AWS quotes it in messages (Java ``toString`` style)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "'" + str(value).lower() + "'"
    if isinstance(value, list):
        return "'[" + ", ".join(str(v) for v in value) + "]'"
    if isinstance(value, dict):
        return "'{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}'"
    return f"'{value}'"


def _fail(problems: list[str], value: Any, path: str, constraint: str) -> None:
    problems.append(f"Value {_render(value)} at '{path}' failed to satisfy constraint: {constraint}")


def _check(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    if value is None:
        return
    _check_type(shape, value, path)
    if isinstance(shape, StructureShape):
        _check_structure(shape, value, path, problems)
    elif isinstance(shape, ListShape):
        _check_length(shape, value, path, problems)
        for index, item in enumerate(value, start=1):
            _check(shape.member, item, f"{path}.{index}.member", problems)
    elif isinstance(shape, MapShape):
        _check_length(shape, value, path, problems)
        _check_map_entries(shape, value, path, problems)
    elif shape.type_name == "string":
        _check_string(shape, value, path, problems)
    elif shape.type_name in ("integer", "long", "float", "double"):
        _check_range(shape, value, path, problems)


def _check_type(shape: Shape, value: Any, path: str) -> None:
    if shape.type_name == "timestamp":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise SerializationError(f"Expected a timestamp at '{path}'.")
        return
    expected = _JSON_TYPES.get(shape.type_name)
    if expected is None:
        return
    numeric_bool = isinstance(value, bool) and shape.type_name != "boolean"
    if numeric_bool or not isinstance(value, expected):
        raise SerializationError(
            f"Expected {shape.type_name} at '{path}' but found {type(value).__name__} ({_render(value)})."
        )


def _check_structure(shape: StructureShape, value: dict[str, Any], path: str, problems: list[str]) -> None:
    for name in shape.required_members:
        if value.get(name) is None:
            _fail(problems, None, aws_member_path(path, name), "Member must not be null")
    for name, item in value.items():
        member = shape.members.get(name)
        if member is None:
            # AWS's JSON deserializer ignores unknown members; so do we.
            continue
        _check(member, item, aws_member_path(path, name), problems)


def _check_map_entries(shape: MapShape, value: dict[str, Any], path: str, problems: list[str]) -> None:
    for key, item in value.items():
        for label, sub_shape, sub_value in (("key", shape.key, key), ("value", shape.value, item)):
            sub_problems: list[str] = []
            _check(sub_shape, sub_value, path, sub_problems)
            if sub_problems:
                constraints = [p.split("failed to satisfy constraint: ", 1)[1] for p in sub_problems]
                _fail(
                    problems,
                    value,
                    path,
                    f"Map {label} must satisfy constraint: [" + ", ".join(constraints) + "]",
                )


def _check_length(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if high is not None and len(value) > high:
        _fail(problems, value, path, f"Member must have length less than or equal to {high}")
    if low is not None and len(value) < low:
        _fail(problems, value, path, f"Member must have length greater than or equal to {low}")


def _check_string(shape: Shape, value: str, path: str, problems: list[str]) -> None:
    enum = shape.metadata.get("enum")
    if enum and value not in enum:
        _fail(problems, value, path, "Member must satisfy enum value set: [" + ", ".join(enum) + "]")
    pattern = shape.metadata.get("pattern")
    if pattern is not None:
        compiled = _compile(pattern)
        if compiled is not None and compiled.fullmatch(value) is None:
            shown = pattern if pattern.startswith("^") else "^" + pattern
            _fail(problems, value, path, f"Member must satisfy regular expression pattern: {shown}")
    _check_length(shape, value, path, problems)


def _check_range(shape: Shape, value: float, path: str, problems: list[str]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if high is not None and value > high:
        _fail(problems, value, path, f"Member must have value less than or equal to {high}")
    if low is not None and value < low:
        _fail(problems, value, path, f"Member must have value greater than or equal to {low}")


@lru_cache(maxsize=4096)
def _compile(pattern: str) -> re.Pattern[str] | None:
    """Java regexes from the model; the few Python cannot read are not enforced."""
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:
        return None


def parse_timestamp(value: int | float | str) -> float:
    """A timestamp member as sent by botocore (epoch seconds) or ISO 8601 text, as epoch seconds."""
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except ValueError:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.timestamp()
