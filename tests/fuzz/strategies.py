"""Hypothesis strategies built from botocore's service model: requests that break its constraints.

For an operation, :func:`fuzzed_request` draws a request that mostly fits the operation's
input shape (required members always, optional ones sometimes, values inside the model's
lengths, ranges, enums and patterns) and then breaks it in one to three places: a member
nulled, removed, given the wrong JSON type, a string too long or too short, off its enum
or pattern, holding NUL, an unpaired surrogate or other awkward Unicode, a number out of
range or beyond its Java type, a list too long or with a ``null`` item, a map with a
``null`` value, a value nested far too deep. :func:`encoded_body` then writes it as JSON,
now and then with raw bytes no JSON encoder produces (unpaired surrogates as UTF-8, numbers
of thousands of digits). :func:`malformed_body` draws bodies that are not a request at all.

Requests that could start work are defanged (:func:`defang`): an image that does not exist,
one instance, so a fuzzed request that happens to be valid makes a job that fails at once.
"""

from __future__ import annotations

import json
import re
import string
from functools import cache
from typing import Any

from botocore.model import OperationModel, Shape
from hypothesis import strategies as st

#: No image by this name exists: a valid fuzzed Create* fails fast (CannotStartContainerError).
MISSING_IMAGE = "fuzz.invalid/no-such-image:latest"
#: How deep the drawn valid part of a request goes (optional members stop here).
MAX_VALID_DEPTH = 4
_AWKWARD_TEXT = ["\x00", "a\x00b", "\ud800", "x\udfff", "\U0001F600", "\u202egnp.exe", "e\u0301", "\ufeff", "\uffff",
                 "../../etc/passwd", "%2F..%2F", "' OR 1=1 --", "${jndi:ldap://x}", "\r\n\tX-Injected: 1", " ", ""]
_WRONG_TYPES: list[Any] = [0, -1, 1.5, True, "text", [], {}, [None], {"": None}, [[]]]


def _python_pattern(pattern: str) -> re.Pattern[str] | None:
    """The model's pattern as Python ``re`` reads it, for drawing matching strings (``None`` if it cannot)."""
    try:
        return re.compile(pattern if pattern.startswith("^") else "^(?:" + pattern + ")$")
    except re.error:
        return None


def _bounded_text(shape: Shape) -> st.SearchStrategy[str]:
    low = shape.metadata.get("min", 0)
    high = min(shape.metadata.get("max", 32), max(low, 32))
    return st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=low, max_size=high)


def valid_string(shape: Shape) -> st.SearchStrategy[str]:
    enum = shape.metadata.get("enum")
    if enum:
        return st.sampled_from(enum)
    pattern = shape.metadata.get("pattern")
    compiled = _python_pattern(pattern) if pattern else None
    if compiled is None:
        return _bounded_text(shape)
    low, high = shape.metadata.get("min", 0), shape.metadata.get("max", 10**9)
    matching = st.from_regex(compiled, fullmatch=True).filter(lambda text: low <= len(text) <= high)
    return st.one_of(matching, _bounded_text(shape))


def _number_bounds(shape: Shape) -> tuple[int, int]:
    low = shape.metadata.get("min", 0)
    high = shape.metadata.get("max", low + 1000)
    return int(low), int(min(high, low + 10**6))


def valid_value(shape: Shape, depth: int = 0) -> st.SearchStrategy[Any]:
    """A value that fits ``shape`` (mostly: patterns Python cannot read are not followed)."""
    return _valid_value(shape, depth)


