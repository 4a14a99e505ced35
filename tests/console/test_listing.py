"""The job list's filter, sort and paging (pure): every matching record is reachable, page by page."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.console.listing import ListRequest, Row, list_page


@dataclass
class Record:
    name: str
    status: str
    creation_time: float
    took: float


def to_row(record: Record) -> Row:
    return Row(record.name, record.status, record.creation_time, record.took)


RECORDS = [Record(f"job-{i:04d}", "Failed" if i % 3 == 0 else "Completed", float(i), float(1000 - i))
           for i in range(1234)]


def test_paging_reaches_every_row_once() -> None:
    seen: list[str] = []
    asked = ListRequest(page_size=100)
    first = list_page(RECORDS, asked, to_row)
    assert (first.total, first.pages) == (1234, 13)
    for number in range(1, first.pages + 1):
        seen += [row.name for row in list_page(RECORDS, ListRequest(page=number, page_size=100), to_row).rows]
    assert sorted(seen) == sorted(record.name for record in RECORDS)
    assert seen[0] == "job-1233"  # newest first by default


def test_filters_and_sorts() -> None:
    page = list_page(RECORDS, ListRequest(status="Failed", name_contains="JOB-00", sort="name", descending=False,
                                          page_size=25), to_row)
    assert all(row.status == "Failed" and row.name.startswith("job-00") for row in page.rows)
    assert [row.name for row in page.rows][:2] == ["job-0000", "job-0003"]
    by_duration = list_page(RECORDS, ListRequest(sort="duration", page_size=25), to_row)
    assert by_duration.rows[0].name == "job-0000"  # took the longest


def test_bad_query_values_fall_back_to_defaults() -> None:
    asked = ListRequest.from_args({"sort": "drop table", "size": "7", "page": "-3"})
    assert (asked.sort, asked.page_size, asked.page) == ("created", 50, 1)
    assert list_page(RECORDS, ListRequest(page=999, page_size=500), to_row).page == 3
