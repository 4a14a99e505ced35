"""``Job``: a run's start (``init``) and its commit, which saves the job bookmark."""

from __future__ import annotations

from typing import Any

from mlharbor_glue import runenv


class Job:
    """One run of a Glue job inside its script.

    Args:
        glue_context: the run's :class:`~awsglue.context.GlueContext`.
    """

    def __init__(self, glue_context: Any) -> None:
        self._context = glue_context
        self._name = ""
        self._initialized = False

    def init(self, job_name: str, args: dict[str, str] | None = None) -> None:
        """Starts the run (``args`` is ``getResolvedOptions``' result; kept for ``args``)."""
        self._name = job_name or runenv.current().job_name
        self.args = dict(args or {})
        self._initialized = True

    def isInitialized(self) -> bool:  # noqa: N802 (AWS's name)
        return self._initialized

    def commit(self) -> None:
        """Ends the run's work: writes the bookmark state for the next run (under bookmark enable)."""
        env = runenv.current()
        self._context.bookmarks.commit(env.bookmark_out, job=self._name or env.job_name, run=env.run_id)
