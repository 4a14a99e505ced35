"""The environment a Glue job run gets from the server: every variable name, named once.

The server (the Glue runs, branch glue-api) sets these before it starts ``driver.py``; the library
reads them through :func:`current`. Reading has no side effects.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: ``pythonshell`` or ``glueetl``.
JOB_TYPE = "MLHARBOR_GLUE_JOB_TYPE"
JOB_NAME = "MLHARBOR_GLUE_JOB_NAME"
RUN_ID = "MLHARBOR_GLUE_RUN_ID"
#: Per-run scratch directory on local disk, shared by every executor on this machine.
WORK_DIR = "MLHARBOR_GLUE_WORK_DIR"
#: JSON bookmark state the last committed run left (may not exist).
BOOKMARK_IN = "MLHARBOR_GLUE_BOOKMARK_IN"
#: Where :meth:`awsglue.job.Job.commit` writes the new bookmark state.
BOOKMARK_OUT = "MLHARBOR_GLUE_BOOKMARK_OUT"
#: JSON file: the job's Connections, name -> ConnectionProperties (and ConnectionType).
CONNECTIONS = "MLHARBOR_GLUE_CONNECTIONS"

#: File in the work dir holding the one-line error of a failed run (the run's ErrorMessage).
ERROR_FILE = "error.txt"


@dataclass(frozen=True)
class RunEnvironment:
    """What one run was given; paths are ``None`` where the server set none (a script run by hand)."""

    job_type: str
    job_name: str
    run_id: str
    work_dir: Path
    bookmark_in: Path | None
    bookmark_out: Path | None
    connections: Path | None


def _path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def current() -> RunEnvironment:
    """The run environment of this process (a temporary work dir when none is set)."""
    work = _path(WORK_DIR) or Path(tempfile.gettempdir()) / f"mlharbor-glue-{os.getpid()}"
    return RunEnvironment(
        job_type=os.environ.get(JOB_TYPE, ""),
        job_name=os.environ.get(JOB_NAME, ""),
        run_id=os.environ.get(RUN_ID, ""),
        work_dir=work,
        bookmark_in=_path(BOOKMARK_IN),
        bookmark_out=_path(BOOKMARK_OUT),
        connections=_path(CONNECTIONS),
    )
