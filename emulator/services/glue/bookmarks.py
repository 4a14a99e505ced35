"""Job bookmarks: the state a run's library commits, kept per job, served by GetJobBookmark, cleared by
ResetJobBookmark (https://docs.aws.amazon.com/glue/latest/dg/monitor-continuations.html).

The state itself (``JobBookmark``) is the job runtime's JSON, opaque here: a run with
``--job-bookmark-option job-bookmark-enable`` gets the last committed one as a file and leaves the new one
in another; it is kept only when that run SUCCEEDED.
"""

from __future__ import annotations

from typing import Any

from emulator.services.glue.exceptions import EntityNotFoundError
from emulator.services.glue.store import BOOKMARK, GlueStore


class BookmarkBackend:
    def __init__(self, store: GlueStore) -> None:
        self.store = store

    def entry(self, region: str, job_name: str) -> dict[str, Any]:
        """The job's ``JobBookmarkEntry``.

        Raises:
            EntityNotFoundError: no run of the job ever committed one (AWS's own message).
        """
        found = self.store.get(BOOKMARK, region, "", job_name)
        if found is None:
            raise EntityNotFoundError(f"Continuation for job {job_name} not found")
        return found

    def state(self, region: str, job_name: str) -> str | None:
        """The committed ``JobBookmark`` text a run starts from, if any (a reset one has none)."""
        found = self.store.get(BOOKMARK, region, "", job_name)
        return (found or {}).get("JobBookmark") or None

    def commit(self, region: str, job_name: str, run_id: str, attempt: int, state: str) -> None:
        previous = self.store.get(BOOKMARK, region, "", job_name) or {}
        entry = {
            "JobName": job_name,
            "Version": int(previous.get("Version", 0)) + 1,
            "Run": int(previous.get("Run", 0)) + 1,
            "Attempt": attempt,
            "PreviousRunId": previous.get("RunId", ""),
            "RunId": run_id,
            "JobBookmark": state,
        }
        if not entry["PreviousRunId"]:
            del entry["PreviousRunId"]
        self.store.put(BOOKMARK, region, "", job_name, 0, entry)

    def reset(self, region: str, job_name: str) -> dict[str, Any]:
        """ResetJobBookmark: the entry stays (its counters go on), its state is emptied."""
        entry = self.entry(region, job_name)
        entry.update(Version=int(entry["Version"]) + 1, JobBookmark="")
        self.store.put(BOOKMARK, region, "", job_name, 0, entry)
        return entry

    def forget(self, region: str, job_name: str) -> None:
        self.store.delete(BOOKMARK, region, "", job_name)
