"""One page of a job list: filter by name and status, sort by a column, cut by page number (pure).

Every kind of job is listed through here, so filters, sort and paging behave alike on every page.
The whole list is filtered and sorted server-side before a page is cut: no row limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SORT_COLUMNS = ("created", "name", "status", "duration")
PAGE_SIZES = (25, 50, 100, 500)


@dataclass(frozen=True)
class Row:
    """A job as a list shows it (every kind maps its record to this)."""

    name: str
    status: str
    created: float
    duration: float | None
    secondary: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ListRequest:
    """What the list's query string asks for, already checked."""

    name_contains: str = ""
    status: str = ""
    sort: str = "created"
    descending: bool = True
    page: int = 1
    page_size: int = 50

    @classmethod
    def from_args(cls, args: Any) -> ListRequest:
        """From ``request.args``; unknown or malformed values fall back to the defaults."""
        sort = args.get("sort", "created")
        size = _int(args.get("size"), 50)
        return cls(
            name_contains=(args.get("name") or "").strip()[:256],
            status=(args.get("status") or "").strip()[:64],
            sort=sort if sort in SORT_COLUMNS else "created",
            descending=args.get("order", "desc") != "asc",
            page=max(1, _int(args.get("page"), 1)),
            page_size=size if size in PAGE_SIZES else 50,
        )

    def query(self, **changes: Any) -> dict[str, Any]:
        """The query-string values of this request with ``changes`` (for links)."""
        values = {"name": self.name_contains, "status": self.status, "sort": self.sort,
                  "order": "desc" if self.descending else "asc", "page": self.page, "size": self.page_size}
        values.update(changes)
        return {key: value for key, value in values.items() if value not in ("", None)}


@dataclass(frozen=True)
class ListPage:
    rows: list[Row]
    total: int
    page: int
    pages: int


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _sort_key(column: str) -> Any:
    if column == "name":
        return lambda item: (item.name, item.created)
    if column == "status":
        return lambda item: (item.status, item.created, item.name)
    if column == "duration":
        return lambda item: (item.duration if item.duration is not None else -1.0, item.name)
    return lambda item: (item.created, item.name)


_RECORD_KEYS: dict[str, Any] = {
    "name": lambda record: (record.name, record.creation_time),
    "status": lambda record: (record.status, record.creation_time, record.name),
    "created": lambda record: (record.creation_time, record.name),
}


def list_page(records: list[Any], request: ListRequest, to_row: Callable[[Any], Row]) -> ListPage:
    """Filter, sort and cut ``records`` (each with ``name``, ``status``, ``creation_time``) as asked.

    Filters and sorts read the records' own fields; only the page's records become rows, unless the
    sort is by duration (which needs every row).
    """
    needle = request.name_contains.lower()
    kept = [record for record in records if (not needle or needle in record.name.lower())
            and (not request.status or record.status == request.status)]
    pages = max(1, -(-len(kept) // request.page_size))
    page = min(request.page, pages)
    start = (page - 1) * request.page_size
    if request.sort == "duration":
        rows = sorted((to_row(record) for record in kept), key=_sort_key("duration"), reverse=request.descending)
        return ListPage(rows[start:start + request.page_size], len(kept), page, pages)
    kept.sort(key=_RECORD_KEYS[request.sort], reverse=request.descending)
    return ListPage([to_row(record) for record in kept[start:start + request.page_size]], len(kept), page, pages)