@cache
def _valid_value(shape: Shape, depth: int) -> st.SearchStrategy[Any]:
    kind = shape.type_name
    if kind == "string":
        return valid_string(shape)
    if kind in ("integer", "long"):
        low, high = _number_bounds(shape)
        return st.integers(low, high)
    if kind in ("float", "double"):
        low, high = _number_bounds(shape)
        return st.floats(low, high, allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.one_of(st.floats(0, 2e9), st.datetimes().map(lambda when: when.isoformat()))
    if kind == "blob":
        return st.text(string.ascii_letters, max_size=16)
    if kind == "list":
        low = shape.metadata.get("min", 0)
        return st.lists(_valid_value(shape.member, depth + 1), min_size=low,
                        max_size=min(shape.metadata.get("max", 3), low + 2))
    if kind == "map":
        return st.dictionaries(_valid_value(shape.key, depth + 1), _valid_value(shape.value, depth + 1), max_size=3)
    if kind == "structure":
        required = {name: _valid_value(shape.members[name], depth + 1) for name in shape.required_members}
        optional = {} if depth >= MAX_VALID_DEPTH else {
            name: _valid_value(member, depth + 1) for name, member in shape.members.items() if name not in required}
        return st.fixed_dictionaries(required, optional=optional)
    return st.none()


def invalid_value(shape: Shape) -> st.SearchStrategy[Any]:
    """A value ``shape`` does not allow, or one that tests what the server does at its edges."""
    kind = shape.type_name
    choices: list[st.SearchStrategy[Any]] = [
        st.none(),
        st.sampled_from([value for value in _WRONG_TYPES if not _fits_type(kind, value)]),
        st.recursive(st.none(), lambda inner: st.lists(inner, max_size=1), max_leaves=1).map(_deepen),
    ]
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if kind == "string":
        choices.append(st.sampled_from(_AWKWARD_TEXT))
        choices.append(st.text(max_size=40))  # any code point, unpaired surrogates included
        if high is not None:
            choices.append(st.integers(1, 50).map(lambda extra: "a" * (high + extra)))
        if low:
            choices.append(st.just("a" * (low - 1)))
        if shape.metadata.get("enum"):
            choices.append(st.sampled_from([value.lower() + "x" for value in shape.metadata["enum"]]))
        if shape.metadata.get("pattern"):
            choices.append(st.sampled_from(["-bad_", "has space", "UPPER_lower.", "a" * 300, "\u0130"]))
    elif kind in ("integer", "long", "float", "double"):
        edges = [-(2**31) - 1, 2**31, 2**63, -(2**63) - 1, 10**30, -1, 0, 1.5, 1e308]
        if high is not None:
            edges += [high + 1, high * 10 + 1]
        if low is not None:
            edges += [low - 1]
        choices.append(st.sampled_from(edges))
    elif kind == "timestamp":
        choices.append(st.sampled_from(["yesterday", "2024-13-45T99:99:99", "", "1e400", "nan", "9" * 30, -1e20,
                                        "0001-01-01T00:00:00", "9999-12-31T23:59:59+25:00"]))
    elif kind == "list":
        choices.append(st.just([None]))
        if high is not None:
            choices.append(st.just([None] * 0 + ["x"] * (high + 1)))
        if low:
            choices.append(st.just([]))
    elif kind == "map":
        choices.append(st.sampled_from([{"k": None}, {"": "v"}, {"\x00": "v"}, {"k": "\x00"}, {"k": {"nested": 1}},
                                        {f"k{index}": "v" for index in range(200)}]))
    elif kind == "structure":
        choices.append(st.just({}))
    return st.one_of(choices)


def _deepen(value: Any) -> Any:
    """A list nested 100 deep around ``value`` (past the server's depth limit)."""
    for _ in range(100):
        value = [value]
    return value


def _fits_type(kind: str, value: Any) -> bool:
    types: dict[str, tuple[type, ...]] = {"string": (str,), "blob": (str,), "integer": (int,), "long": (int,),
                                          "float": (int, float), "double": (int, float), "boolean": (bool,),
                                          "timestamp": (int, float, str), "list": (list,), "map": (dict,),
                                          "structure": (dict,)}
    if isinstance(value, bool) and kind != "boolean":
        return False
    return isinstance(value, types.get(kind, ()))


def _slots(shape: Shape, value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Shape]]:
    """Every place in ``value`` a mutation can go: present members, absent members, list items, map values."""
    found: list[tuple[tuple[Any, ...], Shape]] = [(path, shape)] if path else []
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                found += _slots(member, value[name], (*path, name))
            else:
                found.append(((*path, name), member))
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            found += _slots(shape.member, item, (*path, index))
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            found += _slots(shape.value, item, (*path, key))
    return found


