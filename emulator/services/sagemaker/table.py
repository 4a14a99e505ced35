"""The in-memory table of one kind of job record, written through to the record store.

Training and processing backends keep their records the same way: keyed by (region, name),
loaded from the store at start, saved after every change, an unknown name answered with
SageMaker's ``ValidationException: Requested resource not found.``
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from emulator.core.errors import ResourceInUseError, ValidationError
from emulator.services.sagemaker.store import RecordStore

NOT_FOUND = "Requested resource not found."


class Record(Protocol):
    name: str
    region: str
    arn: str

    def to_dict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Record)


class RecordTable(Generic[R]):
    """Records of one kind.

    Args:
        store: the durable record store.
        kind: the store's kind key (``training-job``…).
        decode: builds a record from its stored dict.
    """

    def __init__(self, store: RecordStore, kind: str, decode: Callable[[dict[str, Any]], R]) -> None:
        self.store = store
        self.kind = kind
        self.lock = threading.RLock()
        self._records: dict[tuple[str, str], R] = {}
        for document in store.load(kind):
            record = decode(document)
            self._records[(record.region, record.name)] = record

    def add(self, record: R, duplicate_message: str) -> None:
        """Insert a new record; ``ResourceInUse`` (with the existing ARN) if the name is taken."""
        with self.lock:
            existing = self._records.get((record.region, record.name))
            if existing is not None:
                raise ResourceInUseError(f"{duplicate_message} ({existing.arn})")
            self.save(record)

    def get(self, region: str, name: str) -> R:
        with self.lock:
            record = self._records.get((region, name))
        if record is None:
            raise ValidationError(NOT_FOUND)
        return record

    def find(self, key: tuple[str, str]) -> R | None:
        with self.lock:
            return self._records.get(key)

    def in_region(self, region: str) -> list[R]:
        with self.lock:
            return [record for (record_region, _), record in self._records.items() if record_region == region]

    def all(self) -> list[R]:
        with self.lock:
            return list(self._records.values())

    def save(self, record: R) -> None:
        with self.lock:
            self._records[(record.region, record.name)] = record
            self.store.put(self.kind, record.region, record.name, record.to_dict())

    def remove(self, region: str, name: str) -> R:
        """Delete a record (``ValidationException`` if unknown); returns it."""
        with self.lock:
            record = self.get(region, name)
            del self._records[(region, name)]
            self.store.delete(self.kind, region, name)
            return record
