"""The List* operations on the wire: their common request members, and the page they answer with."""

from __future__ import annotations

from typing import Any

from emulator.aws.validation import parse_timestamp
from emulator.control.listing import ListQuery


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
