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

What comes out is a clean copy of the request, so no handler meets a value the model does
not allow: a JSON ``null`` member is absent (as AWS's deserializer reads it), members the
model does not know are dropped, timestamps are epoch seconds. A ``null`` list item or map
value, and a string holding NUL or an unpaired surrogate (nothing a process could be given
as an argument, environment value or file name), are validation errors.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from functools import lru_cache
from typing import Any

import regex
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from emulator.core.errors import SerializationError, ValidationError

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
#: Java's ``Integer`` and ``Long``: what AWS's deserializer can hold for the two shapes.
_INTEGER_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
#: A message lists this many violations at most (a body can hold millions).
MAX_LISTED_PROBLEMS = 100
#: A value is quoted in a message up to this many characters.
MAX_RENDERED_CHARS = 256
#: CPU seconds this thread may spend matching one model pattern against one value.
PATTERN_TIMEOUT_SECONDS = 0.1
#: Tries of one match whose timeout came from other threads' CPU, not this one's.
PATTERN_TRIES = 8
_UNPASSABLE = regex.compile(r"[\x00\ud800-\udfff]")
_SURROGATE_PAIR = regex.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", regex.IGNORECASE)
#: Java's POSIX classes are US-ASCII (the ``regex`` engine's are Unicode).
_POSIX_CLASSES = {"Alnum": "a-zA-Z0-9", "Alpha": "a-zA-Z", "Digit": "0-9", "Upper": "A-Z", "Lower": "a-z",
                  "ASCII": r"\x00-\x7F", "Print": r"\x20-\x7E", "Graph": r"\x21-\x7E", "Space": r" \t\n\x0B\f\r"}
_POSIX_CLASS = regex.compile(r"\\p\{(" + "|".join(_POSIX_CLASSES) + r")\}")


def validate_request(operation: OperationModel, params: Any) -> dict[str, Any]:
    """Check a decoded JSON body against ``operation``'s input shape.

    Args:
        operation: botocore's model of the operation.
        params: the decoded request body.

    Returns:
        The request as the handlers may read it: ``null`` and unknown members left out,
        timestamps as epoch seconds.

    Raises:
        SerializationError: the body is not an object, or a member has the wrong JSON type.
        ValidationError: one or more constraints failed; the message lists them.
    """
    shape = operation.input_shape
    if shape is None:
        return {}
    if not isinstance(params, dict):
        raise SerializationError("Start of structure or map found where not expected.")
    problems: list[str] = []
    clean = _check_structure(shape, params, "", problems)
    if problems:
        noun = "error" if len(problems) == 1 else "errors"
        listed = problems[:MAX_LISTED_PROBLEMS]
        more = f"; and {len(problems) - len(listed)} more" if len(problems) > len(listed) else ""
        raise ValidationError(f"{len(problems)} validation {noun} detected: " + "; ".join(listed) + more)
    return clean


def aws_member_path(parent: str, member: str) -> str:
    """``trainingJobName``, ``resourceConfig.instanceCount``: AWS's lowerCamelCase path."""
    name = member[:1].lower() + member[1:]
    return f"{parent}.{name}" if parent else name


def _render(value: Any) -> str:
    """A value as AWS quotes it in messages (Java ``toString`` style), cut to a readable length."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, list):
        text = "[" + ", ".join(_inner(v) for v in value[:MAX_RENDERED_CHARS]) + "]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k}={_inner(v)}" for k, v in list(value.items())[:MAX_RENDERED_CHARS]) + "}"
    else:
        text = str(value)
    if len(text) > MAX_RENDERED_CHARS:
        text = text[:MAX_RENDERED_CHARS] + "…"
    return f"'{text}'"


def _inner(value: Any) -> str:
    return "null" if value is None else str(value)[:MAX_RENDERED_CHARS]


def _fail(problems: list[str], value: Any, path: str, constraint: str) -> None:
    problems.append(f"Value {_render(value)} at '{path}' failed to satisfy constraint: {constraint}")


def _check(shape: Shape, value: Any, path: str, problems: list[str]) -> Any:
    """Check one non-null value; returns its clean form."""
    _check_type(shape, value, path)
    if isinstance(shape, StructureShape):
        return _check_structure(shape, value, path, problems)
    if isinstance(shape, ListShape):
        _check_length(shape, value, path, problems)
        return _check_list_items(shape, value, path, problems)
    if isinstance(shape, MapShape):
        _check_length(shape, value, path, problems)
        return _check_map_entries(shape, value, path, problems)
    if shape.type_name == "string":
        _check_string(shape, value, path, problems)
    elif shape.type_name in ("integer", "long", "float", "double"):
        _check_range(shape, value, path, problems)
    elif shape.type_name == "timestamp":
        return _timestamp(value, path)
    return value


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
    bounds = _INTEGER_BOUNDS.get(shape.type_name)
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise SerializationError(f"Number {_render(value)} at '{path}' does not fit a {shape.type_name}.")
    if isinstance(value, float) and not math.isfinite(value):
        raise SerializationError(f"Number {_render(value)} at '{path}' is not finite.")


def _check_structure(shape: StructureShape, value: dict[str, Any], path: str, problems: list[str]) -> dict[str, Any]:
    for name in shape.required_members:
        if value.get(name) is None:
            _fail(problems, None, aws_member_path(path, name), "Member must not be null")
    clean: dict[str, Any] = {}
    for name, item in value.items():
        member = shape.members.get(name)
        # AWS's JSON deserializer ignores unknown members and reads null as absent; so do we.
        if member is None or item is None:
            continue
        clean[name] = _check(member, item, aws_member_path(path, name), problems)
    return clean


def _check_list_items(shape: ListShape, value: list[Any], path: str, problems: list[str]) -> list[Any]:
    clean: list[Any] = []
    for index, item in enumerate(value, start=1):
        item_path = f"{path}.{index}.member"
        if item is None:
            _fail(problems, None, item_path, "Member must not be null")
            continue
        clean.append(_check(shape.member, item, item_path, problems))
    return clean


def _check_map_entries(shape: MapShape, value: dict[str, Any], path: str, problems: list[str]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, item in value.items():
        checked = [_check_map_part(sub_shape, sub_value, path) for sub_shape, sub_value in
                   ((shape.key, key), (shape.value, item))]
        for label, (_, constraints) in zip(("key", "value"), checked, strict=True):
            if constraints:
                _fail(problems, value, path, f"Map {label} must satisfy constraint: [" + ", ".join(constraints) + "]")
        if not checked[0][1] and not checked[1][1]:
            clean[key] = checked[1][0]
    return clean


def _check_map_part(shape: Shape, value: Any, path: str) -> tuple[Any, list[str]]:
    """One map key or value, cleaned, and the constraints it fails."""
    if value is None:
        return None, ["Member must not be null"]
    sub_problems: list[str] = []
    clean = _check(shape, value, path, sub_problems)
    return clean, [p.split("failed to satisfy constraint: ", 1)[1] for p in sub_problems]


def _check_length(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if high is not None and len(value) > high:
        _fail(problems, value, path, f"Member must have length less than or equal to {high}")
    if low is not None and len(value) < low:
        _fail(problems, value, path, f"Member must have length greater than or equal to {low}")


def _check_string(shape: Shape, value: str, path: str, problems: list[str]) -> None:
    if _UNPASSABLE.search(value):
        _fail(problems, value, path, "Member must not contain NUL characters or unpaired surrogates")
        return
    enum = shape.metadata.get("enum")
    if enum and value not in enum:
        _fail(problems, value, path, "Member must satisfy enum value set: [" + ", ".join(enum) + "]")
    pattern = shape.metadata.get("pattern")
    if pattern is not None and not _matches(pattern, value):
        shown = pattern if pattern.startswith("^") else "^" + pattern
        _fail(problems, value, path, f"Member must satisfy regular expression pattern: {shown}")
    _check_length(shape, value, path, problems)


def _matches(pattern: str, value: str) -> bool:
    """Whether ``value`` matches, given at most ``PATTERN_TIMEOUT_SECONDS`` of this thread's CPU.

    The engine's own timeout reads C's ``clock()``, the CPU time of the whole process, and it
    takes the GIL back to check it. On a busy server a 22-character name could so "time out"
    waiting for the GIL while other threads ran, having used a fraction of a millisecond
    itself. So a timeout counts only when this thread's own CPU time says so; otherwise the
    match is run again holding the GIL (``concurrent=False``), which no Python thread can
    then take from it (only C code that lets the GIL go still counts against it). The tries
    are capped, so a process kept busy that way still gets an answer in bounded time.
    """
    compiled = compile_model_pattern(pattern)
    if compiled is None:
        return True
    spent, concurrent = 0.0, None
    for _ in range(PATTERN_TRIES):
        started = time.thread_time()
        try:
            left = PATTERN_TIMEOUT_SECONDS - spent
            return compiled.fullmatch(value, concurrent=concurrent, timeout=left) is not None
        except TimeoutError:
            spent += time.thread_time() - started
            if spent >= PATTERN_TIMEOUT_SECONDS:
                return False
            concurrent = False
    return False


def _check_range(shape: Shape, value: float, path: str, problems: list[str]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if high is not None and value > high:
        _fail(problems, value, path, f"Member must have value less than or equal to {high}")
    if low is not None and value < low:
        _fail(problems, value, path, f"Member must have value greater than or equal to {low}")


@lru_cache(maxsize=4096)
def compile_model_pattern(pattern: str) -> regex.Pattern[str] | None:
    """A model pattern (Java syntax) for the ``regex`` engine; ``None`` for one it cannot read.

    Two Java spellings differ: a supplementary range written as surrogate pairs
    (``\\uD800\\uDC00-\\uDBFF\\uDFFF``), and the POSIX classes (``\\p{Alnum}``), ASCII in Java.
    """
    translated = _SURROGATE_PAIR.sub(_code_point_escape, pattern)
    translated = _translate_posix_classes(translated)
    try:
        return regex.compile(translated, regex.DOTALL | regex.V0)
    except regex.error:
        return None


def _code_point_escape(match: regex.Match[str]) -> str:
    high, low = int(match.group(1), 16), int(match.group(2), 16)
    return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}"


def _translate_posix_classes(pattern: str) -> str:
    out: list[str] = []
    in_class = False
    position = 0
    while position < len(pattern):
        match = _POSIX_CLASS.match(pattern, position)
        if match is not None:
            ranges = _POSIX_CLASSES[match.group(1)]
            out.append(ranges if in_class else f"[{ranges}]")
            position = match.end()
            continue
        char = pattern[position]
        if char == "\\":
            out.append(pattern[position : position + 2])
            position += 2
            continue
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        out.append(char)
        position += 1
    return "".join(out)


def _timestamp(value: int | float | str, path: str) -> float:
    try:
        return parse_timestamp(value)
    except (ValueError, OverflowError, OSError):
        raise SerializationError(f"Value {_render(value)} at '{path}' is not a timestamp "
                                 "(epoch seconds or ISO 8601).") from None


def parse_timestamp(value: int | float | str) -> float:
    """A timestamp member as sent by botocore (epoch seconds) or ISO 8601 text, as epoch seconds.

    Raises:
        ValueError: the value is neither, or is not a finite number.
    """
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        try:
            seconds = float(value)
        except ValueError:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.UTC)
            seconds = parsed.timestamp()
    if not math.isfinite(seconds):
        raise ValueError(f"{value!r} is not a finite timestamp")
    return seconds