def _put(container: Any, path: tuple[Any, ...], value: Any, remove: bool = False) -> None:
    for step in path[:-1]:
        container = container[step]
    if remove:
        if isinstance(container, dict):
            container.pop(path[-1], None)
    else:
        container[path[-1]] = value


@st.composite
def fuzzed_request(draw: st.DrawFn, operation: OperationModel) -> dict[str, Any]:
    """A request for ``operation`` broken in one to three places (see the module docstring)."""
    shape = operation.input_shape
    request: dict[str, Any] = draw(valid_value(shape)) if shape is not None else {}
    if shape is None:
        return request
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(shape, request)
        required = [name for name in shape.required_members if name in request]
        if required and draw(st.integers(0, 9)) == 0:
            request.pop(draw(st.sampled_from(required)))
            continue
        if not slots:
            break
        path, slot_shape = draw(st.sampled_from(slots))
        _put(request, path, draw(invalid_value(slot_shape)))
    return defang(operation.name, request)


def defang(operation: str, request: dict[str, Any]) -> dict[str, Any]:
    """Point what could start a job or a serving process at a missing image, on one instance."""
    if not operation.startswith("Create"):
        return request
    for path in (("AlgorithmSpecification", "TrainingImage"), ("AppSpecification", "ImageUri"),
                 ("PrimaryContainer", "Image")):
        _replace_string(request, path, MISSING_IMAGE)
    for path in (("ResourceConfig", "InstanceCount"), ("ProcessingResources", "ClusterConfig", "InstanceCount")):
        _clamp(request, path)
    for container in _items(request, "Containers"):
        if isinstance(container.get("Image"), str):
            container["Image"] = MISSING_IMAGE
    for variant in _items(request, "ProductionVariants"):
        _clamp(variant, ("InitialInstanceCount",))
    return request


def _items(request: dict[str, Any], member: str) -> list[dict[str, Any]]:
    """The structures in list member ``member`` (a mutation may have made it anything)."""
    value = request.get(member)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _walk(request: dict[str, Any], path: tuple[str, ...]) -> tuple[dict[str, Any] | None, str]:
    container: Any = request
    for step in path[:-1]:
        container = container.get(step) if isinstance(container, dict) else None
    return (container if isinstance(container, dict) else None), path[-1]


def _replace_string(request: dict[str, Any], path: tuple[str, ...], value: str) -> None:
    container, key = _walk(request, path)
    if container is not None and isinstance(container.get(key), str) and container[key]:
        container[key] = value


def _clamp(request: dict[str, Any], path: tuple[str, ...]) -> None:
    container, key = _walk(request, path)
    if container is not None and type(container.get(key)) is int and container[key] > 2:
        container[key] = 1


@st.composite
def encoded_body(draw: st.DrawFn, request: dict[str, Any]) -> bytes:
    """``request`` as JSON bytes; sometimes UTF-8 that carries unpaired surrogates, or a huge number spliced in."""
    ascii_only = draw(st.booleans())
    text = json.dumps(request, ensure_ascii=ascii_only)
    if draw(st.integers(0, 9)) == 0 and text.endswith("}") and len(text) > 2:
        digits = draw(st.sampled_from([400, 4301, 5000, 20000]))
        text = text[:-1] + f', "{draw(_member_name(request))}": {"9" * digits}}}'
    return text.encode("utf-8", "surrogatepass")


def _member_name(request: dict[str, Any]) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(request) or ["X"])


