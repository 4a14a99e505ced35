"""Glue's transform classes: each is called as ``Transform.apply(frame=..., ...)`` or ``Transform()(...)``.

Each delegates to the :class:`~awsglue.dynamicframe.DynamicFrame` method of the same job.
"""

from __future__ import annotations

from typing import Any

from ..dynamicframe import DynamicFrame, DynamicFrameCollection


class GlueTransform:
    """A transform: ``apply`` builds one and calls it with the same arguments."""

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        return cls()(*args, **kwargs)

    @classmethod
    def name(cls) -> str:
        return cls.__name__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover (each subclass defines it)
        raise NotImplementedError


class ApplyMapping(GlueTransform):
    def __call__(self, frame: DynamicFrame, mappings: list, case_sensitive: bool = False,
                 **kwargs: Any) -> DynamicFrame:
        return frame.apply_mapping(mappings, case_sensitive, **kwargs)


class SelectFields(GlueTransform):
    def __call__(self, frame: DynamicFrame, paths: list[str], **kwargs: Any) -> DynamicFrame:
        return frame.select_fields(paths, **kwargs)


class DropFields(GlueTransform):
    def __call__(self, frame: DynamicFrame, paths: list[str], **kwargs: Any) -> DynamicFrame:
        return frame.drop_fields(paths, **kwargs)


class RenameField(GlueTransform):
    def __call__(self, frame: DynamicFrame, old_name: str, new_name: str, **kwargs: Any) -> DynamicFrame:
        return frame.rename_field(old_name, new_name, **kwargs)


class Filter(GlueTransform):
    def __call__(self, frame: DynamicFrame, f: Any, **kwargs: Any) -> DynamicFrame:
        return frame.filter(f, **kwargs)


class Map(GlueTransform):
    def __call__(self, frame: DynamicFrame, f: Any, **kwargs: Any) -> DynamicFrame:
        return frame.map(f, **kwargs)


class Join(GlueTransform):
    def __call__(self, frame1: DynamicFrame, frame2: DynamicFrame, keys1: list[str], keys2: list[str],
                 **kwargs: Any) -> DynamicFrame:
        return frame1.join(keys1, keys2, frame2, **kwargs)


class ResolveChoice(GlueTransform):
    def __call__(self, frame: DynamicFrame, specs: list | None = None, choice: str = "", **kwargs: Any) -> DynamicFrame:
        return frame.resolveChoice(specs, choice, **kwargs)


class DropNullFields(GlueTransform):
    def __call__(self, frame: DynamicFrame, **kwargs: Any) -> DynamicFrame:
        return frame.drop_null_fields(**kwargs)


class SplitFields(GlueTransform):
    def __call__(self, frame: DynamicFrame, paths: list[str], name1: str, name2: str,
                 **kwargs: Any) -> DynamicFrameCollection:
        return frame.split_fields(paths, name1, name2, **kwargs)


class SelectFromCollection(GlueTransform):
    def __call__(self, dfc: DynamicFrameCollection, key: str, **_: Any) -> DynamicFrame:
        return dfc.select(key)


__all__ = ["ApplyMapping", "DropFields", "DropNullFields", "Filter", "GlueTransform", "Join", "Map", "RenameField",
           "ResolveChoice", "SelectFields", "SelectFromCollection", "SplitFields"]
