"""Job bookmarks: which S3 objects each ``transformation_ctx`` has already read.

The state is one JSON document (our format; the server only stores it and returns it through
GetJobBookmark)::

    {"version": 1, "job": "name", "run": "jr_...", "contexts": {"<ctx>": {"<s3 uri>": "<etag>", ...}}}

With ``--job-bookmark-option job-bookmark-enable`` a source read with a ``transformation_ctx`` skips
the objects whose URI and ETag the last committed run recorded, and records what it read;
``job-bookmark-pause`` skips without recording; ``job-bookmark-disable`` (the default) reads everything.
AWS keeps timestamps; a set of (URI, ETag) pairs says "added or changed since" exactly and is small for
the file counts a job on one machine reads. The state is written only by :meth:`Bookmarks.commit`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlharbor_glue.s3stage import S3Object

ENABLE = "job-bookmark-enable"
DISABLE = "job-bookmark-disable"
PAUSE = "job-bookmark-pause"
OPTIONS = (ENABLE, DISABLE, PAUSE)
#: The job argument naming the option.
ARGUMENT = "--job-bookmark-option"
FORMAT_VERSION = 1


def option_from_argv(argv: Sequence[str]) -> str:
    """The bookmark option among a run's arguments (``--job-bookmark-option X`` or ``=X``).

    Raises:
        ValueError: an option value that is none of :data:`OPTIONS`.
    """
    value = DISABLE
    for index, item in enumerate(argv):
        if item == ARGUMENT and index + 1 < len(argv):
            value = argv[index + 1]
        elif item.startswith(ARGUMENT + "="):
            value = item.split("=", 1)[1]
    if value not in OPTIONS:
        raise ValueError(f"{ARGUMENT} must be one of {', '.join(OPTIONS)}, not {value!r}")
    return value


def read_state(path: Path | None) -> dict[str, dict[str, str]]:
    """The contexts of the state file at ``path`` ({} when there is none yet)."""
    if path is None or not path.is_file():
        return {}
    document = json.loads(path.read_text(encoding="utf-8") or "{}")
    contexts = document.get("contexts", {})
    return {str(ctx): {str(k): str(v) for k, v in seen.items()} for ctx, seen in contexts.items()}


@dataclass
class Bookmarks:
    """The bookmark state of one run: what earlier runs read, and what this run adds."""

    option: str = DISABLE
    previous: dict[str, dict[str, str]] = field(default_factory=dict)
    added: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.option in (ENABLE, PAUSE)

    def unread(self, ctx: str, objects: Sequence[S3Object]) -> list[S3Object]:
        """The objects ``ctx`` has not read in a committed run (all of them when not active or no ctx)."""
        if not (ctx and self.active):
            return list(objects)
        seen = self.previous.get(ctx, {})
        return [o for o in objects if seen.get(o.uri) != o.etag]

    def record(self, ctx: str, objects: Sequence[S3Object]) -> None:
        """Notes that ``ctx`` read ``objects`` (kept only under ``job-bookmark-enable``)."""
        if ctx and self.option == ENABLE:
            self.added.setdefault(ctx, {}).update({o.uri: o.etag for o in objects})

    def state(self, job: str = "", run: str = "") -> dict[str, object]:
        """The document :meth:`commit` writes: the previous state plus this run's reads."""
        merged = {ctx: dict(seen) for ctx, seen in self.previous.items()}
        for ctx, seen in self.added.items():
            merged.setdefault(ctx, {}).update(seen)
        return {"version": FORMAT_VERSION, "job": job, "run": run, "contexts": merged}

    def commit(self, path: Path | None, job: str = "", run: str = "") -> None:
        """Writes the state to ``path`` atomically (nothing when ``path`` is ``None``)."""
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(self.state(job, run), sort_keys=True), encoding="utf-8")
        os.replace(partial, path)