def malformed_body() -> st.SearchStrategy[bytes]:
    """Bodies that are not a request: not JSON, not an object, nested or numbered past reason."""
    return st.one_of(
        st.binary(max_size=64),
        st.text(max_size=64).map(lambda text: text.encode("utf-8", "surrogatepass")),
        st.sampled_from([b"", b"   ", b"[]", b"1", b'"s"', b"null", b"true", b"{", b"}", b'{"a":}', b"{'a': 1}",
                         b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}', b'{"a": 1e400}', b"\xef\xbb\xbf{}",
                         b'{"a": "\\ud800"}', b'{"a": "\\u0000"}', b"{}" * 2, b'{"a": 1, "a": 2}']),
        st.integers(1, 200_000).map(lambda depth: b"[" * depth + b"]" * depth),
        st.integers(50, 5000).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
        st.integers(300, 30_000).map(lambda digits: b'{"MaxResults": ' + b"9" * digits + b"}"),
        st.integers(300, 30_000).map(lambda digits: b'{"MaxResults": 0.' + b"0" * digits + b"1e99999}"),
    )


#: Content types a client might send; the server reads the body as JSON whatever it says.
CONTENT_TYPES = ["application/x-amz-json-1.1", "application/json", "application/x-amz-json-1.0", "text/plain",
                 "", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"]
#: ``X-Amz-Target`` values that name no operation (printable ASCII: the only thing a header can carry).
UNKNOWN_TARGETS = st.one_of(
    st.sampled_from(["SageMaker.", "SageMaker.createTrainingJob", "SageMaker.CreateTrainingJob.", "SageMaker..",
                     "SageMaker.__init__", "SageMaker._call", "SageMaker.dispatch", "SageMaker.handles"]),
    st.text(string.ascii_letters + string.digits + "._-", max_size=30).map(lambda text: "SageMaker." + text),
)


@st.composite
def invocation(draw: st.DrawFn, operation: OperationModel) -> tuple[str, dict[str, str], bytes]:
    """An InvokeEndpoint call: path (name percent-encoded or not), header members, raw body."""
    from urllib.parse import quote

    name = draw(st.one_of(valid_string(operation.input_shape.members["EndpointName"]), st.text(max_size=80),
                          st.sampled_from(_AWKWARD_TEXT), st.just("a" * 64)))
    # botocore percent-encodes every byte of the name; a "/" (even as %2F, which WSGI decodes) misses the
    # route and is drawn by route_miss instead
    encoded = quote(name.replace("/", "").encode("utf-8", "surrogatepass"), safe="")
    headers: dict[str, str] = {}
    for shape in operation.input_shape.members.values():
        location = shape.serialization.get("location")
        if location == "header" and draw(st.booleans()):
            value = draw(st.one_of(valid_string(shape) if shape.type_name == "string" else st.text(max_size=8),
                                   st.text(st.characters(max_codepoint=255, exclude_characters="\r\n\x00"),
                                           max_size=2000)))
            # a header cannot carry a line break (http.client refuses it), nor anything past Latin-1
            value = value.replace("\r", "").replace("\n", "")
            headers[shape.serialization["name"]] = value.encode("latin-1", "replace").decode("latin-1")
    body = draw(st.one_of(st.binary(max_size=256), malformed_body()))
    return f"/endpoints/{encoded or 'x'}/invocations", headers, body


def route_miss() -> st.SearchStrategy[str]:
    """InvokeEndpoint-like paths no route takes: raw slashes, empty names, stray percent signs."""
    return st.one_of(
        st.sampled_from(["/endpoints///invocations", "/endpoints//invocations", "/endpoints/a/b/invocations",
                         "/endpoints/%/invocations", "/endpoints/a%2Fb/invocations", "/endpoints/x/invocations/",
                         "/endpoints/x", "/endpoints/", "/invocations"]),
        st.text(string.ascii_letters + "/%.", max_size=20).map(lambda name: f"/endpoints/{name}/invocations"),
    )
