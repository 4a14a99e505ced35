"""The List* operations: their common request members, filtering, sorting, paging, and the page they answer.

``NextToken`` is opaque to clients; ours encodes the position and a fingerprint of the
query, so a token used with other filters is refused instead of silently skipping jobs.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from emulator.core.errors import ValidationError
from emulator.core.validation import parse_timestamp


class Listable(Protocol):
    name: str
    status: str
    creation_time: float
    last_modified_time: float


@dataclass(frozen=True)
class ListQuery:
    """The common List* request members (``ListTrainingJobs``, ``ListProcessingJobs``…)."""

    name_contains: str | None = None
    status_equals: str | None = None
    creation_time_after: float | None = None
    creation_time_before: float | None = None
    last_modified_time_after: float | None = None
    last_modified_time_before: float | None = None
    sort_by: str = "CreationTime"
    sort_order: str = "Descending"
    max_results: int = 10
    next_token: str | None = None

    def fingerprint(self) -> str:
        fields = {k: v for k, v in self.__dict__.items() if k not in ("next_token", "max_results")}
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def matches(item: Listable, query: ListQuery) -> bool:
    if query.name_contains and query.name_contains.lower() not in item.name.lower():
        return False
    if query.status_equals and item.status != query.status_equals:
        return False
    if query.creation_time_after is not None and item.creation_time <= query.creation_time_after:
        return False
    if query.creation_time_before is not None and item.creation_time >= query.creation_time_before:
        return False
    if query.last_modified_time_after is not None and item.last_modified_time <= query.last_modified_time_after:
        return False
    return not (
        query.last_modified_time_before is not None
        and item.last_modified_time >= query.last_modified_time_before
    )


T = TypeVar("T", bound=Listable)

_SORT_KEYS: dict[str, Any] = {
    "Name": lambda item: (item.name, item.creation_time),
    "CreationTime": lambda item: (item.creation_time, item.name),
    "Status": lambda item: (item.status, item.creation_time, item.name),
}


def paginate(items: list[T], query: ListQuery) -> tuple[list[T], str | None]:
    """Filter, sort and cut one page.

    Returns:
        The page, and the ``NextToken`` for the next one (``None`` on the last page).

    Raises:
        ValidationError: the token is malformed or belongs to a different query.
    """
    chosen = sorted(
        (item for item in items if matches(item, query)),
        key=_SORT_KEYS[query.sort_by],
        reverse=query.sort_order == "Descending",
    )
    return cut(chosen, query.max_results, query.next_token, query.fingerprint())


def cut(items: list[Any], max_results: int, next_token: str | None, scope: str) -> tuple[list[Any], str | None]:
    """One page of an already ordered list, and the ``NextToken`` of the next (``None`` on the last).

    Args:
        scope: what the list is of (a query's fingerprint, a resource's ARN): a token is only taken back
            for the same scope.

    Raises:
        ValidationError: the token is malformed or was given for another scope.
    """
    start = _decode_token(next_token, scope) if next_token else 0
    page = items[start : start + max_results]
    end = start + len(page)
    return page, (_encode_token(end, scope) if end < len(items) else None)


def _encode_token(position: int, scope: str) -> str:
    raw = json.dumps({"position": position, "query": _scope_digest(scope)}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _scope_digest(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:16]


def _decode_token(next_token: str, scope: str) -> int:
    """The position a token of ours names; anything else a client sends is a malformed token."""
    malformed = ValidationError("Invalid pagination token because of a malformed token.")
    try:
        data = json.loads(base64.urlsafe_b64decode(next_token.encode()))
    except (ValueError, RecursionError):  # not base64, not UTF-8, not JSON, or nested past the decoder
        raise malformed from None
    if not isinstance(data, dict):
        raise malformed
    position, fingerprint = data.get("position"), data.get("query")
    # we only ever write a non-negative int: 1e400, true or "3" is someone else's token
    if type(position) is not int or position < 0 or not isinstance(fingerprint, str):
        raise malformed
    if fingerprint != _scope_digest(scope):
        raise ValidationError("Invalid pagination token because the request parameters changed.")
    return position


def list_query(params: dict[str, Any]) -> ListQuery:
    """The common List* members as a :class:`ListQuery`."""

    def when(member: str) -> float | None:
        value = params.get(member)
        return None if value is None else parse_timestamp(value)

    return ListQuery(
        name_contains=params.get("NameContains"),
        status_equals=params.get("StatusEquals"),
        creation_time_after=when("CreationTimeAfter"),
        creation_time_before=when("CreationTimeBefore"),
        last_modified_time_after=when("LastModifiedTimeAfter"),
        last_modified_time_before=when("LastModifiedTimeBefore"),
        sort_by=params.get("SortBy", "CreationTime"),
        sort_order=params.get("SortOrder", "Descending"),
        max_results=params.get("MaxResults", 10),
        next_token=params.get("NextToken") or None,
    )


def page(member: str, items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    """A List* output: the items under ``member``, and ``NextToken`` only when there is more."""
    out: dict[str, Any] = {member: items}
    if token:
        out["NextToken"] = token
    return out
