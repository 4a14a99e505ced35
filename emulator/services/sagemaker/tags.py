"""Tags on any SageMaker ARN (AddTags, ListTags, DeleteTags), kept in the record store.

The sagemaker SDK tags what it creates and reads tags back; AWS keys tags by resource ARN,
so one small table serves every resource type.
"""

from __future__ import annotations

from typing import Any

from emulator.services.sagemaker.store import RecordStore

KIND = "tags"


class TagBackend:
    """Tags by resource ARN, written through to ``store``.

    Args:
        store: the durable record store (kind ``tags``, name = the ARN).
    """

    def __init__(self, store: RecordStore) -> None:
        self.store = store
        self._tags: dict[str, dict[str, str]] = {
            document["arn"]: dict(document["tags"]) for document in store.load(KIND)
        }

    def add(self, arn: str, tags: list[dict[str, str]]) -> list[dict[str, str]]:
        """Add or overwrite ``tags``; returns the resource's tags after the change."""
        current = self._tags.setdefault(arn, {})
        current.update({tag["Key"]: tag.get("Value", "") for tag in tags})
        self._save(arn)
        return as_list(current)

    def remove(self, arn: str, keys: list[str]) -> None:
        current = self._tags.get(arn, {})
        for key in keys:
            current.pop(key, None)
        self._save(arn)

    def list(self, arn: str) -> list[dict[str, str]]:
        return as_list(self._tags.get(arn, {}))

    def _save(self, arn: str) -> None:
        document: dict[str, Any] = {"arn": arn, "tags": self._tags.get(arn, {})}
        self.store.put(KIND, "", arn, document)


def as_list(tags: dict[str, str]) -> list[dict[str, str]]:
    """``{"k": "v"}`` → ``[{"Key": "k", "Value": "v"}]``, the wire form."""
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]
