"""The S3 pages' reads: buckets, one level of a prefix, an object's metadata and bytes, from the
embedded S3 backend in process (the state the S3 API answers from).

Nothing here writes. A preview is offered only for types that cannot run script in the console's origin
(text, CSV, JSON and raster images, never HTML or SVG); every download is an attachment.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
from dataclasses import dataclass
from typing import Any

from moto.s3.models import s3_backends

from emulator.core.errors import ValidationError

DELIMITER = "/"
OBJECTS_PER_PAGE = 500
PREVIEW_BYTES = 64 * 1024
CSV_PREVIEW_ROWS = 50
TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".json", ".jsonl", ".log", ".md", ".py", ".yaml", ".yml", ".out")
TEXT_TYPES = ("text/plain", "text/csv", "application/json", "application/x-ndjson", "text/tab-separated-values")
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".webp": "image/webp"}


@dataclass(frozen=True)
class ObjectEntry:
    key: str
    size: int
    last_modified: float
    etag: str


@dataclass(frozen=True)
class Level:
    """One level under a prefix: its sub-prefixes and a page of its objects."""

    prefixes: list[str]
    objects: list[ObjectEntry]
    total_objects: int
    page: int
    pages: int


def _backend(account: str) -> Any:
    return s3_backends[account]["aws"]


def _bucket(account: str, name: str) -> Any:
    bucket = _backend(account).buckets.get(name)
    if bucket is None:
        raise ValidationError(f"No bucket {name!r}.")
    return bucket


def buckets(account: str) -> list[tuple[str, float]]:
    return sorted((name, _epoch(bucket.creation_date)) for name, bucket in list(_backend(account).buckets.items()))


def level(account: str, bucket_name: str, prefix: str, page: int = 1) -> Level:
    bucket = _bucket(account, bucket_name)
    prefixes: set[str] = set()
    objects: list[ObjectEntry] = []
    for name, key in list(bucket.keys.items()):
        if not name.startswith(prefix) or not hasattr(key, "size"):
            continue  # another prefix, or a delete marker
        rest = name[len(prefix):]
        if DELIMITER in rest:
            prefixes.add(prefix + rest.split(DELIMITER, 1)[0] + DELIMITER)
        else:
            objects.append(ObjectEntry(name, int(key.size), _epoch(key.last_modified), key.etag))
    objects.sort(key=lambda entry: entry.key)
    pages = max(1, -(-len(objects) // OBJECTS_PER_PAGE))
    page = min(max(1, page), pages)
    start = (page - 1) * OBJECTS_PER_PAGE
    return Level(sorted(prefixes), objects[start:start + OBJECTS_PER_PAGE], len(objects), page, pages)


def find_object(account: str, bucket_name: str, key_name: str) -> Any:
    key = _bucket(account, bucket_name).keys.get(key_name)
    if key is None or not hasattr(key, "size"):
        raise ValidationError(f"No object {key_name!r} in bucket {bucket_name!r}.")
    return key


def metadata(key: Any) -> dict[str, Any]:
    """What HeadObject tells about an object, as name → value."""
    out: dict[str, Any] = {"Content-Length": key.size, "ETag": key.etag, "Last-Modified": key.last_modified_ISO8601}
    out.update({name: value for name, value in key.metadata.items()})
    return out


def preview_kind(key_name: str, content_type: str) -> str | None:
    """``text``, ``image`` or ``None`` (no preview) for an object."""
    lowered = key_name.lower()
    if content_type.split(";")[0].strip() in TEXT_TYPES or lowered.endswith(TEXT_SUFFIXES):
        return "text"
    if any(lowered.endswith(suffix) for suffix in IMAGE_TYPES):
        return "image"
    return None


def shaped_preview(key_name: str, text: str, whole: bool) -> tuple[str, list[list[str]] | None]:
    """The preview's text (JSON indented when it parses) and, for CSV, its first rows as a table."""
    lowered = key_name.lower()
    if lowered.endswith(".json") and whole:
        try:
            return json.dumps(json.loads(text), indent=2), None
        except ValueError:
            return text, None
    if lowered.endswith((".csv", ".tsv")):
        dialect = "excel-tab" if lowered.endswith(".tsv") else "excel"
        rows = list(itertools.islice(csv.reader(io.StringIO(text), dialect=dialect), CSV_PREVIEW_ROWS))
        return text, rows
    return text, None


def image_type(key_name: str) -> str | None:
    lowered = key_name.lower()
    return next((kind for suffix, kind in IMAGE_TYPES.items() if lowered.endswith(suffix)), None)


def _epoch(value: dt.datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()
