"""One page of a job list: filter by name and status, sort by a column, cut by page number (pure).

Every kind of job is listed through here, so filters, sort and paging behave alike on every page.
The whole list is filtered and sorted server-side before a page is cut: no row limit.
"""

from __future__ import annotations

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
        return lambda row: (row.name, row.created)
    if column == "status":
        return lambda row: (row.status, row.created, row.name)
    if column == "duration":
        return lambda row: (row.duration if row.duration is not None else -1.0, row.name)
    return lambda row: (row.created, row.name)


def list_page(rows: list[Row], request: ListRequest) -> ListPage:
    """Filter, sort and cut ``rows`` as ``request`` asks."""
    needle = request.name_contains.lower()
    kept = [row for row in rows if (not needle or needle in row.name.lower())
            and (not request.status or row.status == request.status)]
    kept.sort(key=_sort_key(request.sort), reverse=request.descending)
    pages = max(1, -(-len(kept) // request.page_size))
    page = min(request.page, pages)
    start = (page - 1) * request.page_size
    return ListPage(kept[start:start + request.page_size], len(kept), page, pages)
